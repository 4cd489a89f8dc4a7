import type { Event, Sink } from "@kaudit/api";
import { decodeEncoded, encodeEvent } from "./encode";
import { ReportingBase, type ReportingOptions, SinkError } from "./report";
import { Spool } from "./spool";
import { MAX_IN_FLIGHT, PROCESS_ENCODED } from "./webhook-sink";

/** Options of {@link buffered}; durations in ms. Defaults are the webhook's (§8.4 of the spec). */
export interface BufferedOptions extends ReportingOptions {
  /** Queue capacity in events. Default 10000. */
  bufferSize?: number;
  /** Events per batch. Default 400. */
  maxBatchSize?: number;
  /** A partial batch is sent this long after the previous dispatch, ms. Default 30000. */
  maxBatchWait?: number;
  /** Rate-limit batches with a token bucket. Default true. */
  throttleEnable?: boolean;
  /** Batches per second when throttled. Default 10. */
  throttleQPS?: number;
  /** Token bucket size when throttled. Default 15. */
  throttleBurst?: number;
  /** Send batches without waiting for the previous one. Default true. */
  async?: boolean;
  /**
   * Concurrent batches when `async` (default: the delegate's own limit, e.g. the webhook's
   * `maxInFlight`, else unbounded like the reference). Beyond it the queue fills.
   */
  maxInFlight?: number;
  /**
   * Beyond the reference: a directory where events that do not fit the queue, and batches whose
   * delivery failed, are written, to be delivered later — after a restart too — oldest first.
   */
  spoolDir?: string;
  /** Disk budget of the spool in bytes; beyond it events are dropped (counted). Default 1 GiB. */
  spoolMaxBytes?: number;
}

type Encoded = string;

const SPOOL_RETRY_PAUSE = 1000;

/**
 * The batching backend (k8s.io/apiserver plugin/pkg/audit/buffered). See {@link buffered}.
 */
export class BufferedSink extends ReportingBase {
  private readonly bufferSize: number;
  private readonly maxBatchSize: number;
  private readonly maxBatchWait: number;
  private readonly throttle: TokenBucket | undefined;
  private readonly async: boolean;
  private readonly limit: number;
  private readonly spool: Spool | undefined;
  private queue: Encoded[] = [];
  private head = 0;
  private stopping = false;
  private closed = false;
  private wake: (() => void) | undefined;
  private readonly inFlight = new Set<Promise<boolean>>();
  private slotWaiter: (() => void) | undefined;
  private readonly loop: Promise<void>;
  private shutdownPromise: Promise<void> | undefined;
  private spooling = false;

  constructor(
    private readonly delegate: Sink,
    options: BufferedOptions = {},
  ) {
    super(options);
    this.bufferSize = options.bufferSize ?? 10_000;
    this.maxBatchSize = options.maxBatchSize ?? 400;
    this.maxBatchWait = options.maxBatchWait ?? 30_000;
    if (!(this.bufferSize > 0))
      throw new RangeError(`buffered: bufferSize ${this.bufferSize} must be positive`);
    if (!(this.maxBatchSize > 0)) {
      throw new RangeError(`buffered: maxBatchSize ${this.maxBatchSize} must be positive`);
    }
    if (options.throttleEnable ?? true) {
      this.throttle = new TokenBucket(options.throttleQPS ?? 10, options.throttleBurst ?? 15);
    }
    this.async = options.async ?? true;
    const delegateLimit = (delegate as { [MAX_IN_FLIGHT]?: number })[MAX_IN_FLIGHT];
    this.limit = options.maxInFlight ?? delegateLimit ?? Number.POSITIVE_INFINITY;
    if (options.spoolDir !== undefined) {
      this.spool = new Spool(options.spoolDir, options.spoolMaxBytes ?? 1024 ** 3);
      this.spooling = this.spool.hasData;
    }
    this.forward(delegate);
    this.loop = this.run();
  }

  /** Events queued and not yet handed to the delegate. */
  get queued(): number {
    return this.queue.length - this.head;
  }

