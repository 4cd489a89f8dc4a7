import {
  type AnalysisReport,
  AuditStats,
  type LatencySummary,
  parseTimeBound,
} from "@kaudit/analyze";
import type { Event } from "@kaudit/api";
import type { CliContext } from "./context";
import { CliError, EXIT_FINDINGS, EXIT_OK, EXIT_USAGE } from "./errors";
import { readEvents } from "./input";
import { prepareInputs } from "./sources";
import { renderTable } from "./table";
import type { Colors } from "./term";

/** Options of `kaudit analyze`. */
export interface AnalyzeOptions {
  json?: boolean | undefined;
  top: number;
  since?: string | undefined;
  until?: string | undefined;
}

/**
 * Reads every log once into `stats` (streaming: memory bounded by the statistics, not the
 * logs); problems are reported on stderr and counted.
 */
export async function collectStats(
  ctx: CliContext,
  logs: string[],
  label: string,
  onEvent: (event: Event) => void,
): Promise<{ problems: number }> {
  const progress = await prepareInputs(ctx, logs, label);
  let problems = 0;
  try {
    for (const name of logs) {
      for await (const r of readEvents(name, {
        // Only looks at the events: the bodies' exact text is not needed.
        keepBodyText: false,
        validate: true,
        stdin: ctx.stdin,
        onBytes: (n) => progress.add(n),
      })) {
        if ("problem" in r) {
          problems++;
          progress.finish();
          ctx.report(r.problem);
          continue;
        }
        onEvent(r.event);
      }
    }
  } finally {
    progress.finish();
  }
  return { problems };
}

/** A --since/--until value in epoch ms, or a usage error naming the command and flag. */
export function timeBound(
  command: string,
  flag: string,
  value: string | undefined,
): number | undefined {
  if (value === undefined) return undefined;
  const t = parseTimeBound(value);
  if (t === undefined) {
    throw new CliError(
      `kaudit ${command}: ${flag} ${JSON.stringify(value)}: expected an RFC 3339 time (2026-11-22T10:00:00Z) or a duration ago (90m, 2h, 7d)`,
      EXIT_USAGE,
    );
  }
  return t;
}

/** `kaudit analyze`: one streaming pass over the logs, then tables (or JSON) on stdout. */
export async function runAnalyze(
  ctx: CliContext,
  logs: string[],
  options: AnalyzeOptions,
): Promise<number> {
  const since = timeBound("analyze", "--since", options.since);
  const until = timeBound("analyze", "--until", options.until);
  const stats = new AuditStats({ top: options.top, since, until });
  const { problems } = await collectStats(ctx, logs, "analyzing", (e) => stats.add(e));
  const report = stats.report();
  if (options.json) ctx.stdout.write(`${JSON.stringify({ ...report, problems }, null, 2)}\n`);
  else ctx.stdout.write(renderAnalysis(report, problems, ctx.out));
  return problems > 0 ? EXIT_FINDINGS : EXIT_OK;
}

function ms(v: number): string {
  if (v >= 1000) return `${(v / 1000).toFixed(3)}s`;
  return `${v.toFixed(3)}ms`;
}

function latencyRows<T extends LatencySummary>(rows: T[], key: (r: T) => string): string[][] {
  return rows.map((r) => [key(r), String(r.count), ms(r.p50), ms(r.p99), ms(r.max)]);
}

