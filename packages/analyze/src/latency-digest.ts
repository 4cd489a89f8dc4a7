/** Up to this many values per latency series the percentiles are exact (by default). */
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
 * Streaming percentiles: keeps the values until `exactLimit`, then folds them into buckets
 * whose bounds grow by 1%, so memory is bounded whatever the count.
 */
export class LatencyDigest {
  count = 0;
  max = 0;
  private values: number[] | null = [];
  private readonly buckets = new Map<number, number>();

  /** @param exactLimit values kept exactly before switching to 1% buckets (default 4,096). */
  constructor(private readonly exactLimit = EXACT_LIMIT) {}

  add(ms: number): void {
    this.count++;
    if (ms > this.max) this.max = ms;
    if (this.values) {
      this.values.push(ms);
      if (this.values.length > this.exactLimit) this.fold();
    } else this.addBucket(ms, 1);
  }

  /** Adds every value of `other` (used when time buckets are merged into wider ones). */
  merge(other: LatencyDigest): void {
    this.count += other.count;
    if (other.max > this.max) this.max = other.max;
    if (
      other.values &&
      this.values &&
      this.values.length + other.values.length <= this.exactLimit
    ) {
      for (const v of other.values) this.values.push(v);
      return;
    }
    if (this.values) this.fold();
    if (other.values) for (const v of other.values) this.addBucket(v, 1);
    else for (const [b, n] of other.buckets) this.buckets.set(b, (this.buckets.get(b) ?? 0) + n);
  }

  private fold(): void {
    for (const v of this.values ?? []) this.addBucket(v, 1);
    this.values = null;
  }

  private addBucket(ms: number, n: number): void {
    const b = ms <= MIN_MS ? 0 : Math.ceil(Math.log(ms / MIN_MS) / LOG_GROWTH);
    this.buckets.set(b, (this.buckets.get(b) ?? 0) + n);
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
      p50: roundMs(this.quantile(0.5)),
      p99: roundMs(this.quantile(0.99)),
      max: roundMs(this.max),
    };
  }
}

/** Milliseconds rounded to the microsecond, as every number of the report is. */
export function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
