/**
 * The reference's audit metrics (k8s.io/apiserver pkg/audit/metrics.go), registered on a
 * prom-client `Registry` without importing prom-client: the metrics are small objects speaking
 * the registry's collector protocol (`get()`, `reset()`), so prom-client stays an optional peer.
 */

/** The part of a prom-client `Registry` kaudit uses. */
export interface MetricsRegistry {
  registerMetric(metric: never): void;
  getSingleMetric(name: string): unknown;
}

type Labels = Record<string, string>;

/** A counter as kaudit increments it; prom-client's `Counter` fits too. */
export interface AuditCounter {
  inc(labels?: Labels | number, value?: number): void;
}

class LightCounter implements AuditCounter {
  readonly type = "counter";
  readonly aggregator = "sum";
  private readonly values = new Map<string, { labels: Labels; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}

  inc(labels?: Labels | number, value?: number): void {
    let l: Labels = {};
    let v = 1;
    if (typeof labels === "number") v = labels;
    else {
      if (labels) l = labels;
      if (value !== undefined) v = value;
    }
    const key = this.labelNames.map((n) => l[n] ?? "").join("\u0000");
    const cur = this.values.get(key);
    if (cur) cur.value += v;
    else this.values.set(key, { labels: { ...l }, value: v });
  }

  get() {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      // like prom-client, a counter without labels reads 0 before its first increment
      values:
        this.values.size === 0 && this.labelNames.length === 0
          ? [{ labels: {}, value: 0 }]
          : [...this.values.values()].map((e) => ({ labels: { ...e.labels }, value: e.value })),
    };
  }

  reset(): void {
    this.values.clear();
  }
}

/** The audit counters of the reference (all ALPHA there). */
export interface AuditMetrics {
  /** `apiserver_audit_event_total`: audit events handed to the backend. */
  eventTotal: AuditCounter;
  /** `apiserver_audit_error_total{plugin}`: events a plugin failed to handle (dropped or undelivered). */
  errorTotal: AuditCounter;
  /** `apiserver_audit_level_total{level}`: policy decisions per level (counted by the middleware). */
  levelTotal: AuditCounter;
  /** `apiserver_audit_requests_rejected_total`: requests failed because audit failed (blocking-strict). */
  requestsRejectedTotal: AuditCounter;
}

const cache = new WeakMap<object, AuditMetrics>();

function counter(registry: MetricsRegistry, name: string, help: string, labelNames: string[]) {
  const existing = registry.getSingleMetric(name) as AuditCounter | undefined;
  if (existing && typeof existing.inc === "function") return existing;
  const c = new LightCounter(name, help, labelNames);
  registry.registerMetric(c as never);
  return c;
}

/**
 * Registers (once per registry) and returns the reference's audit counters.
 *
 * @example
 * ```ts
 * import { Registry } from "prom-client";
 * const registry = new Registry();
 * const metrics = auditMetrics(registry);
 * console.log(await registry.metrics());
 * ```
 */
export function auditMetrics(registry: MetricsRegistry): AuditMetrics {
  const hit = cache.get(registry);
  if (hit) return hit;
  const m: AuditMetrics = {
    eventTotal: counter(
      registry,
      "apiserver_audit_event_total",
      "[ALPHA] Counter of audit events generated and sent to the audit backend.",
      [],
    ),
    errorTotal: counter(
      registry,
      "apiserver_audit_error_total",
      "[ALPHA] Counter of audit events that failed to be audited properly. Plugin identifies the plugin affected by the error.",
      ["plugin"],
    ),
    levelTotal: counter(
      registry,
      "apiserver_audit_level_total",
      "[ALPHA] Counter of policy levels for audit events (1 per request).",
      ["level"],
    ),
    requestsRejectedTotal: counter(
      registry,
      "apiserver_audit_requests_rejected_total",
      "[ALPHA] Counter of apiserver requests rejected due to an error in audit logging backend.",
      [],
    ),
  };
  cache.set(registry, m);
  return m;
}
