import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { AlertReport } from "./alert-stats";
import type { AnalysisReport } from "./audit-stats";
import type { LatencySummary } from "./latency-digest";
import { reportClient } from "./report-client";

/** What {@link renderReport} draws. */
export interface ReportInput {
  /** The statistics: `AuditStats.report()`, the same object `kaudit analyze --json` prints. */
  report: AnalysisReport;
  /** The page's title. */
  title: string;
  /** The inputs read, as the user named them. */
  inputs: string[];
  /** Lines or events of the input that could not be read (reported elsewhere). */
  problems: number;
  /** When the page was made (RFC 3339); shown in the header. */
  generatedAt: string;
  /** Alerts raised by detection rules over the same events; the section is absent without. */
  alerts?: AlertReport | undefined;
}

let echartsSource: string | undefined;

/** The ECharts build inlined into every page (read once). */
function echarts(): string {
  if (echartsSource === undefined) {
    const require = createRequire(import.meta.url);
    echartsSource = readFileSync(require.resolve("echarts/dist/echarts.min.js"), "utf8");
  }
  return echartsSource;
}

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Text as HTML: every string of the log is attacker-chosen. */
export function escapeHTML(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/** JSON that can stand inside `<script>`: no `</script>`, no `<!--`, no line separators. */
function scriptJSON(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

function table(
  id: string,
  head: string[],
  rows: (string | number)[][],
  numeric: boolean[] = [],
): string {
  const th = head
    .map((h, i) => `<th${numeric[i] ? ' class="num"' : ""}>${escapeHTML(h)}</th>`)
    .join("");
  const body = rows
    .map(
      (r) =>
        `<tr>${r.map((v, i) => `<td${numeric[i] ? ' class="num"' : ""}>${escapeHTML(String(v))}</td>`).join("")}</tr>`,
    )
    .join("");
  return `<table id="${id}"><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table>`;
}

function ms(v: number): string {
  return v >= 1000 ? `${(v / 1000).toFixed(3)} s` : `${v} ms`;
}

function latencyRows<T extends LatencySummary>(rows: T[], key: (r: T) => string) {
  return rows.map((r) => [key(r), r.count, ms(r.p50), ms(r.p99), ms(r.max)]);
}

const LAT_HEAD = ["count", "p50", "p99", "max"];
const LAT_NUM = [false, true, true, true, true];

function section(id: string, title: string, chart: string, side: string, extra = ""): string {
  return `<section id="${id}"><h2>${escapeHTML(title)}</h2><div class="row"><div class="chart" id="${chart}"></div><div class="side">${side}</div></div>${extra}</section>`;
}

function rowTable(id: string, head: string[]): string {
  const th = head.map((h) => `<th>${escapeHTML(h)}</th>`).join("");
  return `<p class="note" id="${id}-note"></p><div class="scroll"><table id="${id}" class="rows"><thead><tr>${th}</tr></thead></table></div>`;
}

/**
 * One self-contained HTML page that shows the report: ECharts and the data are inlined, so the
 * page needs no network and no server. Request and response bodies never reach it (the report
 * holds none).
 */
export function renderReport(input: ReportInput): string {
  const r = input.report;
  const stat = (key: string, label: string, value: number | string) =>
    `<div class="stat"><span class="v" data-key="${key}">${escapeHTML(String(value))}</span><span class="l">${escapeHTML(label)}</span></div>`;
  const unauthorized = r.denied.byUser.reduce((n, d) => n + d.unauthorized, 0);
  const forbidden = r.denied.byUser.reduce((n, d) => n + d.forbidden, 0);
  const summary = [
    stat("events", "events", r.events),
    stat("requests", "requests (final stage)", r.requests),
    stat("failures", "failed (code ≥ 400)", r.failures.total),
    stat("denied", "401 / 403", r.denied.total),
    stat("p99", "p99 latency", ms(r.latency.overall.p99)),
    stat("writes", "writes", r.writes.total),
    ...(input.alerts ? [stat("alerts", "alerts", input.alerts.total)] : []),
    ...(input.problems ? [stat("problems", "unreadable lines", input.problems)] : []),
  ].join("");
  const top = (
    title: string,
    chart: string,
    rows: { count: number; failures: number }[],
    key: string,
    id: string,
  ) =>
    section(
      id,
      title,
      chart,
      table(
        `${id}-table`,
        [key, "requests", "failed"],
        rows.map((x) => [(x as unknown as Record<string, string>)[key]!, x.count, x.failures]),
        [false, true, true],
      ),
    );
  const sections = [
    section(
      "timeline",
      "Requests over time by response class (401 and 403 marked)",
      "chart-timeline",
      table(
        "class-table",
        ["class", "requests"],
        [
          ...Object.entries(r.byClass).map(([k, v]) => [k, v]),
          ["401", unauthorized],
          ["403", forbidden],
        ],
        [false, true],
      ) +
        `<p class="note">buckets of ${r.timeline.bucketSeconds} s, UTC; click one to filter the tables</p>`,
    ),
    section(
      "latency",
      "Latency over time (final stage; long-running requests apart)",
      "chart-latency-time",
      `<p>${r.latency.timed} timed requests: p50 ${ms(r.latency.overall.p50)}, p99 ${ms(r.latency.overall.p99)}, max ${ms(r.latency.overall.max)}</p>` +
        `<p class="note">long-running (watch, exec, attach, port-forward, proxy): ${r.latency.longRunning.count}, p50 ${ms(r.latency.longRunning.p50)}, max ${ms(r.latency.longRunning.max)}</p>` +
        (r.latency.annotations.length
          ? table(
              "annotation-table",
              ["apiserver.latency.k8s.io", ...LAT_HEAD],
              latencyRows(r.latency.annotations, (x) =>
                x.key.replace("apiserver.latency.k8s.io/", ""),
              ),
              LAT_NUM,
            )
          : ""),
    ),
    section(
      "latency-verb",
      "Latency by verb",
      "chart-latency-verb",
      table(
        "latency-verb-table",
        ["verb", ...LAT_HEAD],
        latencyRows(r.latency.byVerb, (x) => x.verb),
        LAT_NUM,
      ),
    ),
    section(
      "latency-resource",
      "Latency by resource",
      "chart-latency-resource",
      table(
        "latency-resource-table",
        ["resource", ...LAT_HEAD],
        latencyRows(r.latency.byResource, (x) => x.resource),
        LAT_NUM,
      ),
    ),
    top(
      "Top users (click one to filter the tables)",
      "chart-top-users",
      r.top.users,
      "user",
      "top-users",
    ),
    top("Top user agents", "chart-top-agents", r.top.userAgents, "userAgent", "top-agents"),
    top("Top source IPs", "chart-top-ips", r.top.sourceIPs, "sourceIP", "top-ips"),
    top("Top resources", "chart-top-resources", r.top.resources, "resource", "top-resources"),
    top("Top namespaces", "chart-top-namespaces", r.top.namespaces, "namespace", "top-namespaces"),
    section(
      "denied",
      "Authentication and authorization failures (401 / 403) by user",
      "chart-denied-users",
      table(
        "denied-users-table",
        ["user", "401", "403"],
        r.denied.byUser.map((d) => [d.user, d.unauthorized, d.forbidden]),
        [false, true, true],
      ),
      `<div class="row"><div class="chart" id="chart-denied-ips"></div><div class="side">${table(
        "denied-ips-table",
        ["source IP", "401", "403"],
        r.denied.bySourceIP.map((d) => [d.sourceIP, d.unauthorized, d.forbidden]),
        [false, true, true],
      )}</div></div>${rowTable("table-denied", ["time", "code", "user", "source IP", "request", "reason"])}`,
    ),
    section(
      "slowest",
      "Slowest requests",
      "chart-slowest",
      table(
        "errors-table",
        ["code", "reason", "count"],
        r.errors.map((e) => [e.code, e.reason || "-", e.count]),
        [true, false, true],
      ),
      rowTable("table-slowest", ["latency", "time", "user", "code", "request", "breakdown"]),
    ),
    section(
      "writes",
      "Writes (create, update, patch, delete) over time by user",
      "chart-writes",
      table(
        "writes-table",
        ["user", "writes"],
        r.writes.byUser.map((w) => [w.user, w.count]),
        [false, true],
      ),
      rowTable("table-writes", ["time", "user", "request", "code", "agent"]),
    ),
    ...(input.alerts
      ? [
          section(
            "alerts",
            `Alerts (${input.alerts.rules} rules)`,
            "chart-alerts",
            table(
              "alerts-table",
              ["rule", "priority", "alerts"],
              input.alerts.byRule.map((a) => [a.rule, a.priority, a.count]),
              [false, false, true],
            ),
            rowTable("table-alerts", ["time", "priority", "rule", "user", "output"]),
          ),
        ]
      : []),
  ].join("\n");
  const range = r.timeRange.first ? `${r.timeRange.first} – ${r.timeRange.last}` : "no timestamps";
  const data = {
    report: r,
    ...(input.alerts ? { alerts: input.alerts } : {}),
  };
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHTML(input.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${escapeHTML(input.title)}</h1>
<p class="meta">${escapeHTML(input.inputs.join(", "))} · ${escapeHTML(range)} · made by kaudit report at ${escapeHTML(input.generatedAt)}</p>
<div class="stats" id="summary">${summary}</div>
<div id="filter"><span id="filter-text"></span> <button id="filter-clear" hidden>show all</button></div>
</header>
<main>
${sections}
</main>
<script type="application/json" id="kaudit-data">${scriptJSON(data)}</script>
<script>${echarts()}</script>
<script>(${reportClient.toString()})();</script>
</body>
</html>
`;
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#263238;color:#fff;padding:12px 20px;position:sticky;top:0;z-index:5}
h1{font-size:20px;margin:0 0 4px}
.meta{margin:0 0 8px;color:#cfd8dc;font-size:12px}
.stats{display:flex;gap:18px;flex-wrap:wrap}
.stat{display:flex;flex-direction:column}.stat .v{font-size:20px;font-weight:600}.stat .l{font-size:11px;color:#b0bec5}
#filter{margin-top:6px;font-size:12px;color:#ffe082}
#filter button{font-size:12px;margin-left:8px}
main{padding:8px 20px}
section{background:#fff;border:1px solid #e0e0e0;border-radius:6px;margin:12px 0;padding:8px 12px;break-inside:avoid}
h2{font-size:16px;margin:4px 0 8px}
.row{display:flex;gap:16px;align-items:flex-start}
.chart{flex:3;height:300px;min-width:0}
.side{flex:2;min-width:0;overflow:auto;max-height:320px}
table{border-collapse:collapse;font-size:12px;width:100%}
th,td{border-bottom:1px solid #eee;padding:2px 6px;text-align:left;vertical-align:top;word-break:break-all}
th{background:#f5f5f5;position:sticky;top:0}
.num{text-align:right;font-variant-numeric:tabular-nums}
.scroll{max-height:320px;overflow:auto}
.note{font-size:11px;color:#666;margin:4px 0}
td.link{color:#1565c0;cursor:pointer;text-decoration:underline}
@media print{header{position:static}#filter button{display:none}.scroll,.side{max-height:none;overflow:visible}section{page-break-inside:avoid}}
`;
