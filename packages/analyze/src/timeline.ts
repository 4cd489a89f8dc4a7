import { CODE_CLASSES, type CodeClass } from "./labels";
import { LatencyDigest, type LatencySummary } from "./latency-digest";

/** Bucket widths in seconds; each divides the next, so coarsening merges whole buckets. */
const WIDTHS_S = [1, 5, 10, 30, 60, 300, 600, 1800, 3600, 10_800, 21_600, 43_200, 86_400, 604_800];
/** At most this many buckets span the log: a wider log gets wider buckets, never more. */
export const MAX_BUCKETS = 360;
/** Distinct writers remembered per bucket; the rest of the bucket's writes count as `(other)`. */
export const WRITERS_PER_BUCKET = 64;
/** Values per bucket kept exactly before a bucket's latency digest switches to 1% buckets. */
const BUCKET_EXACT = 256;

/** What one time bucket holds while the log is read. */
interface Bucket {
  classes: Record<CodeClass, number>;
  unauthorized: number;
  forbidden: number;
  latency: LatencyDigest;
  writes: Map<string, number>;
  otherWrites: number;
}

/** One time bucket of the report. */
export interface TimelineBucket {
  /** Start of the bucket (RFC 3339, UTC). */
  start: string;
  /** Requests by response class. */
  "2xx": number;
  "3xx": number;
  "4xx": number;
  "5xx": number;
  /** 1xx (exec/attach upgrades), Panic, or no code. */
  other: number;
  /** 401 Unauthorized responses (also inside 4xx). */
  "401": number;
  /** 403 Forbidden responses (also inside 4xx). */
  "403": number;
  /** Latency of the bucket's timed requests, long-running ones apart. */
  latency: LatencySummary;
  /** Writes (create/update/patch/delete/deletecollection) by the report's top writers; `(other)` for the rest. */
  writes: Record<string, number>;
}

/** Requests over time in buckets whose width grows with the span of the log (bounded memory). */
export class Timeline {
  private level = 0;
  private buckets = new Map<number, Bucket>();
  private lo = Number.POSITIVE_INFINITY;
  private hi = Number.NEGATIVE_INFINITY;

  /** Width of a bucket in seconds. */
  get bucketSeconds(): number {
    return WIDTHS_S[this.level]!;
  }

  /** Counts one request received at `ms` (epoch ms). */
  add(
    ms: number,
    request: { code: number | undefined; cls: CodeClass; latency?: number; writer?: string },
  ): void {
    const b = this.bucketAt(ms);
    b.classes[request.cls]++;
    if (request.code === 401) b.unauthorized++;
    if (request.code === 403) b.forbidden++;
    if (request.latency !== undefined) b.latency.add(request.latency);
    if (request.writer !== undefined) {
      const n = b.writes.get(request.writer);
      if (n !== undefined) b.writes.set(request.writer, n + 1);
      else if (b.writes.size < WRITERS_PER_BUCKET) b.writes.set(request.writer, 1);
      else b.otherWrites++;
    }
  }

  private bucketAt(ms: number): Bucket {
    let key = Math.floor(ms / (this.bucketSeconds * 1000));
    while (Math.max(this.hi, key) - Math.min(this.lo, key) + 1 > MAX_BUCKETS) {
      this.coarsen();
      key = Math.floor(ms / (this.bucketSeconds * 1000));
    }
    if (key < this.lo) this.lo = key;
    if (key > this.hi) this.hi = key;
    let b = this.buckets.get(key);
    if (!b) {
      b = emptyBucket();
      this.buckets.set(key, b);
    }
    return b;
  }

  private coarsen(): void {
    if (this.level === WIDTHS_S.length - 1) {
      throw new RangeError("audit log spans more than 360 weeks");
    }
    const factor = WIDTHS_S[this.level + 1]! / WIDTHS_S[this.level]!;
    this.level++;
    const old = this.buckets;
    this.buckets = new Map();
    for (const [k, b] of old) {
      const nk = Math.floor(k / factor);
      const into = this.buckets.get(nk);
      if (into) mergeBucket(into, b);
      else this.buckets.set(nk, b);
    }
    if (Number.isFinite(this.lo)) {
      this.lo = Math.floor(this.lo / factor);
      this.hi = Math.floor(this.hi / factor);
    }
  }

  /** Every bucket from the first to the last (empty ones included), writers narrowed to `writers`. */
  report(writers: readonly string[]): TimelineBucket[] {
    const out: TimelineBucket[] = [];
    if (!Number.isFinite(this.lo)) return out;
    const width = this.bucketSeconds * 1000;
    const keep = new Set(writers);
    for (let k = this.lo; k <= this.hi; k++) {
      const b = this.buckets.get(k) ?? emptyBucket();
      const writes: Record<string, number> = {};
      let other = b.otherWrites;
      for (const [user, n] of b.writes) {
        if (keep.has(user)) writes[user] = n;
        else other += n;
      }
      if (other > 0) writes["(other)"] = other;
      out.push({
        start: new Date(k * width).toISOString(),
        ...b.classes,
        "401": b.unauthorized,
        "403": b.forbidden,
        latency: b.latency.summary(),
        writes,
      });
    }
    return out;
  }
}

function emptyBucket(): Bucket {
  const classes = Object.fromEntries(CODE_CLASSES.map((c) => [c, 0])) as Record<CodeClass, number>;
  return {
    classes,
    unauthorized: 0,
    forbidden: 0,
    latency: new LatencyDigest(BUCKET_EXACT),
    writes: new Map(),
    otherWrites: 0,
  };
}

function mergeBucket(into: Bucket, from: Bucket): void {
  for (const c of CODE_CLASSES) into.classes[c] += from.classes[c];
  into.unauthorized += from.unauthorized;
  into.forbidden += from.forbidden;
  into.latency.merge(from.latency);
  into.otherWrites += from.otherWrites;
  for (const [user, n] of from.writes) {
    const have = into.writes.get(user);
    if (have !== undefined) into.writes.set(user, have + n);
    else if (into.writes.size < WRITERS_PER_BUCKET) into.writes.set(user, n);
    else into.otherWrites += n;
  }
}
