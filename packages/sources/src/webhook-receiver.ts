import type { IncomingMessage, ServerResponse } from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import {
  API_VERSION,
  decodeEvent,
  decodeEventList,
  type Event,
  GROUP,
  upgradeEvent,
} from "@kaudit/api";
import { SourceReadError } from "./errors";
import { DEFAULT_MAX_DEPTH, measureJSON } from "./json-limits";
import { statusBody } from "./k8s-status";
import { SourceEmitter, type SourceStats } from "./source-stats";
import { loadTokenFile, type TokenUser } from "./token-file";

/** Options of {@link createWebhookReceiver}. Sizes are bytes, durations milliseconds. */
export interface WebhookReceiverOptions {
  /** Address to listen on. Default `127.0.0.1`. */
  host?: string;
  /** Port; 0 picks a free one. Default 0. */
  port?: number;
  /** The only path events are accepted at (kube posts to its kubeconfig's `server` URL). Default `/`. */
  path?: string;
  /** The server certificate and key (PEM); `clientCA` requires and verifies client certificates. */
  tls: { cert: string | Buffer; key: string | Buffer; clientCA?: string | Buffer };
  /** kube's static token CSV (`token,user,uid[,"groups"]`): `Authorization: Bearer` tokens accepted. */
  tokenFile?: string;
  /** Called with what kube only warns about at start (an empty or repeated token in `tokenFile`). Default: ignored. */
  onWarning?: (message: string) => void;
  /** With neither `clientCA` nor `tokenFile`, accept anyone who reaches the port. Default false (refused at start). */
  allowAnonymous?: boolean;
  /** User names (certificate CN or token user) allowed to post; others get 403. Default: every authenticated user. */
  allowedUsers?: readonly string[];
  /** Largest body; larger gets 413 (a declared larger Content-Length at once, unread). Default 12 MiB, Falco's. */
  maxBodyBytes?: number;
  /** Largest single event, as compact JSON; larger ones are dropped and counted. Default 256 KiB, Falco's. */
  maxEventBytes?: number;
  /** Deepest nesting of an event; deeper ones are dropped and counted. Default 1000. */
  maxDepth?: number;
  /** Events waiting for the consumer at most; a request beyond it gets 429 at once. Default 10000. */
  maxQueuedEvents?: number;
  /** How long a request waits for the consumer to take its events before it gets 429. Default 5000. */
  queueTimeout?: number;
  /** `Retry-After` seconds sent with 429 and 503. Default 1. */
  retryAfter?: number;
  /** Recent (auditID, stage) pairs remembered to drop re-sent events (a retry after a lost 200); 0 = off. Default 10000. */
  dedupeWindow?: number;
  /** Connections at once. Default 1024. */
  maxConnections?: number;
  /**
   * The consumer: called with one batch at a time, in arrival order; the request is answered 200
   * when the returned promise resolves, 500 when it rejects (the sender retries). Without it,
   * iterate the receiver (`for await (const batch of receiver)`).
   */
  onEvents?: (batch: ReceivedBatch) => void | Promise<void>;
}

/** One accepted request's events. */
export interface ReceivedBatch {
  /** The events, upgraded to audit.k8s.io/v1, in the order they were posted. */
  events: Event[];
  /** Who sent them: the client certificate's CN, the token's user, or `system:anonymous`. */
  user: string;
  /** The client's address. */
  remoteAddress: string;
}

/** A receiver's counters: {@link SourceStats} plus per-request ones. */
export interface WebhookReceiverStats extends SourceStats {
  /** Requests seen. */
  requests: number;
  /** Requests answered 200. */
  accepted: number;
  /** Requests answered 4xx other than 429. */
  rejected: number;
  /** Requests answered 429 (the consumer was behind). */
  throttled: number;
}

interface Queued {
  batch: ReceivedBatch;
  keys: string[];
  taken: boolean;
  timer: NodeJS.Timeout | undefined;
  settle: (code: number, message: string) => void;
}

const AUDIT_VERSIONS = new Set([API_VERSION, `${GROUP}/v1beta1`, `${GROUP}/v1alpha1`]);
const ANONYMOUS = "system:anonymous";
const peerNames = new WeakMap<TLSSocket, string>();

function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return `a ${typeof v}`;
}

