import type { Event } from "@kaudit/api";
import { formatMicroTime, parseMicroTime } from "@kaudit/api";

/**
 * Request statistics over an audit log, computed in one pass in memory bounded by the number of
 * distinct users, verbs, resources, codes and source IPs (never by the number of events):
 * latency percentiles use exact values up to {@link EXACT_LIMIT} per series and a log-bucket
 * histogram with 1% relative error beyond.
 */

/** Up to this many values per latency series the percentiles are exact. */
export const EXACT_LIMIT = 4096;
const BUCKET_GROWTH = 1.01;
const LOG_GROWTH = Math.log(BUCKET_GROWTH);
/** Latencies under 1 µs share the first bucket. */
const MIN_MS = 0.001;

/** Percentile summary of one latency series, in milliseconds. */
export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/**
 * Streaming percentiles: keeps the values until {@link EXACT_LIMIT}, then folds them into
 * buckets whose bounds grow by 1%, so memory is bounded whatever the count.
 */
export class LatencyDigest {
  count = 0;
  max = 0;
  private values: number[] | null = [];
  private buckets = new Map<number, number>();

  add(ms: number): void {
    this.count++;
    if (ms > this.max) this.max = ms;
    if (this.values) {
      this.values.push(ms);
      if (this.values.length > EXACT_LIMIT) {
        for (const v of this.values) this.addBucket(v);
        this.values = null;
      }
    } else this.addBucket(ms);
  }

  private addBucket(ms: number): void {
    const b = ms <= MIN_MS ? 0 : Math.ceil(Math.log(ms / MIN_MS) / LOG_GROWTH);
    this.buckets.set(b, (this.buckets.get(b) ?? 0) + 1);
  }

  /** The nearest-rank percentile `p` (0 < p ≤ 1): exact, or within 1% in histogram mode. */
  quantile(p: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(p * this.count));
    if (this.values) {
      const sorted = [...this.values].sort((a, b) => a - b);
      return sorted[rank - 1]!;
    }
    let seen = 0;
    for (const b of [...this.buckets.keys()].sort((x, y) => x - y)) {
      seen += this.buckets.get(b)!;
      if (seen >= rank) return Math.min(this.max, b === 0 ? MIN_MS : MIN_MS * BUCKET_GROWTH ** b);
    }
    return this.max;
  }

  summary(): LatencySummary {
    return {
      count: this.count,
      p50: round(this.quantile(0.5)),
      p99: round(this.quantile(0.99)),
      max: round(this.max),
    };
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** A count per key, with the top N by count (ties by key). */
export class Counter {
  readonly counts = new Map<string, number>();
  add(key: string, n = 1): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + n);
  }
  top(n: number): { key: string; count: number }[] {
    return [...this.counts]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, n)
      .map(([key, count]) => ({ key, count }));
  }
}

const UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * A Go `time.Duration.String()` (`501.234567ms`, `1m2.5s`, `800µs`, `0s`) in milliseconds, as
 * kube-apiserver writes the apiserver.latency.k8s.io/* annotations; undefined when malformed.
 */
export function parseGoDuration(text: string): number | undefined {
  const s = text.trim();
  if (s === "0" || s === "0s") return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gy;
  let total = 0;
  let sign = 1;
  let i = 0;
  if (s[0] === "-" || s[0] === "+") {
    sign = s[0] === "-" ? -1 : 1;
    i = 1;
  }
  if (i >= s.length) return undefined;
  re.lastIndex = i;
  while (re.lastIndex < s.length) {
    const m = re.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * UNITS[m[2]!]!;
  }
  return sign * total;
}

/** The user a request acted as: `alice`, `system:admin as alice` when impersonating, `<anonymous>`. */
export function userLabel(e: Event): string {
  const name = e.user?.username ?? "";
  const who = name === "" ? "<anonymous>" : name;
  const as = e.impersonatedUser?.username;
  return as !== undefined && as !== "" ? `${who} as ${as}` : who;
}

/** `pods`, `pods/log`, `deployments.apps`, or `(non-resource) /healthz` for non-resource URLs. */
export function resourceLabel(e: Event): string {
  const ref = e.objectRef;
  if (ref?.resource) {
    return `${ref.resource}${ref.subresource ? `/${ref.subresource}` : ""}${ref.apiGroup ? `.${ref.apiGroup}` : ""}`;
  }
  const uri = e.requestURI ?? "";
  const q = uri.indexOf("?");
  return `(non-resource) ${q >= 0 ? uri.slice(0, q) : uri}`;
}

/** One of the slowest requests. */
export interface SlowRequest {
  ms: number;
  auditID: string;
  verb: string;
  requestURI: string;
  user: string;
  code: number | null;
  requestReceivedTimestamp: string;
}