  /** Queues copies of the events; never blocks and always returns true (drops are reported). */
  processEvents(events: readonly Event[]): boolean {
    if (this.closed) {
      this.drop(new SinkError("buffered", "audit backend shut down"), events.map(copy));
      return true;
    }
    for (let i = 0; i < events.length; i++) {
      let line: string;
      try {
        line = flat(encodeEvent(events[i]!));
      } catch (err) {
        this.report("error", "buffered", err as Error, [copy(events[i]!)]);
        continue;
      }
      if (this.spooling) {
        this.toSpool([line]);
        continue;
      }
      if (this.queued >= this.bufferSize) {
        const rest = [line];
        for (let j = i + 1; j < events.length; j++) {
          try {
            rest.push(encodeEvent(events[j]!));
          } catch (err) {
            this.report("error", "buffered", err as Error, [copy(events[j]!)]);
          }
        }
        if (this.spool) {
          this.spooling = true;
          this.toSpool(rest);
        } else {
          this.drop(
            new SinkError("buffered", "audit buffer queue blocked"),
            rest.map(decodeEncoded),
          );
        }
        break;
      }
      this.queue.push(line);
    }
    if (this.wake && (this.queued >= this.maxBatchSize || this.spooling)) this.signal();
    return true;
  }

  private toSpool(lines: string[]): void {
    try {
      if (this.spool!.append(lines)) return;
      this.drop(new SinkError("buffered", "audit spool full"), lines.map(decodeEncoded));
    } catch (err) {
      this.report(
        "error",
        "buffered",
        new SinkError("buffered", `audit spool write failed: ${(err as Error).message}`, {
          cause: err,
        }),
        lines.map(decodeEncoded),
      );
    }
  }

  private drop(error: Error, events: Event[]): void {
    this.report("drop", "buffered", error, events);
  }

  private signal(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private take(n: number): Encoded[] {
    const end = Math.min(this.queue.length, this.head + n);
    const batch = this.queue.slice(this.head, end);
    this.head = end;
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return batch;
  }

  // Collects up to maxBatchSize events; the wait timer starts anew with every collection, so it
  // measures the time since the previous dispatch (like the reference).
  private async collect(): Promise<Encoded[]> {
    if (this.queued >= this.maxBatchSize || this.stopping) return this.take(this.maxBatchSize);
    if (this.queued === 0 && this.spooling && this.spool) return [];
    let timer: NodeJS.Timeout | undefined;
    let fired = false;
    const useTimer = this.maxBatchSize > 1;
    try {
      while (this.queued < this.maxBatchSize && !this.stopping && !fired) {
        if (this.spooling) break;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          if (useTimer && timer === undefined) {
            timer = setTimeout(() => {
              fired = true;
              this.signal();
            }, this.maxBatchWait);
          }
        });
      }
    } finally {
      if (timer) clearTimeout(timer);
    }
    return this.take(this.maxBatchSize);
  }

  private async run(): Promise<void> {
    for (;;) {
      const batch = await this.collect();
      if (batch.length > 0) {
        await this.dispatch(batch);
        continue;
      }
      if (this.stopping && this.queued === 0) break;
      if (this.spooling && this.spool && !this.stopping) await this.drainSpoolSegment();
    }
    // Shutdown drains the spool too, each segment once: what fails again stays on disk for the
    // next start instead of being retried forever.
    if (this.spool)
      for (const seq of this.spool.snapshot()) await this.drainSpoolSegment(seq, false);
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private async drainSpoolSegment(only?: number, pauseOnFailure = true): Promise<void> {
    const spool = this.spool!;
    const seg = spool.take(only);
    if (!seg) {
      if (only === undefined) this.spooling = false;
      return;
    }
    const sends: Promise<boolean>[] = [];
    for (let i = 0; i < seg.lines.length; i += this.maxBatchSize) {
      const batch = seg.lines.slice(i, i + this.maxBatchSize);
      sends.push((await this.dispatchTracked(batch)).done);
    }
    const results = await Promise.all(sends);
    spool.ack(seg.seq);
    if (!spool.hasData) this.spooling = false;
    // Failed batches went back to the spool; do not spin on a receiver that is down.
    if (pauseOnFailure && results.includes(false))
      await new Promise((r) => setTimeout(r, SPOOL_RETRY_PAUSE));
  }

  private async dispatch(batch: Encoded[]): Promise<void> {
    await this.dispatchTracked(batch);
  }

  // Waits for the throttle and a free slot, starts the delivery, and returns its promise (already
  // settled when not async), boxed so that awaiting this function does not await the delivery.
  private async dispatchTracked(batch: Encoded[]): Promise<{ done: Promise<boolean> }> {
    if (this.throttle) await this.throttle.take();
    if (this.async) {
      while (this.inFlight.size >= this.limit) {
        await new Promise<void>((r) => {
          this.slotWaiter = r;
        });
      }
    }
    const p: Promise<boolean> = this.send(batch).finally(() => {
      this.inFlight.delete(p);
      const w = this.slotWaiter;
      this.slotWaiter = undefined;
      w?.();
    });
    this.inFlight.add(p);
    if (!this.async) await p;
    return { done: p };
  }

  private async send(batch: Encoded[]): Promise<boolean> {
    let ok: boolean;
    try {
      const d = this.delegate as Sink & {
        [PROCESS_ENCODED]?: (l: readonly string[]) => Promise<boolean>;
      };
      ok = d[PROCESS_ENCODED]
        ? await d[PROCESS_ENCODED](batch)
        : await this.delegate.processEvents(batch.map(decodeEncoded));
    } catch (err) {
      // The reference recovers a panicking delegate; the batch is lost unless spooled.
      if (!this.spool) {
        this.report("error", "buffered", err as Error, batch.map(decodeEncoded));
        return false;
      }
      ok = false;
    }
    // The delegate reported its own failure; with a spool the events are kept for later.
    if (!ok && this.spool) {
      this.spooling = true;
      this.toSpool(batch);
      this.signal();
    }
    return ok;
  }

  /**
   * Stops accepting events, sends the partial batch and everything queued (in batches of at
   * most maxBatchSize), waits for deliveries in flight, then shuts the delegate down.
   */
  shutdown(): Promise<void> {
    this.shutdownPromise ??= (async () => {
      this.closed = true;
      this.stopping = true;
      this.signal();
      await this.loop;
      this.spool?.close();
      await this.delegate.shutdown();
    })();
    return this.shutdownPromise;
  }

  override toString(): string {
    return `buffered<${this.delegate}>`;
  }
}