/** A JSON.parse failure described without quoting the body (V8's message carries an excerpt). */
function parseFailure(e: unknown): string {
  const at = /position (\d+)/.exec(String((e as Error)?.message))?.[1];
  return at === undefined
    ? "request body is not valid JSON"
    : `request body is not valid JSON (at character ${at})`;
}

/** The events of a parsed body, or why it is not audit events. */
function itemsOf(value: unknown): { items: unknown[]; version?: string } | { error: string } {
  if (Array.isArray(value)) return { items: value };
  if (typeof value !== "object" || value === null)
    return {
      error: `expected an audit.k8s.io EventList, Event or array of events, got ${kindOf(value)}`,
    };
  const v = value as Record<string, unknown>;
  if (v.apiVersion !== undefined && !AUDIT_VERSIONS.has(v.apiVersion as string))
    return { error: `apiVersion must be ${API_VERSION} (or v1beta1, v1alpha1)` };
  const version = v.apiVersion as string | undefined;
  if (v.kind === "EventList" || (v.kind === undefined && "items" in v)) {
    if (!Array.isArray(v.items)) return { error: `items must be an array, got ${kindOf(v.items)}` };
    return version === undefined ? { items: v.items } : { items: v.items, version };
  }
  if (v.kind === "Event" || (v.kind === undefined && "auditID" in v)) return { items: [v] };
  return { error: "expected kind EventList or Event" };
}

/** Why an item is not an audit event, or undefined when it is one. */
function itemProblem(item: unknown): string | undefined {
  if (typeof item !== "object" || item === null || Array.isArray(item))
    return `expected an audit event object, got ${kindOf(item)}`;
  const e = item as Record<string, unknown>;
  if (e.kind !== undefined && e.kind !== "Event") return "kind must be Event";
  if (e.apiVersion !== undefined && !AUDIT_VERSIONS.has(e.apiVersion as string))
    return `apiVersion must be ${API_VERSION} (or v1beta1, v1alpha1)`;
  if (typeof e.auditID !== "string" || typeof e.stage !== "string")
    return "not an audit event: auditID and stage must be strings";
  return undefined;
}

/**
 * kube-apiserver's audit webhook endpoint (the server its `--audit-webhook-config-file` points
 * at). See {@link createWebhookReceiver}. An EventEmitter: `skip`, `drop` and `duplicate`
 * reports as {@link SourceReport}s, counted in {@link WebhookReceiver.stats}.
 */
export class WebhookReceiver extends SourceEmitter implements AsyncIterable<ReceivedBatch> {
  override readonly stats: WebhookReceiverStats = {
    read: 0,
    skipped: 0,
    dropped: 0,
    duplicated: 0,
    requests: 0,
    accepted: 0,
    rejected: 0,
    throttled: 0,
  };
  /** `https://host:port/path` once listening. */
  url = "";
  /** The port listened on. */
  port = 0;
  private readonly server: https.Server;
  private readonly o: Required<
    Omit<
      WebhookReceiverOptions,
      "tls" | "tokenFile" | "onWarning" | "allowedUsers" | "onEvents" | "host" | "port"
    >
  >;
  private readonly tokens: Map<string, TokenUser> | undefined;
  private readonly certAuth: boolean;
  private readonly allowed: Set<string> | undefined;
  private handler: ((batch: ReceivedBatch) => void | Promise<void>) | undefined;
  private readonly queue: Queued[] = [];
  private readonly waiting: { start: () => void }[] = [];
  private queuedEvents = 0;
  private pumping = false;
  private readonly seen = new Map<string, true>();
  private closing = false;
  private iterating = false;
  private endIteration: (() => void) | undefined;

