import http from "node:http";
import https from "node:https";
import { urlToHttpOptions } from "node:url";
import type { Event } from "@kaudit/api";
import { KauditError } from "@kaudit/api";
import { backoffDelays, parseRetryAfter } from "./backoff";
import { decodeEncoded, encodeEvent } from "./encode";
import { type Kubeconfig, KubeconfigError, loadKubeconfig, type WebhookTarget } from "./kubeconfig";
import { ReportingBase, type ReportingOptions } from "./report";
import { eventListBuffer } from "./webhook-body";

/** Internal fast path: wrappers that already hold encoded events hand them over as strings. */
export const PROCESS_ENCODED = Symbol.for("kaudit.sinks.processEncoded");
/** Internal: how many calls a delegate runs at once, so a batching wrapper can stay below it. */
export const MAX_IN_FLIGHT = Symbol.for("kaudit.sinks.maxInFlight");

/** A webhook delivery failed (after its retries). */
export class WebhookError extends KauditError {
  /** The last HTTP status, when the receiver answered. */
  readonly status: number | undefined;
  constructor(message: string, status?: number, cause?: unknown) {
    super(message, { name: "WebhookError", cause });
    this.status = status;
  }
}

/** Options of {@link createWebhookSink}. All durations are milliseconds. */
export interface WebhookSinkOptions extends ReportingOptions {
  /** A kubeconfig file path, or a parsed kubeconfig (relative paths then resolve against `baseDir` or the cwd). */
  kubeconfig: string | Kubeconfig;
  /** Directory relative paths of a parsed `kubeconfig` are resolved against. Default: the cwd. */
  baseDir?: string;
  /** Allow a plain `http://` server. Default false: audit events carry secrets' metadata. */
  allowInsecureHttp?: boolean;
  /** Per-attempt timeout for the whole request, ms. Default 30000 (the reference's fixed value). */
  timeout?: number;
  /** First retry sleep, ms; later ones grow ×1.5 with 20 % jitter. Default 10000. */
  initialBackoff?: number;
  /** Attempts per call, retries included. Default 5 (the reference). */
  attempts?: number;
  /**
   * Calls delivering at once (including their retry sleeps); more wait for a slot. Default 64.
   * Bounds connections and memory when the receiver is slow.
   */
  maxInFlight?: number;
}

type Attempt = { ok: true } | { ok: false; error: WebhookError; retryAfter?: number | undefined };

/**
 * The webhook backend: each call POSTs one `EventList` to the kubeconfig's server.
 * See {@link createWebhookSink}.
 */
export class WebhookSink extends ReportingBase {
  readonly target: WebhookTarget;
  private readonly agent: http.Agent;
  private readonly timeout: number;
  private readonly delays: () => number[];
  private readonly maxInFlight: number;
  private readonly request: (
    options: http.RequestOptions,
    callback: (res: http.IncomingMessage) => void,
  ) => http.ClientRequest;
  private readonly requestOptions: http.RequestOptions;
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly pending = new Set<Promise<unknown>>();
  private closed = false;
  private aborted: WebhookError | undefined;
  private wakeSleepers: (() => void)[] = [];

