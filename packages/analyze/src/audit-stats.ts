import type { Event } from "@kaudit/api";
import { attributesFromEvent, formatMicroTime, isLongRunning, parseMicroTime } from "@kaudit/api";
import { Counter } from "./counter";
import { parseGoDuration } from "./go-duration";
import { codeClass, resourceLabel, userLabel } from "./labels";
import { LatencyDigest, type LatencySummary, roundMs } from "./latency-digest";
import { Timeline, type TimelineBucket } from "./timeline";

/** Rows kept for the report's filterable tables: the most recent ones (the totals count all). */
export const MAX_ROWS = 500;
/** Besides those, each user's most recent rows, so filtering by a user shows their own. */
export const ROWS_PER_USER = 25;
/** Users whose own rows are kept (the first seen); later users have only the recent rows. */
export const ROW_USERS = 200;
/** Writers shown by name in the writes-over-time chart; the rest are `(other)`. */
export const TOP_WRITERS = 8;

const WRITE_VERBS = new Set(["create", "update", "patch", "delete", "deletecollection"]);

/** One of the slowest requests. */
export interface SlowRequest {
  ms: number;
  auditID: string;
  verb: string;
  requestURI: string;
  user: string;
  code: number | null;
  requestReceivedTimestamp: string;
  /** The request's `apiserver.latency.k8s.io/*` annotations, when it has them. */
  breakdown?: Record<string, string>;
}

/** One request of the report's row tables (authentication/authorization failures, writes). */
export interface RequestRow {
  /** requestReceivedTimestamp (or stageTimestamp when that is missing). */
  time: string;
  auditID: string;
  user: string;
  sourceIP: string;
  userAgent: string;
  verb: string;
  resource: string;
  namespace: string;
  name: string;
  code: number | null;
  /** responseStatus.reason (failures only). */
  reason: string;
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

/** A top-N row: a key, its requests, and how many of them failed (code ≥ 400). */
export type TopRow<K extends string> = { [P in K]: string } & { count: number; failures: number };

/** What `kaudit analyze --json` prints and `kaudit report` draws. */
export interface AnalysisReport {
  events: number;
  /** Requests = events of a final stage (ResponseComplete or Panic). */
  requests: number;
  byStage: Record<string, number>;
  timeRange: { first: string | null; last: string | null };
  /** Events left out by --since/--until, and events without any timestamp when filtering. */
  skipped: { outsideRange: number; undated: number };
  /** Requests by response class (`2xx` … `5xx`, `other` for 1xx, Panic or no code). */
  byClass: Record<string, number>;
  denied: {
    byUser: { user: string; unauthorized: number; forbidden: number }[];
    bySourceIP: { sourceIP: string; unauthorized: number; forbidden: number }[];
    /** Every 401/403; as rows the most recent {@link MAX_ROWS} and each user's last {@link ROWS_PER_USER}. */
    total: number;
    rows: RequestRow[];
  };
  latency: {
    /** Requests with both timestamps that are not long-running (the others cannot be timed or are apart). */
    timed: number;
    overall: LatencySummary;
    byVerb: ({ verb: string } & LatencySummary)[];
    byResource: ({ resource: string } & LatencySummary)[];
    slowest: SlowRequest[];
    annotations: ({ key: string } & LatencySummary)[];
    /** Watches, exec/attach/port-forward/proxy (kube's long-running rule): timed apart. */
    longRunning: LatencySummary;
  };
  top: {
    users: TopRow<"user">[];
    verbs: { verb: string; count: number }[];
    resources: TopRow<"resource">[];
    codes: { code: string; count: number }[];
    userAgents: TopRow<"userAgent">[];
    sourceIPs: TopRow<"sourceIP">[];
    namespaces: TopRow<"namespace">[];
  };
  /** The same dimensions ranked by failures (code ≥ 400). */
  failures: {
    total: number;
    users: { user: string; count: number }[];
    resources: { resource: string; count: number }[];
    userAgents: { userAgent: string; count: number }[];
    sourceIPs: { sourceIP: string; count: number }[];
    namespaces: { namespace: string; count: number }[];
  };
  errors: { code: number; reason: string; count: number; example: string }[];
  writes: {
    total: number;
    byUser: { user: string; count: number }[];
    /** The most recent {@link MAX_ROWS} writes and each user's last {@link ROWS_PER_USER}. */
    rows: RequestRow[];
  };
  /** Requests over time (final stage, by requestReceivedTimestamp). */
  timeline: { bucketSeconds: number; buckets: TimelineBucket[] };
}

interface DeniedCount {
  unauthorized: number;
  forbidden: number;
}

/** A dimension counted by requests and by failures. */
class Ranked {
  readonly all = new Counter();
  readonly failed = new Counter();
  add(key: string, failed: boolean): void {
    this.all.add(key);
    if (failed) this.failed.add(key);
  }
  top<K extends string>(n: number, name: K): TopRow<K>[] {
    return this.all
      .top(n)
      .map(
        (r) => ({ [name]: r.key, count: r.count, failures: this.failed.get(r.key) }) as TopRow<K>,
      );
  }
  topFailed<K extends string>(n: number, name: K): ({ [P in K]: string } & { count: number })[] {
    return this.failed
      .top(n)
      .map((r) => ({ [name]: r.key, count: r.count }) as { [P in K]: string } & { count: number });
  }
}

/** A ring of the most recent rows. */
class Recent<T> {
  private readonly rows: T[] = [];
  private next = 0;
  constructor(private readonly cap: number) {}
  add(row: T): void {
    if (this.rows.length < this.cap) this.rows.push(row);
    else {
      this.rows[this.next] = row;
      this.next = (this.next + 1) % this.cap;
    }
  }
  list(): T[] {
    return [...this.rows.slice(this.next), ...this.rows.slice(0, this.next)];
  }
}

/** The rows of one report table: the most recent overall, plus each user's most recent. */
class Rows {
  total = 0;
  private readonly recent = new Recent<RequestRow>(MAX_ROWS);
  private readonly byUser = new Map<string, Recent<RequestRow>>();
  add(row: RequestRow): void {
    this.total++;
    this.recent.add(row);
    let mine = this.byUser.get(row.user);
    if (!mine && this.byUser.size < ROW_USERS) {
      mine = new Recent(ROWS_PER_USER);
      this.byUser.set(row.user, mine);
    }
    mine?.add(row);
  }
  /** Every kept row once, in time order (input order for equal times). */
  list(): RequestRow[] {
    const kept = new Set(this.recent.list());
    for (const r of this.byUser.values()) for (const row of r.list()) kept.add(row);
    return [...kept].sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
  }
}

/**
 * Request statistics over an audit log, computed in one pass in memory bounded by the number of
 * distinct users, verbs, resources, agents, namespaces, codes and source IPs (never by the number
 * of events): latency percentiles are exact up to 4,096 values per series and within 1% beyond;
 * the timeline has at most 360 buckets; row tables keep the most recent {@link MAX_ROWS}.
 */
export class AuditStats {
  private events = 0;
  private requests = 0;
  private readonly stages = new Counter();
  private readonly classes = new Counter();
  private first = Number.POSITIVE_INFINITY;
  private last = Number.NEGATIVE_INFINITY;
  private outsideRange = 0;
  private undated = 0;
  private readonly deniedByUser = new Map<string, DeniedCount>();
  private readonly deniedByIP = new Map<string, DeniedCount>();
  private readonly deniedRows = new Rows();
  private readonly overall = new LatencyDigest();
  private readonly longRunning = new LatencyDigest();
  private readonly byVerb = new Map<string, LatencyDigest>();
  private readonly byResource = new Map<string, LatencyDigest>();
  private readonly annotations = new Map<string, LatencyDigest>();
  private slowest: SlowRequest[] = [];
  private readonly users = new Ranked();
  private readonly verbs = new Counter();
  private readonly resources = new Ranked();
  private readonly agents = new Ranked();
  private readonly ips = new Ranked();
  private readonly namespaces = new Ranked();
  private readonly codes = new Counter();
  private failed = 0;
  private readonly writers = new Counter();
  private readonly writeRows = new Rows();
  private readonly timeline = new Timeline();
  private readonly errors = new Map<
    string,
    { code: number; reason: string; count: number; example: string }
  >();