  constructor(options: WebhookReceiverOptions) {
    super();
    if (!options?.tls?.cert || !options.tls.key)
      throw new SourceReadError(
        "option",
        "createWebhookReceiver",
        "tls.cert and tls.key are required",
      );
    this.certAuth = options.tls.clientCA !== undefined;
    this.tokens =
      options.tokenFile === undefined
        ? undefined
        : loadTokenFile(options.tokenFile, { onWarning: options.onWarning });
    if (!this.certAuth && !this.tokens && !options.allowAnonymous) {
      throw new SourceReadError(
        "option",
        "createWebhookReceiver",
        "set tls.clientCA or tokenFile to authenticate senders (or allowAnonymous: true)",
      );
    }
    this.allowed = options.allowedUsers ? new Set(options.allowedUsers) : undefined;
    this.o = {
      path: options.path ?? "/",
      allowAnonymous: options.allowAnonymous ?? false,
      maxBodyBytes: options.maxBodyBytes ?? 12 * 1024 * 1024,
      maxEventBytes: options.maxEventBytes ?? 256 * 1024,
      maxDepth: options.maxDepth ?? DEFAULT_MAX_DEPTH,
      maxQueuedEvents: options.maxQueuedEvents ?? 10_000,
      queueTimeout: options.queueTimeout ?? 5_000,
      retryAfter: options.retryAfter ?? 1,
      dedupeWindow: options.dedupeWindow ?? 10_000,
      maxConnections: options.maxConnections ?? 1024,
    };
    this.handler = options.onEvents;
    this.server = https.createServer(
      {
        cert: options.tls.cert,
        key: options.tls.key,
        minVersion: "TLSv1.2",
        // Verified here but refused in the handler with a 401 (not a bare handshake failure), so
        // a token can stand in for a certificate and the client learns why.
        ...(this.certAuth
          ? { ca: options.tls.clientCA, requestCert: true, rejectUnauthorized: false }
          : {}),
      },
      (req, res) => this.onRequest(req, res),
    );
    // Expect: 100-continue — decide before the client sends its body.
    this.server.on("checkContinue", (req, res) => {
      if (this.refuseEarly(req, res)) return;
      res.writeContinue();
      this.admit(req, res);
    });
    this.server.maxConnections = this.o.maxConnections;
    this.server.headersTimeout = 20_000;
    this.server.requestTimeout = 60_000;
    this.server.keepAliveTimeout = 65_000;
    this.server.on("clientError", (_err, socket) => socket.destroy());
  }