  constructor(options: WebhookSinkOptions) {
    super(options);
    const baseDir = options.baseDir === undefined ? undefined : { baseDir: options.baseDir };
    this.target = loadKubeconfig(options.kubeconfig, baseDir);
    const file = typeof options.kubeconfig === "string" ? options.kubeconfig : undefined;
    if (this.target.url.protocol === "http:" && !options.allowInsecureHttp) {
      throw new KubeconfigError(
        `refusing plain http webhook server ${this.target.url.href}: use https, or set allowInsecureHttp`,
        file,
      );
    }
    if (this.target.url.protocol !== "http:" && this.target.url.protocol !== "https:") {
      throw new KubeconfigError(
        `unsupported webhook server scheme ${this.target.url.protocol}`,
        file,
      );
    }
    this.timeout = options.timeout ?? 30_000;
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 64);
    const initial = options.initialBackoff ?? 10_000;
    const steps = Math.max(1, options.attempts ?? 5);
    this.delays = () => backoffDelays({ initial, factor: 1.5, jitter: 0.2, steps });
    const agentOptions = {
      keepAlive: true,
      maxSockets: this.maxInFlight,
      maxFreeSockets: this.maxInFlight,
    };
    if (this.target.url.protocol === "https:") {
      const t = this.target;
      this.agent = new https.Agent({
        ...agentOptions,
        ...(t.ca !== undefined ? { ca: t.ca } : {}),
        ...(t.cert !== undefined ? { cert: t.cert } : {}),
        ...(t.key !== undefined ? { key: t.key } : {}),
        ...(t.serverName !== undefined ? { servername: t.serverName } : {}),
        rejectUnauthorized: !t.insecureSkipTLSVerify,
        minVersion: "TLSv1.2",
      });
    } else {
      this.agent = new http.Agent(agentOptions);
    }
    // The URL taken apart once rather than for every request.
    const url = this.target.url;
    this.request = url.protocol === "https:" ? https.request : http.request;
    this.requestOptions = { ...urlToHttpOptions(url), method: "POST", agent: this.agent };
  }

  get [MAX_IN_FLIGHT](): number {
    return this.maxInFlight;
  }

  /** POSTs the events as one EventList; resolves false (and reports) when every attempt failed. */
  processEvents(events: readonly Event[]): Promise<boolean> {
    const encoded: string[] = [];
    const failed: Event[] = [];
    let firstError: Error | undefined;
    for (const e of events) {
      try {
        encoded.push(encodeEvent(e));
      } catch (err) {
        firstError ??= err as Error;
        failed.push(e);
      }
    }
    if (failed.length > 0) {
      this.report(
        "error",
        "webhook",
        firstError as Error,
        failed.map((e) => ({ ...e })),
      );
    }
    return this[PROCESS_ENCODED](encoded).then((ok) => ok && failed.length === 0);
  }

  /** Same as processEvents for already-encoded events (each `encodeEvent` output). */
  [PROCESS_ENCODED](encoded: readonly string[]): Promise<boolean> {
    if (this.aborted) {
      this.report("error", "webhook", this.aborted, encoded.map(decodeEncoded));
      return Promise.resolve(false);
    }
    if (this.closed) {
      this.report(
        "error",
        "webhook",
        new WebhookError("audit backend shut down"),
        encoded.map(decodeEncoded),
      );
      return Promise.resolve(false);
    }
    // Like the reference, an empty call still POSTs an (empty) EventList.
    const p = this.deliver(encoded);
    this.pending.add(p);
    p.finally(() => this.pending.delete(p));
    return p;
  }

  private async deliver(encoded: readonly string[]): Promise<boolean> {
    await this.acquire();
    try {
      if (this.aborted) {
        this.report("error", "webhook", this.aborted, encoded.map(decodeEncoded));
        return false;
      }
      const body = eventListBuffer(encoded);
      let delays: number[] | undefined; // drawn at the first failure: most batches never need them
      let last: WebhookError | undefined;
      for (let attempt = 0; ; attempt++) {
        const result = await this.attempt(body);
        if (result.ok) return true;
        last = result.error;
        delays ??= this.delays();
        if (attempt >= delays.length || this.aborted) break;
        await this.pause(delays[attempt]!);
      }
      this.report("error", "webhook", this.aborted ?? last, encoded.map(decodeEncoded));
      return false;
    } finally {
      this.release();
    }
  }

  // One attempt as client-go makes it: a 429/5xx answer carrying Retry-After is re-sent after
  // that long, up to 10 times, before it counts as a failed attempt.
  private async attempt(body: Buffer): Promise<Attempt> {
    let result: Attempt = { ok: true };
    for (let resend = 0; resend <= 10; resend++) {
      result = await this.post(body);
      if (result.ok || result.retryAfter === undefined || resend === 10 || this.aborted)
        return result;
      await this.pause(result.retryAfter);
    }
    return result;
  }

  private post(body: Buffer): Promise<Attempt> {
    const url = this.target.url;
    const headers: http.OutgoingHttpHeaders = {
      "Content-Type": "application/json",
      Accept: "application/json, */*",
      "Content-Length": body.length,
      "User-Agent": "kaudit-sinks",
    };
    const auth = this.target.authorization?.();
    if (auth) headers.Authorization = auth;
    return new Promise<Attempt>((resolve) => {
      let settled = false;
      const done = (a: Attempt) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(a);
      };
      const req = this.request({ ...this.requestOptions, headers }, (res) => {
        const status = res.statusCode ?? 0;
        res.on("error", () => {});
        res.resume();
        res.on("end", () => {
          if (status >= 200 && status <= 206) return done({ ok: true });
          const retryAfter =
            status === 429 || status >= 500
              ? parseRetryAfter(res.headers["retry-after"])
              : undefined;
          done({
            ok: false,
            error: new WebhookError(
              `Post "${url.href}": the server responded with status ${status} ${http.STATUS_CODES[status] ?? ""}`.trimEnd(),
              status,
            ),
            retryAfter,
          });
        });
      });
      const timer = setTimeout(() => {
        const error = new WebhookError(
          `Post "${url.href}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`,
        );
        done({ ok: false, error });
        req.destroy(error);
      }, this.timeout);
      req.on("error", (err) => {
        done({
          ok: false,
          error: new WebhookError(`Post "${url.href}": ${err.message}`, undefined, err),
        });
      });
      req.end(body);
    });
  }

  private acquire(): Promise<void> {
    if (this.inFlight < this.maxInFlight) {
      this.inFlight++;
      return Promise.resolve();
    }
    return new Promise((r) => this.waiting.push(r));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.inFlight--;
  }

  /** A retry sleep that {@link abort} cuts short. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.wakeSleepers = this.wakeSleepers.filter((w) => w !== done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.wakeSleepers.push(done);
    });
  }

  /**
   * Gives up on delivery (a shutdown's deadline passed): requests in flight are cut, retry
   * sleeps end, and every undelivered event — those in flight and any handed over later — is
   * reported as an `error` with `reason` and counted, instead of being retried.
   */
  abort(reason: string): void {
    if (this.aborted) return;
    this.aborted = new WebhookError(reason);
    for (const w of [...this.wakeSleepers]) w();
    this.agent.destroy();
  }

  /** Waits for calls in flight (with their retries), then closes the connections. */
  async shutdown(): Promise<void> {
    this.closed = true;
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    this.agent.destroy();
  }

  override toString(): string {
    return "webhook";
  }
}

/**
 * The webhook backend (k8s.io/apiserver plugin/pkg/audit/webhook): every call POSTs one
 * `EventList` (`Content-Type: application/json`) to the server of the kubeconfig's current
 * context; 200–206 is success. Any failure is retried like the reference (5 attempts, sleeping
 * `initialBackoff` × 1.5ⁿ with 20 % jitter; a 429/5xx `Retry-After` is honoured), each attempt
 * bounded by `timeout`. A call resolves `false` and emits `error` when all attempts failed.
 *
 * @example
 * ```ts
 * const sink = createWebhookSink({ kubeconfig: "/etc/kubernetes/audit-webhook.yaml" });
 * await sink.processEvents([event]);
 * await sink.shutdown();
 * ```
 */
export function createWebhookSink(options: WebhookSinkOptions): WebhookSink {
  return new WebhookSink(options);
}