/**
 * The same string, flattened. `encodeEvent` builds a line as a rope of many small strings; kept
 * in the queue as it is, every garbage collection until its batch is sent copies each piece
 * again (at 4,000 queued, that tripled the CPU per event). Flattened now, while the pieces are
 * young and in cache, the queue holds one string per event and the pieces die at once.
 * (V8 flattens a string to count its UTF-8 bytes; a call into Node that the optimizer cannot
 * drop, unlike a pure string method whose result goes unused.)
 */
function flat(line: string): string {
  Buffer.byteLength(line);
  return line;
}

function copy(e: Event): Event {
  return structuredClone(e);
}

/** golang.org/x/time/rate-like token bucket: `burst` tokens, refilled at `qps` per second. */
class TokenBucket {
  private tokens: number;
  private last = performance.now();
  constructor(
    private readonly qps: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  async take(): Promise<void> {
    for (;;) {
      const now = performance.now();
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
      this.last = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await new Promise((r) => setTimeout(r, Math.ceil(((1 - this.tokens) / this.qps) * 1000)));
    }
  }
}

/**
 * Wraps a sink in the reference's batching backend: `processEvents` copies events into a queue
 * of `bufferSize` and returns true at once; batches of up to `maxBatchSize` are sent when full
 * or `maxBatchWait` after the previous dispatch, rate-limited by a token bucket, concurrently
 * when `async`. A full queue drops the event and the rest of its call, reported as a `drop`
 * with `audit buffer queue blocked` and counted under `plugin="buffered"` — or, with
 * `spoolDir`, writes them to disk for later delivery. `shutdown()` drains everything.
 *
 * @example
 * ```ts
 * const sink = buffered(createWebhookSink({ kubeconfig }), { throttleEnable: false });
 * sink.on("drop", ({ events, error }) => console.warn(error.message, events.length));
 * ```
 */
export function buffered(sink: Sink, options?: BufferedOptions): BufferedSink {
  return new BufferedSink(sink, options);
}