  constructor(private readonly options: StatsOptions) {}

  /** Counts one event; false when `since`/`until` left it out. */
  add(e: Event): boolean {
    const received = time(e.requestReceivedTimestamp);
    const stageAt = time(e.stageTimestamp);
    const when = received ?? stageAt;
    const { since, until } = this.options;
    if (since !== undefined || until !== undefined) {
      if (when === undefined) {
        this.undated++;
        return false;
      }
      if ((since !== undefined && when < since) || (until !== undefined && when >= until)) {
        this.outsideRange++;
        return false;
      }
    }
    this.events++;
    this.stages.add(e.stage || "(none)");
    if (when !== undefined) {
      if (when < this.first) this.first = when;
      if (when > this.last) this.last = when;
    }
    if (e.stage !== "ResponseComplete" && e.stage !== "Panic") return true;
    this.requests++;
    const user = userLabel(e);
    const verb = e.verb || "(none)";
    const resource = resourceLabel(e);
    const code = e.responseStatus?.code;
    const failed = code !== undefined ? code >= 400 : e.stage === "Panic";
    const ip = e.sourceIPs?.[0] ?? "<unknown>";
    const cls = codeClass(code);
    this.classes.add(cls);
    if (failed) this.failed++;
    this.users.add(user, failed);
    this.verbs.add(verb);
    this.resources.add(resource, failed);
    this.agents.add(e.userAgent || "<none>", failed);
    this.ips.add(ip, failed);
    this.namespaces.add(e.objectRef?.namespace || "<cluster>", failed);
    this.codes.add(code === undefined ? (e.stage === "Panic" ? "panic" : "(none)") : String(code));
    const row = (): RequestRow => ({
      time: when === undefined ? "" : formatMicroTime(when),
      auditID: e.auditID,
      user,
      sourceIP: ip,
      userAgent: e.userAgent ?? "",
      verb,
      resource,
      namespace: e.objectRef?.namespace ?? "",
      name: e.objectRef?.name ?? "",
      code: code ?? null,
      reason: failed ? (e.responseStatus?.reason ?? "") : "",
    });
    if (code === 401 || code === 403) {
      const field = code === 401 ? "unauthorized" : "forbidden";
      bump(this.deniedByUser, user, field);
      bump(this.deniedByIP, ip, field);
      this.deniedRows.add(row());
    }
    const isWrite = WRITE_VERBS.has(verb);
    if (isWrite) {
      this.writers.add(user);
      this.writeRows.add(row());
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
    let latency: number | undefined;
    if (received !== undefined && stageAt !== undefined && stageAt >= received) {
      const ms = stageAt - received;
      if (isLongRunning(attributesFromEvent(e))) this.longRunning.add(ms);
      else {
        latency = ms;
        this.overall.add(ms);
        digest(this.byVerb, verb).add(ms);
        digest(this.byResource, resource).add(ms);
        this.noteSlow(e, ms, verb, user, code);
      }
    }
    if (when !== undefined) {
      this.timeline.add(when, {
        code,
        cls,
        ...(latency !== undefined ? { latency } : {}),
        ...(isWrite ? { writer: user } : {}),
      });
    }
    if (e.annotations) {
      for (const [key, value] of Object.entries(e.annotations)) {
        if (!key.startsWith("apiserver.latency.k8s.io/")) continue;
        const ms = parseGoDuration(value);
        if (ms !== undefined) digest(this.annotations, key).add(ms);
      }
    }
    return true;
  }

  private noteSlow(e: Event, ms: number, verb: string, user: string, code?: number): void {
    const n = this.options.top;
    const rounded = roundMs(ms);
    if (this.slowest.length >= n && rounded <= this.slowest[this.slowest.length - 1]!.ms) return;
    const r: SlowRequest = {
      ms: rounded,
      auditID: e.auditID,
      verb,
      requestURI: e.requestURI,
      user,
      code: code ?? null,
      requestReceivedTimestamp: e.requestReceivedTimestamp as string,
    };
    const breakdown = latencyAnnotations(e);
    if (breakdown) r.breakdown = breakdown;
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
    const topWriters = this.writers.top(TOP_WRITERS).map((r) => r.key);
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
      byClass: Object.fromEntries(
        ["2xx", "3xx", "4xx", "5xx", "other"].map((c) => [c, this.classes.get(c)]),
      ),
      denied: {
        byUser: denied(this.deniedByUser).map(([user, c]) => ({ user, ...c })),
        bySourceIP: denied(this.deniedByIP).map(([sourceIP, c]) => ({ sourceIP, ...c })),
        total: this.deniedRows.total,
        rows: this.deniedRows.list(),
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
        longRunning: this.longRunning.summary(),
      },
      top: {
        users: this.users.top(n, "user"),
        verbs: this.verbs.top(n).map((r) => ({ verb: r.key, count: r.count })),
        resources: this.resources.top(n, "resource"),
        codes: this.codes.top(n).map((r) => ({ code: r.key, count: r.count })),
        userAgents: this.agents.top(n, "userAgent"),
        sourceIPs: this.ips.top(n, "sourceIP"),
        namespaces: this.namespaces.top(n, "namespace"),
      },
      failures: {
        total: this.failed,
        users: this.users.topFailed(n, "user"),
        resources: this.resources.topFailed(n, "resource"),
        userAgents: this.agents.topFailed(n, "userAgent"),
        sourceIPs: this.ips.topFailed(n, "sourceIP"),
        namespaces: this.namespaces.topFailed(n, "namespace"),
      },
      errors: [...this.errors.values()]
        .sort((a, b) => b.count - a.count || a.code - b.code || (a.reason < b.reason ? -1 : 1))
        .slice(0, n),
      writes: {
        total: this.writeRows.total,
        byUser: this.writers.top(n).map((r) => ({ user: r.key, count: r.count })),
        rows: this.writeRows.list(),
      },
      timeline: {
        bucketSeconds: this.timeline.bucketSeconds,
        buckets: this.timeline.report(topWriters),
      },
    };
  }
}

function latencyAnnotations(e: Event): Record<string, string> | undefined {
  if (!e.annotations) return undefined;
  let out: Record<string, string> | undefined;
  for (const [k, v] of Object.entries(e.annotations)) {
    if (!k.startsWith("apiserver.latency.k8s.io/")) continue;
    out ??= {};
    out[k] = v;
  }
  return out;
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
