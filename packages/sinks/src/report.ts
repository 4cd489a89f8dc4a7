import { EventEmitter } from "node:events";
import type { Event, Sink } from "@kaudit/api";
import { KauditError } from "@kaudit/api";
import { formatLegacyLine } from "@kaudit/legacy";
import { type AuditMetrics, auditMetrics, type MetricsRegistry } from "./metrics";

const COUNTS_OWN_REPORTS = Symbol.for("kaudit.sinks.countsOwnReports");

/** What an `error` or `drop` event of a sink carries. */
export interface SinkReport {
  /** The plugin that failed, in the reference's words: `log`, `webhook`, `buffered`, `truncate`. */
  plugin: string;
  /** Why. */
  error: Error;
  /** The affected events (copies; safe to keep). */
  events: Event[];
}

/** An error a sink reports: an event could not be delivered, or was dropped on purpose. */
export class SinkError extends KauditError {
  /** The plugin that reported it. */
  readonly plugin: string;
  constructor(plugin: string, message: string, options?: { cause?: unknown; name?: string }) {
    super(message, { name: options?.name ?? "SinkError", cause: options?.cause });
    this.plugin = plugin;
  }
}

/** Options every sink of this package takes. */
export interface ReportingOptions {
  /**
   * A prom-client `Registry`: errors and drops are counted in `apiserver_audit_error_total{plugin}`
   * like the reference. Optional; events are always emitted.
   */
  registry?: MetricsRegistry;
}

/** A sink of this package: a {@link Sink} that is also an EventEmitter of `error`/`drop` reports. */
export interface ReportingSink extends Sink, EventEmitter {
  on(event: "error" | "drop", listener: (report: SinkReport) => void): this;
  // biome-ignore lint/suspicious/noExplicitAny: EventEmitter's own overload
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}

/**
 * The shared base: counts and emits every failure. When nothing listens for `error`/`drop` on
 * the outermost sink, the report goes to stderr in the reference's words, so nothing is lost
 * silently.
 */
export abstract class ReportingBase extends EventEmitter {
  /** Marks sinks that count their own reports, so wrappers count only foreign delegates'. */
  readonly [COUNTS_OWN_REPORTS] = true;
  protected metrics: AuditMetrics | undefined;

  constructor(options?: ReportingOptions) {
    super();
    if (options?.registry) this.metrics = auditMetrics(options.registry);
  }

  /** Counts and emits a failure affecting `events`. */
  protected report(kind: "error" | "drop", plugin: string, error: Error, events: Event[]): void {
    if (events.length === 0) return;
    this.metrics?.errorTotal.inc({ plugin }, events.length);
    this.emitReport(kind, { plugin, error, events });
  }

  private emitReport(kind: "error" | "drop", report: SinkReport): void {
    if (this.listenerCount(kind) > 0) {
      this.emit(kind, report);
      return;
    }
    // kube-apiserver's HandlePluginError message (pkg/audit/metrics.go), impacted events as
    // legacy lines.
    let msg = `Error in audit plugin '${report.plugin}' affecting ${report.events.length} audit events: ${report.error.message}\nImpacted events:\n`;
    for (const e of report.events) {
      try {
        msg += `${formatLegacyLine(e)}\n`;
      } catch {
        msg += `id=${JSON.stringify(e?.auditID)}\n`;
      }
    }
    process.stderr.write(msg);
  }

  /** Re-emits a delegate's reports as this sink's own (counted once, where they happened). */
  protected forward(delegate: Sink): void {
    const d = delegate as Partial<EventEmitter> & { [COUNTS_OWN_REPORTS]?: boolean };
    if (typeof d.on !== "function") return;
    const counted = d[COUNTS_OWN_REPORTS] === true;
    for (const kind of ["error", "drop"] as const) {
      d.on.call(delegate, kind, (r: SinkReport) => {
        if (!counted) this.metrics?.errorTotal.inc({ plugin: r.plugin }, r.events?.length ?? 0);
        this.emitReport(kind, r);
      });
    }
  }
}

/**
 * Counts a foreign sink's `error`/`drop` reports in `apiserver_audit_error_total{plugin}`; sinks of
 * this package count their own.
 */
export function countReports(sink: Sink, registry: MetricsRegistry | undefined): void {
  const d = sink as Partial<EventEmitter> & { [COUNTS_OWN_REPORTS]?: boolean };
  if (!registry || typeof d.on !== "function" || d[COUNTS_OWN_REPORTS] === true) return;
  const metrics = auditMetrics(registry);
  for (const kind of ["error", "drop"] as const) {
    d.on.call(sink, kind, (r: SinkReport) =>
      metrics.errorTotal.inc({ plugin: r.plugin }, r.events?.length ?? 0),
    );
  }
}