  /** Starts listening; resolves once the port is known. */
  listen(host = "127.0.0.1", port = 0): Promise<this> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        this.server.off("error", reject);
        this.port = (this.server.address() as AddressInfo).port;
        const h = host.includes(":") ? `[${host}]` : host;
        this.url = `https://${h}:${this.port}${this.o.path}`;
        resolve(this);
      });
    });
  }

  private reply(res: ServerResponse, code: number, message: string, close = false): void {
    if (res.headersSent || res.destroyed) return;
    const retry = code === 429 || code === 503 ? this.o.retryAfter : undefined;
    const body = statusBody(code, message, retry);
    const headers: Record<string, string | number> = {
      "Content-Type": "application/json",
      "Content-Length": Buffer.byteLength(body),
    };
    if (retry !== undefined) headers["Retry-After"] = retry;
    if (code === 405) headers.Allow = "POST";
    if (close) headers.Connection = "close";
    if (code === 200) this.stats.accepted++;
    else if (code === 429) this.stats.throttled++;
    else if (code >= 400 && code < 500) {
      this.stats.rejected++;
      this.count("skip", {
        reason: String(code),
        count: 1,
        where: res.req.socket.remoteAddress ?? "",
        message,
      });
    }
    res.writeHead(code, headers);
    if (close) {
      // The body is not read: end the connection rather than drain an unbounded upload.
      res.end(body, () => res.req.socket.destroy());
    } else res.end(body);
  }

  /** Who the request authenticates as, or the 401/403 to answer. */
  private authenticate(req: IncomingMessage): { user: string } | { code: number; message: string } {
    let user: string | undefined;
    const auth = req.headers.authorization;
    if (this.tokens && auth !== undefined) {
      const m = /^Bearer +(\S+) *$/i.exec(auth);
      const u = m ? this.tokens.get(m[1]!) : undefined;
      if (!u) return { code: 401, message: "Unauthorized: invalid bearer token" };
      user = u.name;
    } else if (this.certAuth) {
      const socket = req.socket as TLSSocket;
      if (socket.authorized) {
        // one certificate per connection: read it once, not per request
        user = peerNames.get(socket);
        if (user === undefined) {
          user = String(socket.getPeerCertificate()?.subject?.CN ?? "");
          peerNames.set(socket, user);
        }
      } else if (!this.tokens || auth === undefined) {
        return {
          code: 401,
          message: "Unauthorized: a client certificate signed by the receiver's CA is required",
        };
      }
    }
    if (user === undefined) {
      if (!this.o.allowAnonymous)
        return { code: 401, message: "Unauthorized: credentials required" };
      user = ANONYMOUS;
    }
    if (this.allowed && !this.allowed.has(user))
      return {
        code: 403,
        message: `Forbidden: user ${JSON.stringify(user)} may not post audit events`,
      };
    return { user };
  }

  /** Everything decided from the request line and headers; true when already answered. */
  private refuseEarly(req: IncomingMessage, res: ServerResponse): boolean {
    this.stats.requests++;
    const who = this.authenticate(req);
    if ("code" in who) {
      this.reply(res, who.code, who.message, true);
      return true;
    }
    (req as IncomingMessage & { kauditUser?: string }).kauditUser = who.user;
    const q = (req.url ?? "").indexOf("?");
    const path = q === -1 ? req.url : req.url!.slice(0, q);
    if (path !== this.o.path) {
      this.reply(res, 400, `audit events are accepted at ${this.o.path} only`, true);
      return true;
    }
    if (req.method !== "POST") {
      this.reply(res, 405, `method ${req.method} not allowed: POST audit events`, true);
      return true;
    }
    const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
    if (type !== "application/json") {
      this.reply(res, 415, "Content-Type must be application/json", true);
      return true;
    }
    const declared = req.headers["content-length"];
    if (declared !== undefined && Number(declared) > this.o.maxBodyBytes) {
      this.reply(res, 413, `request body larger than ${this.o.maxBodyBytes} bytes`, true);
      return true;
    }
    if (this.closing) {
      this.reply(res, 503, "receiver is shutting down", true);
      return true;
    }
    return false;
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    if (this.refuseEarly(req, res)) return;
    this.admit(req, res);
  }

  /**
   * Reads the body now if the queue has room; otherwise the request waits, its body unread (TCP
   * holds the sender back), until the consumer makes room or `queueTimeout` passes (429).
   */
  private admit(req: IncomingMessage, res: ServerResponse): void {
    if (this.queuedEvents < this.o.maxQueuedEvents && this.waiting.length === 0) {
      this.readBody(req, res);
      return;
    }
    const w = {
      start: () => {
        clearTimeout(timer);
        this.readBody(req, res);
      },
    };
    const timer = setTimeout(() => {
      const i = this.waiting.indexOf(w);
      if (i !== -1) this.waiting.splice(i, 1);
      this.reply(res, 429, "the consumer is behind: retry later", true);
    }, this.o.queueTimeout);
    res.on("close", () => {
      const i = this.waiting.indexOf(w);
      if (i !== -1) {
        this.waiting.splice(i, 1);
        clearTimeout(timer);
      }
    });
    this.waiting.push(w);
  }

  /** Lets waiting requests in while the queue has room. */
  private admitWaiting(): void {
    while (this.waiting.length > 0 && this.queuedEvents < this.o.maxQueuedEvents) {
      this.waiting.shift()!.start();
    }
  }

  private readBody(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on("data", (c: Buffer) => {
      if (over) return;
      size += c.length;
      if (size > this.o.maxBodyBytes) {
        over = true;
        chunks.length = 0;
        this.reply(res, 413, `request body larger than ${this.o.maxBodyBytes} bytes`, true);
        return;
      }
      chunks.push(c);
    });
    req.on("error", () => {});
    req.on("end", () => {
      if (over) return;
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      chunks.length = 0;
      try {
        this.accept(req, res, body);
      } catch (e) {
        // Nothing a client sends may end the process; an unexpected failure is the sender's 500.
        this.reply(res, 500, `internal error: ${(e as Error)?.name ?? "error"}`);
      }
    });
  }

  private accept(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    const where = req.socket.remoteAddress ?? "";
    let parsed: unknown;
    try {
      // JSON.parse is iterative in V8 (any depth is safe to parse); each event's depth is
      // checked next, so one deep event is dropped rather than its whole batch refused. With
      // request/response bodies in the text, decodeEventList also keeps their exact text.
      const text = body.toString("utf8");
      const c = text.charCodeAt(text.search(/\S/));
      const bodies = text.includes('Object"');
      const any = { maxDepth: Number.POSITIVE_INFINITY };
      if (c === 0x5b) {
        parsed = bodies ? decodeEventList(`{"items":${text}}`, any).items : JSON.parse(text);
      } else if (c === 0x7b && bodies) {
        parsed = decodeEventList(text, any);
        const v = parsed as Record<string, unknown>;
        if (!Array.isArray(v.items) && v.kind === "Event") parsed = decodeEvent(text, any);
      } else parsed = JSON.parse(text) as unknown;
    } catch (e) {
      this.reply(res, 400, parseFailure(e));
      return;
    }
    const found = itemsOf(parsed);
    if ("error" in found) {
      this.reply(res, 400, found.error);
      return;
    }
    for (let i = 0; i < found.items.length; i++) {
      const problem = itemProblem(found.items[i]);
      if (problem !== undefined) {
        this.reply(res, 400, `items[${i}]: ${problem}`);
        return;
      }
    }
    const events: Event[] = [];
    const keys: string[] = [];
    let tooBig = 0;
    let tooDeep = 0;
    let dup = 0;
    const batchKeys = this.o.dedupeWindow > 0 ? new Set<string>() : undefined;
    for (const item of found.items as Record<string, unknown>[]) {
      const m = measureJSON(item, this.o.maxDepth);
      if (m.tooDeep) {
        tooDeep++;
        continue;
      }
      if (
        m.maxBytes > this.o.maxEventBytes &&
        Buffer.byteLength(JSON.stringify(item)) > this.o.maxEventBytes
      ) {
        tooBig++;
        continue;
      }
      if (batchKeys) {
        const key = `${item.auditID as string}\u0000${item.stage as string}`;
        if (this.seen.has(key) || batchKeys.has(key)) {
          dup++;
          continue;
        }
        batchKeys.add(key);
        keys.push(key);
      }
      const version = (item.apiVersion as string | undefined) ?? found.version;
      // kube's EventList items carry no kind/apiVersion; a v1 item is kept as it came (the
      // encoders write both anyway), only older versions and leftovers are converted.
      const needsUpgrade =
        (version !== undefined && version !== API_VERSION) ||
        "timestamp" in item ||
        "metadata" in item;
      events.push(
        needsUpgrade
          ? upgradeEvent(item, found.version ? { apiVersion: found.version } : {})
          : (item as unknown as Event),
      );
    }
    if (tooDeep > 0)
      this.count("drop", {
        reason: "too deep",
        count: tooDeep,
        where,
        message: `${tooDeep} event(s) nested deeper than ${this.o.maxDepth} levels dropped`,
      });
    if (tooBig > 0)
      this.count("drop", {
        reason: "too large",
        count: tooBig,
        where,
        message: `${tooBig} event(s) larger than ${this.o.maxEventBytes} bytes dropped`,
      });
    if (dup > 0)
      this.count("duplicate", {
        reason: "already received",
        count: dup,
        where,
        message: `${dup} event(s) received before (same auditID and stage) not handed over again`,
      });
    if (events.length === 0) {
      this.reply(res, 200, "");
      return;
    }
    const user = (req as IncomingMessage & { kauditUser?: string }).kauditUser ?? ANONYMOUS;
    this.enqueue(res, { events, user, remoteAddress: where }, keys);
  }

  private enqueue(res: ServerResponse, batch: ReceivedBatch, keys: string[]): void {
    if (this.closing) {
      this.reply(res, 503, "receiver is shutting down");
      return;
    }
    const q: Queued = {
      batch,
      keys,
      taken: false,
      timer: undefined,
      settle: (code, message) => this.reply(res, code, message),
    };
    q.timer = setTimeout(() => {
      if (q.taken) return;
      this.withdraw(q);
      this.reply(res, 429, "the consumer is behind: retry later");
    }, this.o.queueTimeout);
    // A sender that gave up (its timeout) must not have its events handed over after all: it
    // will send them again.
    res.on("close", () => {
      if (!q.taken && !res.writableFinished) this.withdraw(q);
    });
    this.queue.push(q);
    this.queuedEvents += batch.events.length;
    this.pump();
  }

  private withdraw(q: Queued): void {
    const i = this.queue.indexOf(q);
    if (i === -1) return;
    this.queue.splice(i, 1);
    this.queuedEvents -= q.batch.events.length;
    clearTimeout(q.timer);
    this.admitWaiting();
  }

  private remember(keys: string[]): void {
    const window = this.o.dedupeWindow;
    if (window <= 0) return;
    for (const k of keys) this.seen.set(k, true);
    if (this.seen.size > window) {
      let excess = this.seen.size - window;
      for (const k of this.seen.keys()) {
        if (excess-- <= 0) break;
        this.seen.delete(k);
      }
    }
  }

  private pump(): void {
    if (this.pumping || !this.handler) return;
    this.pumping = true;
    void (async () => {
      while (this.queue.length > 0 && this.handler) {
        const q = this.queue.shift()!;
        this.queuedEvents -= q.batch.events.length;
        clearTimeout(q.timer);
        q.taken = true;
        this.admitWaiting();
        this.stats.read += q.batch.events.length;
        try {
          await this.handler(q.batch);
          this.remember(q.keys);
          q.settle(200, "");
        } catch (e) {
          this.stats.read -= q.batch.events.length;
          q.settle(500, `the consumer failed: ${(e as Error)?.message ?? String(e)}`);
        }
      }
      this.pumping = false;
    })();
  }

  /**
   * Batches in arrival order. A batch's request is answered 200 when you ask for the next one
   * (or leave the loop), so a batch is acknowledged only after your loop body ran for it.
   */
  [Symbol.asyncIterator](): AsyncIterator<ReceivedBatch> {
    if (this.handler || this.iterating)
      throw new SourceReadError(
        "option",
        "createWebhookReceiver",
        "the receiver already has a consumer (onEvents or another loop)",
      );
    this.iterating = true;
    let waiter: ((r: IteratorResult<ReceivedBatch>) => void) | undefined;
    let held: { batch: ReceivedBatch; ack: () => void } | undefined;
    let ack: (() => void) | undefined;
    let done = false;
    const finish = () => {
      done = true;
      ack?.();
      ack = undefined;
      if (waiter) waiter({ value: undefined, done: true });
      waiter = undefined;
    };
    this.endIteration = finish;
    this.handler = (batch) =>
      new Promise<void>((resolve) => {
        if (waiter) {
          const w = waiter;
          waiter = undefined;
          ack = resolve;
          w({ value: batch, done: false });
        } else held = { batch, ack: resolve };
      });
    this.pump();
    return {
      next: () => {
        ack?.();
        ack = undefined;
        if (held) {
          const h = held;
          held = undefined;
          ack = h.ack;
          return Promise.resolve({ value: h.batch, done: false });
        }
        if (done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((r) => {
          waiter = r;
        });
      },
      return: () => {
        this.handler = undefined;
        this.iterating = false;
        finish();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  /**
   * Stops accepting (new requests get 503 with Retry-After, queued ones too), lets the batch the
   * consumer holds finish, then closes every connection.
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    for (const q of this.queue.splice(0)) {
      clearTimeout(q.timer);
      q.settle(503, "receiver is shutting down");
    }
    this.queuedEvents = 0;
    for (const w of this.waiting.splice(0)) w.start();
    while (this.pumping) await new Promise((r) => setTimeout(r, 10));
    this.endIteration?.();
    this.server.closeIdleConnections();
    setTimeout(() => this.server.closeAllConnections(), 1000).unref();
    await closed;
  }
}

/**
 * Starts kube-apiserver's audit webhook endpoint: POST an `EventList` (audit.k8s.io/v1; v1beta1
 * and v1alpha1 upgraded), a single `Event`, or a JSON array of events (as Falco accepts), over
 * HTTPS. Senders authenticate with a client certificate (`tls.clientCA`) or a bearer token from
 * kube's static token CSV (`tokenFile`) — before any body is read. Answers: 200 only after the
 * consumer took the events; 400 (a `v1.Status` body) for a wrong path or anything that is not
 * audit events; 401/403; 405; 413 over `maxBodyBytes`; 415 for a non-JSON content type; 429 with
 * `Retry-After` when the consumer is behind (which @kaudit/sinks' webhook honours). Events over
 * `maxEventBytes` or `maxDepth` are dropped and counted.
 *
 * @example
 * ```ts
 * const receiver = await createWebhookReceiver({
 *   port: 8443,
 *   path: "/audit",
 *   tls: { cert, key, clientCA },
 *   onEvents: async ({ events }) => { for (const e of events) console.log(e.auditID); },
 * });
 * ```
 */
export async function createWebhookReceiver(
  options: WebhookReceiverOptions,
): Promise<WebhookReceiver> {
  const r = new WebhookReceiver(options);
  return r.listen(options.host ?? "127.0.0.1", options.port ?? 0);
}