/** The analysis as terminal tables. Sections without data say so instead of printing empty tables. */
export function renderAnalysis(r: AnalysisReport, problems: number, c: Colors): string {
  const out: string[] = [];
  const section = (title: string) => out.push("", c.bold(title));
  const stages = Object.entries(r.byStage)
    .map(([s, n]) => `${s} ${n}`)
    .join(", ");
  out.push(
    `${c.bold(`${r.events} events`)}, ${r.requests} requests (final stage)${stages ? `; by stage: ${stages}` : ""}`,
  );
  if (r.timeRange.first) out.push(`from ${r.timeRange.first} to ${r.timeRange.last}`);
  if (r.skipped.outsideRange || r.skipped.undated) {
    out.push(
      `skipped: ${r.skipped.outsideRange} outside --since/--until, ${r.skipped.undated} without timestamps`,
    );
  }
  if (problems > 0)
    out.push(
      c.red(
        `${problems} problem${problems === 1 ? "" : "s"} in the input: those lines or events were left out (see stderr)`,
      ),
    );

  section("Denied requests (401 Unauthorized / 403 Forbidden)");
  if (r.denied.byUser.length === 0) out.push("none");
  else {
    out.push(
      renderTable(
        ["user", "401", "403"],
        r.denied.byUser.map((d) => [d.user, String(d.unauthorized), String(d.forbidden)]),
        [false, true, true],
      ),
    );
    out.push("");
    out.push(
      renderTable(
        ["source IP", "401", "403"],
        r.denied.bySourceIP.map((d) => [d.sourceIP, String(d.unauthorized), String(d.forbidden)]),
        [false, true, true],
      ),
    );
  }

  section("Latency (stageTimestamp - requestReceivedTimestamp of the final stage)");
  if (r.latency.timed === 0) out.push("no request has both timestamps");
  else {
    const o = r.latency.overall;
    out.push(`${o.count} timed requests: p50 ${ms(o.p50)}, p99 ${ms(o.p99)}, max ${ms(o.max)}`);
    const lr = r.latency.longRunning;
    if (lr.count > 0) {
      out.push(
        `${lr.count} long-running requests (watch, exec, attach, port-forward, proxy) timed apart: p50 ${ms(lr.p50)}, max ${ms(lr.max)}`,
      );
    }
    out.push("");
    out.push(
      renderTable(
        ["verb", "count", "p50", "p99", "max"],
        latencyRows(r.latency.byVerb, (x) => x.verb),
        [false, true, true, true, true],
      ),
    );
    out.push("");
    out.push(
      renderTable(
        ["resource", "count", "p50", "p99", "max"],
        latencyRows(r.latency.byResource, (x) => x.resource),
        [false, true, true, true, true],
      ),
    );
    out.push("", c.bold("Slowest requests"));
    out.push(
      renderTable(
        ["latency", "verb", "code", "user", "requestURI"],
        r.latency.slowest.map((s) => [
          ms(s.ms),
          s.verb,
          s.code === null ? "-" : String(s.code),
          s.user,
          s.requestURI,
        ]),
        [true, false, true, false, false],
      ),
    );
  }
  if (r.latency.annotations.length > 0) {
    out.push("", c.bold("apiserver.latency.k8s.io annotations"));
    out.push(
      renderTable(
        ["annotation", "count", "p50", "p99", "max"],
        latencyRows(r.latency.annotations, (x) => x.key),
        [false, true, true, true, true],
      ),
    );
  }

  section("Top");
  const top = (title: string, rows: { count: number }[], key: (x: never) => string) =>
    renderTable(
      [title, "requests"],
      rows.map((x) => [key(x as never), String(x.count)]),
      [false, true],
    );
  if (r.requests === 0) out.push("no requests (no ResponseComplete or Panic events)");
  else {
    out.push(top("user", r.top.users, (x: { user: string }) => x.user));
    out.push("");
    out.push(top("verb", r.top.verbs, (x: { verb: string }) => x.verb));
    out.push("");
    out.push(top("resource", r.top.resources, (x: { resource: string }) => x.resource));
    out.push("");
    out.push(top("code", r.top.codes, (x: { code: string }) => x.code));
  }

  section("Errors (code >= 400)");
  if (r.errors.length === 0) out.push("none");
  else {
    out.push(
      renderTable(
        ["code", "reason", "count", "example"],
        r.errors.map((e) => [String(e.code), e.reason || "-", String(e.count), e.example]),
        [true, false, true, false],
      ),
    );
  }
  return `${out.join("\n")}\n`;
}
