import http from "node:http";
import https from "node:https";
import { KauditError } from "@kaudit/api";

/** TLS and authentication of an HTTP output. Verification is on unless turned off. */
export interface HttpClientOptions {
  /** PEM CA bundle to verify the server with (default: Node's roots). */
  ca?: string | Buffer | undefined;
  /** Client certificate and key (PEM), for receivers that want mTLS. */
  cert?: string | Buffer | undefined;
  key?: string | Buffer | undefined;
  /** Skip server certificate verification (default false; say so in logs if you do). */
  insecureSkipVerify?: boolean | undefined;
  /** Extra request headers, e.g. `Authorization: Bearer …`. */
  headers?: Record<string, string> | undefined;
  /** Per attempt, ms (default 10 000). */
  timeout?: number | undefined;
}

/** A failed HTTP delivery: a status the receiver answered, or a network error. */
export class DeliveryError extends KauditError {
  /** The HTTP status, when the receiver answered. */
  readonly status: number | undefined;
  /** `Retry-After` of a 429/503, as the receiver sent it. */
  readonly retryAfter: string | undefined;
  constructor(
    message: string,
    options: { status?: number; retryAfter?: string | undefined; cause?: unknown } = {},
  ) {
    super(message, { name: "DeliveryError", cause: options.cause });
    this.status = options.status;
    this.retryAfter = options.retryAfter;
  }
  /** Worth trying again: network errors, timeouts, 408, 429 and 5xx. */
  get retryable(): boolean {
    const s = this.status;
    return s === undefined || s === 408 || s === 429 || s >= 500;
  }
}

/** A POSTer of JSON bodies to one URL over one keep-alive agent. */
export interface JsonPoster {
  /** Resolves with the status on 2xx; rejects with {@link DeliveryError} otherwise. */
  post(body: string): Promise<number>;
  /** Cuts in-flight requests short and frees the sockets. */
  destroy(): void;
}

const MAX_ERROR_BODY = 512;

/** Makes a {@link JsonPoster} for `url` (http or https). */
export function jsonPoster(url: string, options: HttpClientOptions = {}): JsonPoster {
  const target = new URL(url);
  const isHttps = target.protocol === "https:";
  if (!isHttps && target.protocol !== "http:") {
    throw new KauditError(`${url}: only http:// and https:// URLs can receive alerts`, {
      name: "DeliveryError",
    });
  }
  const agent = isHttps
    ? new https.Agent({
        keepAlive: true,
        maxSockets: 4,
        ca: options.ca,
        cert: options.cert,
        key: options.key,
        rejectUnauthorized: !options.insecureSkipVerify,
      })
    : new http.Agent({ keepAlive: true, maxSockets: 4 });
  const timeout = options.timeout ?? 10_000;
  const live = new Set<http.ClientRequest>();
  return {
    post(body: string) {
      return new Promise<number>((resolve, reject) => {
        const req = (isHttps ? https : http).request(
          target,
          {
            method: "POST",
            agent,
            headers: {
              ...options.headers,
              "Content-Type": "application/json",
              "Content-Length": Buffer.byteLength(body),
            },
          },
          (res) => {
            const status = res.statusCode ?? 0;
            const chunks: Buffer[] = [];
            let size = 0;
            res.on("data", (b: Buffer) => {
              // keep only the start of an error body, for the message
              if (size < MAX_ERROR_BODY) chunks.push(b);
              size += b.length;
            });
            res.on("end", () => {
              live.delete(req);
              if (status >= 200 && status < 300) return resolve(status);
              const text = Buffer.concat(chunks).toString("utf8").slice(0, MAX_ERROR_BODY).trim();
              const ra = res.headers["retry-after"];
              reject(
                new DeliveryError(`${url}: HTTP ${status}${text ? `: ${text}` : ""}`, {
                  status,
                  retryAfter: Array.isArray(ra) ? ra[0] : ra,
                }),
              );
            });
            res.on("error", (e) => {
              live.delete(req);
              reject(new DeliveryError(`${url}: ${e.message}`, { cause: e }));
            });
          },
        );
        live.add(req);
        req.setTimeout(timeout, () => req.destroy(new Error(`no answer within ${timeout} ms`)));
        req.on("error", (e) => {
          live.delete(req);
          reject(new DeliveryError(`${url}: ${e.message}`, { cause: e }));
        });
        req.end(body);
      });
    },
    destroy() {
      for (const req of live) req.destroy(new Error("output closed"));
      live.clear();
      agent.destroy();
    },
  };
}