/** Options of {@link AuditStats}. */
export interface StatsOptions {
  /** Rows per table. */
  top: number;
  /** Only requests received at or after this time (epoch ms). */
  since?: number | undefined;
  /** Only requests received before this time (epoch ms). */
  until?: number | undefined;
}

/** What `kaudit analyze` reports (also its `--json` output). */
export interface AnalysisReport {
  events: number;
  /** Requests = events of a final stage (ResponseComplete or Panic). */
  requests: number;
  byStage: Record<string, number>;
  timeRange: { first: string | null; last: string | null };
  /** Events left out by --since/--until, and events without any timestamp when filtering. */
  skipped: { outsideRange: number; undated: number };
  denied: {
    byUser: { user: string; unauthorized: number; forbidden: number }[];
    bySourceIP: { sourceIP: string; unauthorized: number; forbidden: number }[];
  };
  latency: {
    /** Requests with both timestamps (the others cannot be timed). */
    timed: number;
    overall: LatencySummary;
    byVerb: ({ verb: string } & LatencySummary)[];
    byResource: ({ resource: string } & LatencySummary)[];
    slowest: SlowRequest[];
    annotations: ({ key: string } & LatencySummary)[];
  };
  top: {
    users: { user: string; count: number }[];
    verbs: { verb: string; count: number }[];
    resources: { resource: string; count: number }[];
    codes: { code: string; count: number }[];
  };
  errors: { code: number; reason: string; count: number; example: string }[];
}

interface DeniedCount {
  unauthorized: number;
  forbidden: number;
}

/** Accumulates events (in any order) and produces an {@link AnalysisReport}. */
export class AuditStats {
  private events = 0;
  private requests = 0;
  private readonly stages = new Counter();
  private first = Number.POSITIVE_INFINITY;
  private last = Number.NEGATIVE_INFINITY;
  private outsideRange = 0;
  private undated = 0;
  private readonly deniedByUser = new Map<string, DeniedCount>();
  private readonly deniedByIP = new Map<string, DeniedCount>();
  private readonly overall = new LatencyDigest();
  private readonly byVerb = new Map<string, LatencyDigest>();
  private readonly byResource = new Map<string, LatencyDigest>();
  private readonly annotations = new Map<string, LatencyDigest>();
  private slowest: SlowRequest[] = [];
  private readonly users = new Counter();
  private readonly verbs = new Counter();
  private readonly resources = new Counter();
  private readonly codes = new Counter();
  private readonly errors = new Map<
    string,
    { code: number; reason: string; count: number; example: string }
  >();

  constructor(private readonly options: StatsOptions) {}

  /** Counts one event. */
  add(e: Event): void {
    const received = time(e.requestReceivedTimestamp);
    const stageAt = time(e.stageTimestamp);
    const when = received ?? stageAt;
    const { since, until } = this.options;
    if (since !== undefined || until !== undefined) {
      if (when === undefined) {
        this.undated++;
        return;
      }
      if ((since !== undefined && when < since) || (until !== undefined && when >= until)) {
        this.outsideRange++;
        return;
      }
    }
    this.events++;
    this.stages.add(e.stage || "(none)");
    if (when !== undefined) {
      if (when < this.first) this.first = when;
      if (when > this.last) this.last = when;
    }
    if (e.stage !== "ResponseComplete" && e.stage !== "Panic") return;
    this.requests++;
    const user = userLabel(e);
    const verb = e.verb || "(none)";
    const resource = resourceLabel(e);
    const code = e.responseStatus?.code;
    this.users.add(user);
    this.verbs.add(verb);
    this.resources.add(resource);
    this.codes.add(code === undefined ? (e.stage === "Panic" ? "panic" : "(none)") : String(code));
    if (code === 401 || code === 403) {
      const ip = e.sourceIPs?.[0] ?? "<unknown>";
      const field = code === 401 ? "unauthorized" : "forbidden";
      bump(this.deniedByUser, user, field);
      bump(this.deniedByIP, ip, field);
    }
    if (code !== undefined && code >= 400) {
      const reason = e.responseStatus?.reason ?? "";
      const key = `${code} ${reason}`;
      const entry = this.errors.get(key);
      if (entry) entry.count++;
      else {
        const msg = e.responseStatus?.message ?? `${verb} ${e.requestURI}`;
        this.errors.set(key, {
          code,
          reason,
          count: 1,
          example: msg.length > 120 ? `${msg.slice(0, 117)}...` : msg,
        });
      }
    }
    if (received !== undefined && stageAt !== undefined && stageAt >= received) {
      const ms = stageAt - received;
      this.overall.add(ms);
      digest(this.byVerb, verb).add(ms);
      digest(this.byResource, resource).add(ms);
      this.noteSlow({
        ms: round(ms),
        auditID: e.auditID,
        verb,
        requestURI: e.requestURI,
        user,
        code: code ?? null,
        requestReceivedTimestamp: e.requestReceivedTimestamp as string,
      });
    }
    if (e.annotations) {
      for (const [key, value] of Object.entries(e.annotations)) {
        if (!key.startsWith("apiserver.latency.k8s.io/")) continue;
        const ms = parseGoDuration(value);
        if (ms !== undefined) digest(this.annotations, key).add(ms);
      }
    }
  }

