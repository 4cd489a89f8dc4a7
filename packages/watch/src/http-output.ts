import { EventEmitter } from "node:events";
import { backoffDelays, parseRetryAfter } from "@kaudit/sinks";
import type { WatchAlert } from "./alert";
import type { AlertOutput, DropReason, OutputStats } from "./output";
import { DeliveryError, type HttpClientOptions, type JsonPoster, jsonPoster } from "./post-json";

/** Queueing and retries of an HTTP output. */
export interface HttpOutputOptions extends HttpClientOptions {
  /** Alerts waiting at most; more are dropped as `queue-full` (default 10 000). */
  queueSize?: number | undefined;
  /** Alerts per request (default 64). */
  batchSize?: number | undefined;
  /** Attempts per batch in all (default 5). */
  maxAttempts?: number | undefined;
  /** First sleep between attempts, ms (default 500; then ×2 with up to 20 % jitter). */
  initialBackoff?: number | undefined;
  /** Longest `Retry-After` honoured, ms (default 60 000). */
  maxRetryAfter?: number | undefined;
}

/**
 * An output that POSTs batches of alerts as JSON to one URL: a bounded queue, one batch in
 * flight at a time (so alerts arrive in order), retries with backoff for network errors,
 * timeouts, 408, 429 and 5xx (honouring `Retry-After`), and counted drops for the rest.
 */
export class HttpAlertOutput extends EventEmitter implements AlertOutput {
  readonly name: string;
  private readonly queue: WatchAlert[] = [];
  private readonly poster: JsonPoster;
  private readonly queueSize: number;
  private readonly batchSize: number;
  private readonly delays: number[];
  private readonly maxRetryAfter: number;
  private pumping: Promise<void> | undefined;
  private closing = false;
  private closed = false;
  private wake: (() => void) | undefined;
  private readonly counts: OutputStats = { sent: 0, dropped: 0, queued: 0, failures: 0 };

  constructor(
    name: string,
    url: string,
    private readonly encode: (alerts: WatchAlert[]) => string,
    options: HttpOutputOptions = {},
  ) {
    super();
    this.name = name;
    this.poster = jsonPoster(url, options);
    this.queueSize = options.queueSize ?? 10_000;
    this.batchSize = options.batchSize ?? 64;
    this.delays = backoffDelays({
      initial: options.initialBackoff ?? 500,
      factor: 2,
      jitter: 0.2,
      steps: options.maxAttempts ?? 5,
    });
    this.maxRetryAfter = options.maxRetryAfter ?? 60_000;
  }

  send(alert: WatchAlert): void {
    if (this.closing) this.drop("shutdown", 1);
    else if (this.queue.length >= this.queueSize) this.drop("queue-full", 1);
    else {
      this.queue.push(alert);
      if (!this.pumping) this.pumping = this.pump();
    }
  }

  stats(): OutputStats {
    return { ...this.counts, queued: this.queue.length };
  }

  async close(timeoutMs = 10_000): Promise<void> {
    if (this.closed) return;
    this.closing = true;
    const deadline = new Promise<void>((r) => setTimeout(r, timeoutMs).unref());
    // A backoff sleep would outlast a shutdown: cut it short and try once more now.
    this.wake?.();
    if (this.pumping) await Promise.race([this.pumping, deadline]);
    this.closed = true;
    this.wake?.();
    this.poster.destroy();
    if (this.pumping) await this.pumping;
    if (this.queue.length) this.drop("shutdown", this.queue.splice(0).length);
  }

  private drop(reason: DropReason, count: number, error?: Error): void {
    this.counts.dropped += count;
    this.emit("drop", { output: this.name, reason, count, error });
  }

  private async pump(): Promise<void> {
    // Start on the next turn, so the alerts of one event-loop turn leave in one batch.
    await new Promise<void>((r) => setImmediate(r));
    try {
      while (this.queue.length && !this.closed) {
        const batch = this.queue.splice(0, this.batchSize);
        await this.deliver(batch);
      }
    } finally {
      this.pumping = undefined;
    }
  }

  private async deliver(batch: WatchAlert[]): Promise<void> {
    const body = this.encode(batch);
    let last: Error | undefined;
    for (let attempt = 0; ; attempt++) {
      if (this.closed) return this.drop("shutdown", batch.length, last);
      try {
        await this.poster.post(body);
        this.counts.sent += batch.length;
        this.emit("sent", batch.length);
        return;
      } catch (e) {
        const err = e instanceof DeliveryError ? e : new DeliveryError(String(e), { cause: e });
        last = err;
        this.counts.failures++;
        const more = err.retryable && attempt < this.delays.length && !this.closed;
        this.emit("failure", { output: this.name, error: err, retrying: more });
        if (!more) {
          const reason = this.closed ? "shutdown" : err.retryable ? "failed" : "rejected";
          return this.drop(reason, batch.length, err);
        }
        const ra = parseRetryAfter(err.retryAfter);
        const wait =
          ra !== undefined ? Math.min(ra, this.maxRetryAfter) : (this.delays[attempt] ?? 0);
        // Shutting down: one last attempt at once instead of sleeping.
        if (!this.closing) await this.sleep(wait);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }
}