  private noteSlow(r: SlowRequest): void {
    const n = this.options.top;
    if (this.slowest.length >= n && r.ms <= this.slowest[this.slowest.length - 1]!.ms) return;
    let i = this.slowest.length;
    while (i > 0 && this.slowest[i - 1]!.ms < r.ms) i--;
    this.slowest.splice(i, 0, r);
    if (this.slowest.length > n) this.slowest.pop();
  }

  /** The report so far. */
  report(): AnalysisReport {
    const n = this.options.top;
    const denied = (m: Map<string, DeniedCount>) =>
      [...m].sort((a, b) => total(b[1]) - total(a[1]) || (a[0] < b[0] ? -1 : 1)).slice(0, n);
    const series = (m: Map<string, LatencyDigest>) =>
      [...m]
        .map(([k, d]) => ({ k, s: d.summary() }))
        .sort((a, b) => b.s.p99 - a.s.p99 || b.s.count - a.s.count || (a.k < b.k ? -1 : 1))
        .slice(0, n);
    return {
      events: this.events,
      requests: this.requests,
      byStage: Object.fromEntries(
        this.stages.top(Number.MAX_SAFE_INTEGER).map((r) => [r.key, r.count]),
      ),
      timeRange: {
        first: this.events && Number.isFinite(this.first) ? formatMicroTime(this.first) : null,
        last: this.events && Number.isFinite(this.last) ? formatMicroTime(this.last) : null,
      },
      skipped: { outsideRange: this.outsideRange, undated: this.undated },
      denied: {
        byUser: denied(this.deniedByUser).map(([user, c]) => ({ user, ...c })),
        bySourceIP: denied(this.deniedByIP).map(([sourceIP, c]) => ({ sourceIP, ...c })),
      },
      latency: {
        timed: this.overall.count,
        overall: this.overall.summary(),
        byVerb: series(this.byVerb).map(({ k, s }) => ({ verb: k, ...s })),
        byResource: series(this.byResource).map(({ k, s }) => ({ resource: k, ...s })),
        slowest: this.slowest,
        annotations: [...this.annotations]
          .sort((a, b) => (a[0] < b[0] ? -1 : 1))
          .map(([key, d]) => ({ key, ...d.summary() })),
      },
      top: {
        users: this.users.top(n).map((r) => ({ user: r.key, count: r.count })),
        verbs: this.verbs.top(n).map((r) => ({ verb: r.key, count: r.count })),
        resources: this.resources.top(n).map((r) => ({ resource: r.key, count: r.count })),
        codes: this.codes.top(n).map((r) => ({ code: r.key, count: r.count })),
      },
      errors: [...this.errors.values()]
        .sort((a, b) => b.count - a.count || a.code - b.code || (a.reason < b.reason ? -1 : 1))
        .slice(0, n),
    };
  }
}

function total(c: DeniedCount): number {
  return c.unauthorized + c.forbidden;
}

function bump(m: Map<string, DeniedCount>, key: string, field: keyof DeniedCount): void {
  let c = m.get(key);
  if (!c) {
    c = { unauthorized: 0, forbidden: 0 };
    m.set(key, c);
  }
  c[field]++;
}

function digest(m: Map<string, LatencyDigest>, key: string): LatencyDigest {
  let d = m.get(key);
  if (!d) {
    d = new LatencyDigest();
    m.set(key, d);
  }
  return d;
}

function time(t: string | null | undefined): number | undefined {
  if (t === null || t === undefined || t === "") return undefined;
  try {
    const v = parseMicroTime(t);
    return Number.isFinite(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A `--since`/`--until` value in epoch ms: an RFC 3339 time (`2026-11-22T10:00:00Z`, a date
 * `2026-11-22`) or a duration before `now` (`90m`, `2h`, `7d`, `1h30m`).
 */
export function parseTimeBound(text: string, now = Date.now()): number | undefined {
  const s = text.trim();
  const days = /^(\d+(?:\.\d+)?)d$/.exec(s);
  if (days) return now - Number(days[1]) * 86_400_000;
  if (/^[\d.]+(?:ns|us|µs|ms|s|m|h)/.test(s)) {
    const d = parseGoDuration(s);
    return d === undefined ? undefined : now - d;
  }
  if (!/^\d{4}-\d{2}-\d{2}/.test(s)) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}
