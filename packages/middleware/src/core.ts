import { randomUUID } from "node:crypto";
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import {
  attachRawJSON,
  type Event,
  type Issue,
  KauditError,
  type Level,
  levelAtLeast,
  type ObjectReference,
  type PolicyDecision,
  type PolicyEvaluator,
  type RequestAttributes,
  type Sink,
  type Stage,
  type Status,
  type UserAttributes,
  type UserInfo,
} from "@kaudit/api";
import { attributesFromRequest, isLongRunning, stripManagedFields } from "@kaudit/policy";
import { formatGoDuration } from "./go-duration";
import { allHeaderValues, firstHeader, sourceIPs } from "./ip";
import { defaultClock, formatMicroTimeLocal } from "./micro-time";
import { auditUserAgent, goQuote, htmlEscape, requestURIOf } from "./text";

/** Options shared by {@link withAudit}, `auditMiddleware` and `fastifyAudit`. */
export interface AuditOptions {
  /** Where events go. Without a sink no auditing takes place (the handler is returned as is). */
  sink?: Sink | null | undefined;
  /** Decides the level of each request. Without a policy no auditing takes place. */
  policy?: PolicyEvaluator | null | undefined;
  /**
   * Whether a request is long-running (gets a ResponseStarted event).
   * Default: kube-apiserver's LongRunningFunc — verb `watch` or `proxy`; subresource `attach`,
   * `exec`, `proxy`, `log`, `portforward`; non-resource paths under `/debug/pprof/`.
   */
  longRunningCheck?: ((req: IncomingMessage, attrs: RequestAttributes) => boolean) | undefined;
  /**
   * Authenticates a request: returns the user, or `undefined` for an unauthenticated request.
   * Throwing (or rejecting) means authentication failed: the middleware answers 401 and audits
   * the request as kube-apiserver's WithFailedAuthenticationAudit does. Default: no user.
   */
  authenticate?:
    | ((
        req: IncomingMessage,
      ) => UserAttributes | undefined | null | Promise<UserAttributes | undefined | null>)
    | undefined;
  /**
   * Builds the policy attributes of a request. Default: kube's RequestInfo resolution of the
   * method and URL (`attributesFromRequest`) with the authenticated user.
   */
  resolveAttributes?:
    | ((req: IncomingMessage, user: UserAttributes | undefined) => RequestAttributes)
    | undefined;
  /**
   * Authorises the impersonation a request asks for with `Impersonate-User` / `Impersonate-Group` /
   * `Impersonate-Uid` / `Impersonate-Extra-*` headers. `true` ⇒ recorded as `impersonatedUser` on
   * the stages after RequestReceived; `false` ⇒ 403 and the handler is not called. Without this
   * hook the headers are ignored (use {@link setImpersonatedUser} from your own layer instead).
   */
  authorizeImpersonation?:
    | ((
        req: IncomingMessage,
        requested: UserInfo,
        user: UserAttributes | undefined,
      ) => boolean | Promise<boolean>)
    | undefined;
  /**
   * Record JSON request/response bodies automatically (tee'd, never consumed). Default `true`.
   * Handlers can always log objects explicitly with {@link logRequestObject} / {@link logResponseObject}.
   */
  captureBodies?: boolean | undefined;
  /** Bodies larger than this many bytes are left out, with an annotation saying so. Default 1 MiB. */
  maxBodyBytes?: number | undefined;
  /** The clock, in epoch milliseconds (fractional for µs). Default: `performance.timeOrigin + performance.now()`. */
  clock?: (() => number) | undefined;
}

/** Annotation set when a request body is left out of `requestObject`; the value says why. */
export const ANNOTATION_REQUEST_OBJECT_OMITTED = "kaudit.dev/request-object-omitted";
/** Annotation set when a response body is left out of `responseObject`; the value says why. */
export const ANNOTATION_RESPONSE_OBJECT_OMITTED = "kaudit.dev/response-object-omitted";

const DEFAULT_MAX_BODY = 1024 * 1024;
const STATUS_SCAN_LIMIT = 64 * 1024;
const ATTR_CACHE_SIZE = 1024;
const CTX = Symbol.for("kaudit.middleware.audit-context");
const LATENCY_PREFIX = "apiserver.latency.k8s.io/";

type Thenable<T> = PromiseLike<T>;
export function isThenable<T>(v: unknown): v is Thenable<T> {
  return (
    typeof v === "object" && v !== null && typeof (v as { then?: unknown }).then === "function"
  );
}

/** How the adapter sends a response the middleware itself produces (500, 401, 403). */
export type Respond = (code: number, headers: Record<string, string>, body: string) => void;

/** Thrown-like value recorded for a Panic. */
function panicMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

function isJSONType(ct: unknown): boolean {
  if (typeof ct !== "string") return false;
  const semi = ct.indexOf(";");
  const t = (semi < 0 ? ct : ct.slice(0, semi)).trim().toLowerCase();
  return t === "application/json" || t.endsWith("+json");
}

/** Chunks of a body seen in passing, bounded. */
class BodyTap {
  chunks: (Buffer | string)[] = [];
  encodings: (BufferEncoding | undefined)[] = [];
  size = 0;
  overflow = false;
  complete = false;
  missed = false;
  constructor(private readonly limit: number) {}
  add(chunk: unknown, encoding?: unknown): void {
    if (this.overflow || chunk == null) return;
    let n: number;
    if (typeof chunk === "string") {
      n = Buffer.byteLength(
        chunk,
        typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8",
      );
    } else if (chunk instanceof Uint8Array) {
      n = chunk.byteLength;
    } else {
      return;
    }
    this.size += n;
    if (this.size > this.limit) {
      this.overflow = true;
      this.chunks = [];
      this.encodings = [];
      return;
    }
    this.chunks.push(chunk as Buffer | string);
    this.encodings.push(typeof encoding === "string" ? (encoding as BufferEncoding) : undefined);
  }
  text(): string {
    if (this.chunks.length === 1 && typeof this.chunks[0] === "string" && !this.encodings[0])
      return this.chunks[0];
    const bufs = this.chunks.map((c, i) =>
      typeof c === "string"
        ? Buffer.from(c, this.encodings[i] ?? "utf8")
        : Buffer.from(c.buffer, c.byteOffset, c.byteLength),
    );
    return Buffer.concat(bufs).toString("utf8");
  }
}

function userInfoOf(u: UserAttributes): UserInfo {
  const out: UserInfo = { username: u.name };
  if (u.uid) out.uid = u.uid;
  if (u.groups && u.groups.length > 0) out.groups = [...u.groups];
  if (u.extra && Object.keys(u.extra).length > 0) {
    const extra: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(u.extra)) extra[k] = [...v];
    out.extra = extra;
  }
  return out;
}

/** The Impersonate-* headers of a request as a UserInfo, or undefined when none asks for it. */
export function requestedImpersonation(req: IncomingMessage): UserInfo | undefined {
  const name = firstHeader(req, "impersonate-user");
  const groups = allHeaderValues(req, "impersonate-group");
  const uid = firstHeader(req, "impersonate-uid");
  let extra: Record<string, string[]> | undefined;
  for (const key of Object.keys(req.headers)) {
    if (key.startsWith("impersonate-extra-")) {
      extra ??= {};
      let k = key.slice("impersonate-extra-".length);
      try {
        k = decodeURIComponent(k);
      } catch {
        /* keep as sent */
      }
      extra[k] = allHeaderValues(req, key) ?? [];
    }
  }
  if (name === undefined && groups === undefined && uid === undefined && extra === undefined)
    return undefined;
  const out: UserInfo = {};
  if (name !== undefined) out.username = name;
  if (uid !== undefined) out.uid = uid;
  if (groups && groups.length > 0) out.groups = groups;
  if (extra) out.extra = extra;
  return out;
}

function authMethods(req: IncomingMessage): string {
  const methods: string[] = [];
  const auth = firstHeader(req, "authorization") ?? "";
  if (/^basic /i.test(auth)) {
    const decoded = Buffer.from(auth.slice(6), "base64").toString("latin1");
    if (decoded.includes(":") && /^[A-Za-z0-9+/]*={0,2}$/.test(auth.slice(6)))
      methods.push("basic");
  }
  const parts = auth.trim().split(" ");
  if (parts.length > 1 && (parts[0] as string).toLowerCase() === "bearer") methods.push("bearer");
  const url = req.url ?? "";
  const q = url.indexOf("?");
  if (q >= 0) {
    const token = new URLSearchParams(url.slice(q + 1)).get("access_token");
    if (token && token.trim().length > 0) methods.push("access_token");
  }
  const sock = req.socket as { getPeerCertificate?: () => { raw?: unknown } };
  if (typeof sock.getPeerCertificate === "function") {
    const cert = sock.getPeerCertificate();
    if (cert?.raw) methods.push("x509");
  }
  return methods.length > 0
    ? `Authentication failed, attempted: ${methods.join(", ")}`
    : "Authentication failed, no credentials provided";
}

function statusFrom(obj: Record<string, unknown>, code: number | undefined): Status {
  const s: Status = { metadata: {} };
  if (typeof obj.status === "string" && obj.status) s.status = obj.status;
  if (typeof obj.message === "string" && obj.message) s.message = obj.message;
  if (typeof obj.reason === "string" && obj.reason) s.reason = obj.reason;
  if (typeof obj.details === "object" && obj.details !== null)
    s.details = obj.details as Status["details"];
  const c = code ?? (typeof obj.code === "number" ? obj.code : undefined);
  if (c) s.code = c;
  return s;
}

function isStatusObject(obj: unknown): obj is Record<string, unknown> {
  return typeof obj === "object" && obj !== null && (obj as { kind?: unknown }).kind === "Status";
}

/** Per-request audit state, reachable from the request for the helper functions. */
export class AuditContext {
  /** The request's audit ID (also set when the level is None). */
  readonly auditID: string;
  /** Null until the policy was evaluated; undefined fields mean disabled. */
  event: Event | undefined;
  decision: PolicyDecision | undefined;
  /** False once the level turned out None: later calls are ignored. */
  enabled = true;
  private pendingAnnotations: Record<string, string> | undefined;
  longRunning = false;
  failedAuth = false;
  codeWritten: number | undefined;
  done = false;
  private closed = false;
  private settled = true;
  private batch: Event[] = [];
  private reqTap: BodyTap | undefined;
  private resTap: BodyTap | undefined;
  private resTapDecided = false;
  private explicitRequest = false;
  private explicitResponse = false;
  private isHead = false;
  private resourceWrite = false;
  private successNeverStatus = false;
  /** Milliseconds spent inside the response's write/end calls (the `response-write` layer). */
  writeMs = 0;
  /** Milliseconds spent per kube latency layer. */
  latencies: Record<string, number> | undefined;

  constructor(
    readonly core: AuditCore,
    readonly req: IncomingMessage,
    readonly receivedAt: number,
    auditID: string,
  ) {
    this.auditID = auditID;
  }

  /** `audit.AddAuditAnnotation`: first value wins. */
  addAnnotation(key: string, value: string): void {
    if (!this.enabled) return;
    let target: Record<string, string>;
    if (this.event) {
      this.event.annotations ??= {};
      target = this.event.annotations;
    } else {
      this.pendingAnnotations ??= {};
      target = this.pendingAnnotations;
    }
    if (Object.hasOwn(target, key)) return;
    target[key] = value;
  }

  addLatency(layer: string, ms: number): void {
    if (!this.enabled || !(ms > 0)) return;
    this.latencies ??= {};
    this.latencies[layer] = (this.latencies[layer] ?? 0) + ms;
  }

  /** Builds the event (LogRequestMetadata); called once the level is known and not None. */
  init(
    decision: PolicyDecision,
    attrs: RequestAttributes,
    user: UserAttributes | undefined,
  ): Event {
    this.decision = decision;
    const req = this.req;
    const received = this.core.format(this.receivedAt);
    const ips = sourceIPs(req);
    const ua = req.headers["user-agent"];
    let objectRef: ObjectReference | undefined;
    if (attrs.isResourceRequest) {
      objectRef = {};
      if (attrs.resource) objectRef.resource = attrs.resource;
      if (attrs.namespace) objectRef.namespace = attrs.namespace;
      if (attrs.name) objectRef.name = attrs.name;
      if (attrs.apiGroup) objectRef.apiGroup = attrs.apiGroup;
      if (attrs.apiVersion) objectRef.apiVersion = attrs.apiVersion;
      if (attrs.subresource) objectRef.subresource = attrs.subresource;
    }
    // Keys in wire order (undefined ones are skipped by JSON.stringify) so that even a naive
    // encoder writes kube's field order.
    const event: Event = {
      level: decision.level,
      auditID: this.auditID,
      stage: "RequestReceived",
      requestURI: requestURIOf((req as { originalUrl?: string }).originalUrl ?? req.url),
      verb: attrs.verb,
      user: user ? userInfoOf(user) : {},
      impersonatedUser: undefined,
      sourceIPs: ips.length > 0 ? ips : undefined,
      userAgent: ua ? auditUserAgent(ua) : undefined,
      objectRef,
      responseStatus: undefined,
      requestObject: undefined,
      responseObject: undefined,
      requestReceivedTimestamp: received,
      stageTimestamp: received,
      annotations: this.pendingAnnotations,
    };
    this.pendingAnnotations = undefined;
    this.event = event;
    this.batch = [event];
    this.isHead = req.method === "HEAD";
    this.resourceWrite =
      attrs.isResourceRequest && (attrs.verb === "create" || attrs.verb === "update");
    this.successNeverStatus =
      !attrs.isResourceRequest ||
      attrs.verb === "get" ||
      attrs.verb === "list" ||
      attrs.verb === "watch";
    return event;
  }

  /** Turns auditing off for this request (level None). */
  disable(): void {
    this.enabled = false;
    this.pendingAnnotations = undefined;
    this.dropRequestTap();
  }

  private omitted(stage: Stage): boolean {
    return (this.decision as PolicyDecision).omitStages.includes(stage);
  }

  /** AuditContext.ProcessEventStage. */
  emit(stage: Stage): boolean | Promise<boolean> {
    const event = this.event;
    if (!event || this.omitted(stage)) return true;
    event.stage = stage;
    event.stageTimestamp =
      stage === "RequestReceived"
        ? event.requestReceivedTimestamp
        : this.core.format(this.core.clock());
    let result: boolean | Promise<boolean>;
    try {
      result = this.core.sink.processEvents(this.batch);
    } catch {
      return false;
    }
    if (isThenable<boolean>(result)) {
      return Promise.resolve(result).then(
        (ok) => ok !== false,
        () => false,
      );
    }
    return result !== false;
  }

  /** The first status line of the response (auditResponseWriter.processCode). */
  onStatus(code: number): void {
    if (this.codeWritten !== undefined || this.done || !this.event) return;
    this.codeWritten = code;
    const event = this.event;
    if (event.responseStatus) event.responseStatus.code = code;
    else event.responseStatus = { metadata: {}, code };
    if (this.failedAuth) {
      this.done = true;
      this.emit("ResponseStarted");
      return;
    }
    if (this.longRunning) {
      this.applyBodies(false);
      this.emit("ResponseStarted");
    }
  }

  /** Installs the request body tap; the parser's `push` is observed, nothing is consumed. */
  tapRequest(limit: number): void {
    const req = this.req;
    const cl = req.headers["content-length"];
    if ((cl === undefined || cl === "0") && req.headers["transfer-encoding"] === undefined) return;
    const tap = new BodyTap(limit);
    if (req.readableLength > 0 || req.complete) tap.missed = true;
    this.reqTap = tap;
    const origPush = req.push;
    this.origPush = origPush;
    req.push = function auditPush(
      this: IncomingMessage,
      chunk: unknown,
      encoding?: BufferEncoding,
    ): boolean {
      if (chunk === null) tap.complete = true;
      else tap.add(chunk, encoding);
      return origPush.call(this, chunk, encoding);
    };
  }

  private origPush: IncomingMessage["push"] | undefined;

  /** Puts the parser's `push` back (assigned, not deleted: deleting would slow the object down). */
  private restorePush(): void {
    if (this.origPush) {
      this.req.push = this.origPush;
      this.origPush = undefined;
    }
  }

  dropRequestTap(): void {
    if (this.reqTap) {
      this.reqTap = undefined;
      this.restorePush();
    }
  }

  /** Keeps the request tap only where the level needs it. */
  settleRequestTap(level: Level): void {
    if (!this.reqTap) return;
    if (levelAtLeast(level, "Request") || this.resourceWrite) return;
    this.dropRequestTap();
  }

  /** Decides, once headers are known, whether the response body is worth looking at. */
  private decideResponseTap(res: ServerResponse): void {
    this.resTapDecided = true;
    const event = this.event;
    if (!event || this.done || this.isHead || this.longRunning || !this.core.captureBodies) return;
    if (this.explicitResponse && event.level !== "RequestResponse") return;
    const code = this.codeWritten ?? res.statusCode;
    if (code === 204 || code === 304) return;
    if (!isJSONType(res.getHeader("content-type"))) return;
    // Below RequestResponse the body is only looked at for a Status, which is small — and a
    // successful read (or non-resource request) never answers with one: skip those.
    const full = event.level === "RequestResponse" && !this.explicitResponse;
    if (!full && code < 300 && this.successNeverStatus) return;
    this.resTap = new BodyTap(
      full ? this.core.maxBodyBytes : Math.min(this.core.maxBodyBytes, STATUS_SCAN_LIMIT),
    );
  }

  /** A chunk the handler wrote (called after it went to Node). */
  onResponseChunk(res: ServerResponse, chunk: unknown, encoding: unknown): void {
    if (!this.resTapDecided) this.decideResponseTap(res);
    this.resTap?.add(chunk, encoding);
  }

  /** Fills requestObject / responseObject / responseStatus from what was captured or logged. */
  private applyBodies(final: boolean): void {
    const event = this.event as Event;
    const rt = this.reqTap;
    if (rt && !this.explicitRequest && (rt.complete || rt.overflow || final)) {
      this.reqTap = undefined;
      this.restorePush();
      const wantObject = levelAtLeast(event.level, "Request");
      const ct = this.req.headers["content-type"];
      let reason: string | undefined;
      if (rt.overflow) reason = `body larger than ${this.core.maxBodyBytes} bytes`;
      else if (rt.missed) reason = "body was read before the audit middleware saw it";
      else if (!rt.complete) reason = "body was not read completely by the handler";
      else if (rt.size === 0) reason = undefined;
      else if (!isJSONType(ct)) reason = `content type ${JSON.stringify(ct ?? "")} is not JSON`;
      else {
        try {
          const text = rt.text();
          const obj = JSON.parse(text) as unknown;
          if (typeof obj !== "object" || obj === null) reason = "body is not a JSON object";
          else {
            // Keep the bytes as sent: an encoder writes them instead of re-serialising (key
            // order, number spelling), unless managedFields have to come out.
            attachRawJSON(obj, text);
            this.logRequestObject(
              obj,
              !/patch/i.test(event.verb) && text.includes('"managedFields"'),
            );
          }
        } catch (e) {
          reason = `invalid JSON: ${(e as Error).message}`;
        }
      }
      if (reason && wantObject) this.addAnnotation(ANNOTATION_REQUEST_OBJECT_OMITTED, reason);
    }
    if (!final) return;
    const st = this.resTap;
    if (st) {
      this.resTap = undefined;
      const full = event.level === "RequestResponse" && !this.explicitResponse;
      if (st.overflow) {
        if (full)
          this.addAnnotation(
            ANNOTATION_RESPONSE_OBJECT_OMITTED,
            `body larger than ${this.core.maxBodyBytes} bytes`,
          );
      } else if (st.size > 0) {
        const text = st.text();
        if (full || text.includes('"Status"')) {
          try {
            const obj = JSON.parse(text) as unknown;
            if (full) {
              if (typeof obj === "object" && obj !== null) {
                attachRawJSON(obj, text);
                this.logResponseObject(obj, text.includes('"managedFields"'));
              }
            } else if (isStatusObject(obj)) {
              event.responseStatus = statusFrom(obj, this.codeWritten);
            }
          } catch (e) {
            if (full)
              this.addAnnotation(
                ANNOTATION_RESPONSE_OBJECT_OMITTED,
                `invalid JSON: ${(e as Error).message}`,
              );
          }
        }
      }
    }
  }

  /** `audit.LogRequestObject`: completes objectRef; records the object at Request and above. */
  logRequestObject(obj: unknown, strip = true): void {
    const event = this.event;
    if (!this.enabled || !event) return;
    if (typeof obj !== "object" || obj === null) return;
    if (!Array.isArray(obj)) {
      event.objectRef ??= {};
      const ref = event.objectRef;
      const meta = (obj as { metadata?: Record<string, unknown> }).metadata;
      if (typeof meta === "object" && meta !== null) {
        if (!ref.namespace && typeof meta.namespace === "string" && meta.namespace)
          ref.namespace = meta.namespace;
        if (!ref.name && typeof meta.name === "string" && meta.name) ref.name = meta.name;
        if (!ref.uid && typeof meta.uid === "string" && meta.uid) ref.uid = meta.uid;
        if (
          !ref.resourceVersion &&
          typeof meta.resourceVersion === "string" &&
          meta.resourceVersion
        ) {
          ref.resourceVersion = meta.resourceVersion;
        }
      }
      // Keep objectRef's field order stable for naive encoders.
      event.objectRef = orderObjectRef(ref);
    }
    if (!levelAtLeast(event.level, "Request")) return;
    const decision = this.decision as PolicyDecision;
    event.requestObject = (
      strip && decision.omitManagedFields ? this.core.strip(obj) : obj
    ) as Event["requestObject"];
  }

  /** Explicit `logRequestObject(req, obj)` from a handler: wins over the captured body. */
  logRequestObjectExplicit(obj: unknown): void {
    if (!this.enabled) return;
    this.explicitRequest = true;
    if (this.reqTap) this.dropRequestTap();
    this.logRequestObject(obj);
  }

  /** `audit.LogResponseObject`: Status copied at every level, object recorded at RequestResponse. */
  logResponseObject(obj: unknown, strip = true): void {
    const event = this.event;
    if (!this.enabled || !event) return;
    if (isStatusObject(obj)) event.responseStatus = statusFrom(obj, this.codeWritten);
    if (event.level !== "RequestResponse" || this.longRunningWatch()) return;
    const decision = this.decision as PolicyDecision;
    event.responseObject = (
      strip && decision.omitManagedFields ? this.core.strip(obj) : obj
    ) as Event["responseObject"];
  }

  logResponseObjectExplicit(obj: unknown): void {
    if (!this.enabled) return;
    this.explicitResponse = true;
    this.resTap = undefined;
    this.resTapDecided = true;
    const event = this.event;
    if (!event) return;
    if (isStatusObject(obj)) event.responseStatus = statusFrom(obj, this.codeWritten);
    if (event.level !== "RequestResponse") return;
    const decision = this.decision as PolicyDecision;
    event.responseObject = (
      decision.omitManagedFields ? this.core.strip(obj) : obj
    ) as Event["responseObject"];
  }

  private longRunningWatch(): boolean {
    return this.longRunning;
  }

  private pendingImpersonation: UserInfo | undefined;
  private receivedSent = false;

  /** `audit.LogImpersonatedUser`; before RequestReceived was sent it is kept for the later stages. */
  setImpersonatedUser(user: UserInfo): void {
    if (!this.enabled) return;
    const copy: UserInfo = {};
    if (user.username !== undefined) copy.username = user.username;
    if (user.uid !== undefined) copy.uid = user.uid;
    if (user.groups && user.groups.length > 0) copy.groups = [...user.groups];
    if (user.extra && Object.keys(user.extra).length > 0) copy.extra = { ...user.extra };
    if (!this.event || !this.receivedSent) this.pendingImpersonation = copy;
    else this.event.impersonatedUser = copy;
  }

  /** RequestReceived is out: what was held back for the later stages goes in. */
  markReceived(): void {
    this.receivedSent = true;
    if (this.pendingImpersonation && this.event) {
      this.event.impersonatedUser = this.pendingImpersonation;
      this.pendingImpersonation = undefined;
    }
  }

  /** The handler threw or rejected: Panic(500), no ResponseComplete. */
  panic(err: unknown): void {
    if (this.done || !this.event) {
      this.done = true;
      return;
    }
    this.done = true;
    this.applyBodies(true);
    this.event.responseStatus = {
      metadata: {},
      status: "Failure",
      message: `APIServer panic'd: ${panicMessage(err)}`,
      reason: "InternalError",
      code: 500,
    };
    this.emit("Panic");
    this.release();
  }

  /** The handler returned (or its promise fulfilled). */
  handlerReturned(): void {
    this.settled = true;
    if (this.closed) this.complete();
  }

  handlerPending(): void {
    this.settled = false;
  }

  /** The response (or upgraded socket) closed, normally or not. */
  responseClosed(): void {
    this.closed = true;
    if (this.settled) this.complete();
  }

  /** ResponseComplete, with "Connection closed early" when nothing was written. */
  complete(): void {
    if (this.done || !this.event) return;
    this.done = true;
    const event = this.event;
    this.applyBodies(true);
    if (!event.responseStatus) {
      event.responseStatus = {
        metadata: {},
        status: "Success",
        message: "Connection closed early",
        code: 200,
      };
      if (this.longRunning) this.emit("ResponseStarted");
    }
    this.writeLatency(event);
    this.emit("ResponseComplete");
    this.release();
  }

  private writeLatency(event: Event): void {
    const total = this.core.clock() - this.receivedAt;
    if (!(total > 500)) return;
    if (this.writeMs > 0) this.addLatency("response-write", this.writeMs);
    const l = this.latencies;
    if (l)
      for (const [layer, ms] of Object.entries(l))
        this.addAnnotationTo(event, LATENCY_PREFIX + layer, ms);
    this.addAnnotationTo(event, `${LATENCY_PREFIX}total`, total);
  }

  private addAnnotationTo(event: Event, key: string, ms: number): void {
    event.annotations ??= {};
    const a = event.annotations;
    if (!Object.hasOwn(a, key)) a[key] = formatGoDuration(ms * 1e6);
  }

  private release(): void {
    this.reqTap = undefined;
    this.resTap = undefined;
    this.restorePush();
  }
}

function orderObjectRef(r: ObjectReference): ObjectReference {
  const o: ObjectReference = {};
  if (r.resource) o.resource = r.resource;
  if (r.namespace) o.namespace = r.namespace;
  if (r.name) o.name = r.name;
  if (r.uid) o.uid = r.uid;
  if (r.apiGroup) o.apiGroup = r.apiGroup;
  if (r.apiVersion) o.apiVersion = r.apiVersion;
  if (r.resourceVersion) o.resourceVersion = r.resourceVersion;
  if (r.subresource) o.subresource = r.subresource;
  return o;
}

/** The audit context of a request, from a node request or a Fastify request (`.raw`). */
export function contextOf(req: unknown): AuditContext | undefined {
  if (typeof req !== "object" || req === null) return undefined;
  const direct = (req as Record<symbol, AuditContext | undefined>)[CTX];
  if (direct) return direct;
  const raw = (req as { raw?: unknown }).raw;
  if (typeof raw === "object" && raw !== null)
    return (raw as Record<symbol, AuditContext | undefined>)[CTX];
  return undefined;
}

function statusBody(code: number, reason: string, message: string): string {
  return `${JSON.stringify({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code })}\n`;
}

/** Writes a middleware-produced response on a node response. */
export function respondNode(res: ServerResponse): Respond {
  return (code, headers, body) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    res.setHeader("Content-Length", Buffer.byteLength(body));
    res.writeHead(code);
    res.end(body);
  };
}

const STATUS_TEXT: Record<number, string> = {
  401: "Unauthorized",
  403: "Forbidden",
  500: "Internal Server Error",
};

/** Writes a middleware-produced response on a raw upgraded socket. */
export function respondSocket(socket: Duplex, auditID: string): Respond {
  return (code, headers, body) => {
    let head = `HTTP/1.1 ${code} ${STATUS_TEXT[code] ?? ""}\r\nAudit-Id: ${auditID}\r\n`;
    for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
    head += `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`;
    socket.end(head + body);
  };
}

/** Hooks the adapters give the core for one request. */
export interface Exchange {
  req: IncomingMessage;
  /** Sends a response produced by the middleware. */
  respond: Respond;
  /** Installs the status/body observers; called once the request is audited. */
  observe: (ctx: AuditContext) => void;
  /** Runs the wrapped handler (or continues the framework chain). */
  invoke: () => unknown;
}

/** Invalid audit middleware options; `issues` names every bad field. */
export class AuditOptionsError extends KauditError {
  /** Every problem found, each with its field path (`options.sink`, …). */
  readonly issues: Issue[];
  constructor(issues: Issue[]) {
    super(`invalid audit options: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`, {
      name: "AuditOptionsError",
    });
    this.issues = issues;
  }
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : `${typeof v} ${JSON.stringify(v) ?? String(v)}`;
}

function validateOptions(o: AuditOptions): void {
  const issues: Issue[] = [];
  const fn = (path: string, v: unknown) => {
    if (v !== undefined && typeof v !== "function")
      issues.push({ path, message: `expected a function, got ${describe(v)}` });
  };
  if (typeof (o.sink as { processEvents?: unknown }).processEvents !== "function") {
    issues.push({
      path: "options.sink",
      message: `expected a Sink with processEvents(events), got ${describe(o.sink)}`,
    });
  }
  if (typeof (o.policy as { evaluate?: unknown }).evaluate !== "function") {
    issues.push({
      path: "options.policy",
      message: `expected a PolicyEvaluator with evaluate(attrs), got ${describe(o.policy)}`,
    });
  }
  fn("options.longRunningCheck", o.longRunningCheck);
  fn("options.authenticate", o.authenticate);
  fn("options.resolveAttributes", o.resolveAttributes);
  fn("options.authorizeImpersonation", o.authorizeImpersonation);
  fn("options.clock", o.clock);
  if (o.captureBodies !== undefined && typeof o.captureBodies !== "boolean") {
    issues.push({
      path: "options.captureBodies",
      message: `expected a boolean, got ${describe(o.captureBodies)}`,
    });
  }
  const max = o.maxBodyBytes;
  if (max !== undefined && !(typeof max === "number" && Number.isFinite(max) && max >= 0)) {
    issues.push({
      path: "options.maxBodyBytes",
      message: `expected a non-negative number of bytes, got ${describe(max)}`,
    });
  }
  if (issues.length > 0) throw new AuditOptionsError(issues);
}

/** The one implementation behind withAudit, auditMiddleware and fastifyAudit. */
export class AuditCore {
  readonly sink: Sink;
  readonly policy: PolicyEvaluator;
  readonly clock: () => number;
  readonly captureBodies: boolean;
  readonly maxBodyBytes: number;
  readonly format: (ms: number) => string;
  readonly strip: (obj: unknown) => unknown;
  private readonly options: AuditOptions;
  private readonly longRunning: (req: IncomingMessage, attrs: RequestAttributes) => boolean;

  constructor(options: AuditOptions & { sink: Sink; policy: PolicyEvaluator }) {
    this.options = options;
    this.sink = options.sink;
    this.policy = options.policy;
    validateOptions(options);
    this.clock = options.clock ?? defaultClock;
    this.captureBodies = options.captureBodies !== false;
    this.maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY;
    this.format = formatMicroTimeLocal;
    this.strip = stripManagedFields;
    this.longRunning = options.longRunningCheck ?? ((_req, attrs) => isLongRunning(attrs));
  }

  /** True when the error is an unexpected failure (no HTTP status below 500 attached). */
  static isPanic(err: unknown): boolean {
    if (typeof err !== "object" || err === null) return true;
    const e = err as { status?: unknown; statusCode?: unknown };
    const code =
      typeof e.statusCode === "number"
        ? e.statusCode
        : typeof e.status === "number"
          ? e.status
          : undefined;
    return code === undefined || code >= 500;
  }

  /** Creates the core when both a sink and a policy are given (kube: otherwise no auditing). */
  static create(options: AuditOptions | undefined): AuditCore | undefined {
    if (!options?.sink || !options.policy) return undefined;
    return new AuditCore(options as AuditOptions & { sink: Sink; policy: PolicyEvaluator });
  }

  /** WithAuditInit: the audit ID from the request or a new UUIDv4; the context is attached. */
  begin(
    req: IncomingMessage,
    target: ServerResponse | ((id: string) => void) | undefined,
  ): AuditContext {
    const existing = (req as unknown as Record<symbol, AuditContext | undefined>)[CTX];
    if (existing) return existing;
    const receivedAt = this.clock();
    let id = req.headers["audit-id"];
    if (typeof id !== "string" || id === "") id = randomUUID();
    else if (id.includes(",")) id = firstHeader(req, "audit-id") || randomUUID();
    const ctx = new AuditContext(this, req, receivedAt, id);
    (req as unknown as Record<symbol, AuditContext>)[CTX] = ctx;
    if (typeof target === "function") target(id);
    else if (target && !target.hasHeader("audit-id")) target.setHeader("Audit-Id", id);
    return ctx;
  }

  /** Runs one request through the audit filter. Returns what the handler returned (or a promise of it). */
  handle(ctx: AuditContext, ex: Exchange): unknown {
    const req = ex.req;
    if (this.captureBodies) ctx.tapRequest(this.maxBodyBytes);
    const authenticate = this.options.authenticate;
    if (!authenticate) return this.afterAuth(ctx, ex, undefined);
    const t0 = performance.now();
    let user: UserAttributes | undefined | null | Promise<UserAttributes | undefined | null>;
    try {
      user = authenticate(req);
    } catch (err) {
      return this.failedAuthentication(ctx, ex, err);
    }
    if (isThenable<UserAttributes | undefined | null>(user)) {
      return Promise.resolve(user).then(
        (u) => {
          ctx.addLatency("authentication", performance.now() - t0);
          return this.afterAuth(ctx, ex, u ?? undefined);
        },
        (err) => this.failedAuthentication(ctx, ex, err),
      );
    }
    ctx.addLatency("authentication", performance.now() - t0);
    return this.afterAuth(ctx, ex, user ?? undefined);
  }

  private attributes(req: IncomingMessage, user: UserAttributes | undefined): RequestAttributes {
    const resolve = this.options.resolveAttributes;
    if (resolve) return resolve(req, user);
    const method = req.method ?? "GET";
    const url = (req as { originalUrl?: string }).originalUrl ?? req.url ?? "/";
    // RequestInfo depends only on the method and the URL, and clients repeat URLs (leases,
    // health checks, list/watch): resolve each once, keep a bounded number.
    const key = `${method} ${url}`;
    let base = this.attrCache.get(key);
    if (base === undefined) {
      base = attributesFromRequest({ method, url });
      if (url.length <= 1024) {
        if (this.attrCache.size >= ATTR_CACHE_SIZE) {
          this.attrCache.delete(this.attrCache.keys().next().value as string);
        }
        this.attrCache.set(key, base);
      }
    }
    const attrs: RequestAttributes = { ...base };
    if (user !== undefined) attrs.user = user;
    return attrs;
  }

  private readonly attrCache = new Map<string, RequestAttributes>();

  private internalError(ctx: AuditContext, ex: Exchange, what: string): void {
    ctx.done = true;
    const uri = requestURIOf((ex.req as { originalUrl?: string }).originalUrl ?? ex.req.url);
    ex.respond(
      500,
      { "Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff" },
      `${htmlEscape(`Internal Server Error: ${goQuote(uri)}: ${what}`)}\n`,
    );
  }

  /** WithFailedAuthenticationAudit: a single ResponseStarted event with the 401. */
  private failedAuthentication(ctx: AuditContext, ex: Exchange, _err: unknown): void {
    const req = ex.req;
    let attrs: RequestAttributes;
    try {
      attrs = this.attributes(req, undefined);
    } catch {
      this.internalError(ctx, ex, "failed to create audit event");
      return;
    }
    const decision = this.policy.evaluate(attrs);
    if (decision.level === "None") {
      ctx.disable();
    } else {
      const event = ctx.init(decision, attrs, undefined);
      ctx.dropRequestTap();
      event.responseStatus = { metadata: {}, message: authMethods(req) };
      ctx.failedAuth = true;
      ex.observe(ctx);
    }
    ex.respond(
      401,
      { "Content-Type": "application/json" },
      statusBody(401, "Unauthorized", "Unauthorized"),
    );
  }

  private afterAuth(ctx: AuditContext, ex: Exchange, user: UserAttributes | undefined): unknown {
    const req = ex.req;
    let attrs: RequestAttributes;
    let decision: PolicyDecision;
    try {
      attrs = this.attributes(req, user);
      decision = this.policy.evaluate(attrs);
    } catch {
      ctx.disable();
      this.internalError(ctx, ex, "failed to create audit event");
      return undefined;
    }
    if (decision.level === "None" || !levelAtLeast(decision.level, "Metadata")) {
      ctx.disable();
      return ex.invoke();
    }
    ctx.init(decision, attrs, user);
    ctx.settleRequestTap(decision.level);
    ctx.longRunning = this.longRunning(req, attrs);
    const received = ctx.emit("RequestReceived");
    if (isThenable<boolean>(received)) {
      return Promise.resolve(received).then((ok) => this.afterReceived(ctx, ex, user, ok));
    }
    return this.afterReceived(ctx, ex, user, received);
  }

  private afterReceived(
    ctx: AuditContext,
    ex: Exchange,
    user: UserAttributes | undefined,
    ok: boolean,
  ): unknown {
    if (!ok) {
      ctx.dropRequestTap();
      this.internalError(ctx, ex, "failed to store audit event");
      return undefined;
    }
    ctx.markReceived();
    ex.observe(ctx);
    const authorize = this.options.authorizeImpersonation;
    if (authorize) {
      const requested = requestedImpersonation(ex.req);
      if (requested) {
        const t0 = performance.now();
        let allowed: boolean | Promise<boolean>;
        try {
          allowed = authorize(ex.req, requested, user);
        } catch (err) {
          return this.invokeFailed(ctx, err);
        }
        const after = (yes: boolean): unknown => {
          ctx.addLatency("impersonation", performance.now() - t0);
          if (!yes) {
            const who = user?.name ?? "system:anonymous";
            const kind = requested.username !== undefined ? "users" : "groups";
            const target = requested.username ?? requested.groups?.[0] ?? "";
            ex.respond(
              403,
              { "Content-Type": "application/json" },
              statusBody(
                403,
                "Forbidden",
                `${kind} "${target}" is forbidden: User "${who}" cannot impersonate resource "${kind}" in API group "" at the cluster scope`,
              ),
            );
            return undefined;
          }
          ctx.setImpersonatedUser(requested);
          return this.invoke(ctx, ex);
        };
        if (isThenable<boolean>(allowed))
          return Promise.resolve(allowed).then(after, (err) => this.invokeFailed(ctx, err));
        return after(allowed);
      }
    }
    return this.invoke(ctx, ex);
  }

  private invokeFailed(ctx: AuditContext, err: unknown): never {
    ctx.panic(err);
    throw err;
  }

  private invoke(ctx: AuditContext, ex: Exchange): unknown {
    let ret: unknown;
    try {
      ret = ex.invoke();
    } catch (err) {
      ctx.panic(err);
      throw err;
    }
    if (isThenable(ret)) {
      ctx.handlerPending();
      return Promise.resolve(ret).then(
        (v) => {
          ctx.handlerReturned();
          return v;
        },
        (err) => this.invokeFailed(ctx, err),
      );
    }
    return ret;
  }
}

const RES_HOOKS = Symbol("kaudit.response-hooks");

/** What the shared response hooks need: the context and the methods they replaced. */
interface ResponseHooks {
  ctx: AuditContext;
  writeHead: (...a: unknown[]) => ServerResponse;
  write: (...a: unknown[]) => boolean;
  end: (...a: unknown[]) => ServerResponse;
}
type HookedResponse = ServerResponse & { [RES_HOOKS]: ResponseHooks };

// Module-level functions (no per-request closures): the state hangs off the response.
function auditWriteHead(this: HookedResponse, code?: unknown) {
  const hooks = this[RES_HOOKS];
  hooks.ctx.onStatus(typeof code === "number" ? code : this.statusCode);
  // biome-ignore lint/complexity/noArguments: forwarding every argument unchanged
  return hooks.writeHead.apply(this, arguments as unknown as unknown[]);
}
function auditWrite(this: HookedResponse, chunk: unknown, encoding?: unknown) {
  const hooks = this[RES_HOOKS];
  const t0 = performance.now();
  // biome-ignore lint/complexity/noArguments: forwarding every argument unchanged
  const ok = hooks.write.apply(this, arguments as unknown as unknown[]);
  hooks.ctx.writeMs += performance.now() - t0;
  hooks.ctx.onResponseChunk(this, chunk, typeof encoding === "string" ? encoding : undefined);
  return ok;
}
function auditEnd(this: HookedResponse, chunk?: unknown, encoding?: unknown) {
  const hooks = this[RES_HOOKS];
  const wasEnded = this.writableEnded;
  const t0 = performance.now();
  // biome-ignore lint/complexity/noArguments: forwarding every argument unchanged
  const r = hooks.end.apply(this, arguments as unknown as unknown[]);
  hooks.ctx.writeMs += performance.now() - t0;
  if (!wasEnded && chunk != null && typeof chunk !== "function") {
    hooks.ctx.onResponseChunk(this, chunk, typeof encoding === "string" ? encoding : undefined);
  }
  return r;
}
function auditResponseClosed(this: HookedResponse) {
  this[RES_HOOKS].ctx.responseClosed();
}

/** Observes a node response: status, body chunks, write time and the end of the exchange. */
export function observeNodeResponse(res: ServerResponse, ctx: AuditContext): void {
  const r = res as HookedResponse;
  r[RES_HOOKS] = {
    ctx,
    writeHead: res.writeHead as ResponseHooks["writeHead"],
    write: res.write as ResponseHooks["write"],
    end: res.end as ResponseHooks["end"],
  };
  res.writeHead = auditWriteHead as unknown as ServerResponse["writeHead"];
  res.write = auditWrite as unknown as ServerResponse["write"];
  res.end = auditEnd as unknown as ServerResponse["end"];
  res.on("close", auditResponseClosed);
}

/** The exchange of a node:http / Connect request: one object instead of per-request closures. */
export class NodeExchange implements Exchange {
  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    private readonly handler: ((this: unknown, ...args: unknown[]) => unknown) | undefined,
    private readonly thisArg: unknown,
    private readonly next: (() => void) | undefined,
  ) {}
  respond(code: number, headers: Record<string, string>, body: string): void {
    respondNode(this.res)(code, headers, body);
  }
  observe(ctx: AuditContext): void {
    observeNodeResponse(this.res, ctx);
  }
  invoke(): unknown {
    if (this.next) return this.next();
    return (this.handler as (this: unknown, ...args: unknown[]) => unknown).call(
      this.thisArg,
      this.req,
      this.res,
    );
  }
}

/** Parses the status code of a raw HTTP response head written on an upgraded socket. */
function statusOfHead(chunk: unknown): number | undefined {
  const s =
    typeof chunk === "string"
      ? chunk.slice(0, 16)
      : chunk instanceof Uint8Array
        ? Buffer.from(chunk.subarray(0, 16)).toString("latin1")
        : "";
  const m = /^HTTP\/\d(?:\.\d)? (\d{3})/.exec(s);
  return m ? Number(m[1]) : undefined;
}

/** Adds `Audit-Id` to a raw response head unless it has one. */
function withAuditIdHeader(chunk: unknown, id: string): unknown {
  const isString = typeof chunk === "string";
  if (!isString && !(chunk instanceof Uint8Array)) return chunk;
  const text = isString ? (chunk as string) : Buffer.from(chunk as Uint8Array).toString("latin1");
  if (!text.startsWith("HTTP/")) return chunk;
  const lineEnd = text.indexOf("\r\n");
  const headEnd = text.indexOf("\r\n\r\n");
  if (lineEnd < 0) return chunk;
  const head = headEnd < 0 ? text : text.slice(0, headEnd);
  if (/\r\naudit-id:/i.test(head)) return chunk;
  const out = `${text.slice(0, lineEnd)}\r\nAudit-Id: ${id}${text.slice(lineEnd)}`;
  return isString ? out : Buffer.from(out, "latin1");
}

/** Echoes the audit ID on an upgraded socket: `Audit-Id` is added to the first response head. */
export function injectAuditIdOnSocket(socket: Duplex, id: string): void {
  const origWrite = socket.write;
  const origEnd = socket.end;
  const restore = (): void => {
    delete (socket as { write?: unknown }).write;
    delete (socket as { end?: unknown }).end;
  };
  socket.write = function auditIdWrite(this: Duplex, chunk: unknown, ...rest: unknown[]) {
    restore();
    return (origWrite as (...a: unknown[]) => boolean).call(
      this,
      withAuditIdHeader(chunk, id),
      ...rest,
    );
  } as Duplex["write"];
  socket.end = function auditIdEnd(this: Duplex, chunk?: unknown, ...rest: unknown[]) {
    restore();
    const c =
      chunk === undefined || typeof chunk === "function" ? chunk : withAuditIdHeader(chunk, id);
    return (origEnd as (...a: unknown[]) => Duplex).call(this, c, ...rest);
  } as Duplex["end"];
}

/** Observes an upgraded socket: the first write is the response head (code 101 if unreadable). */
export function observeUpgradeSocket(socket: Duplex, ctx: AuditContext): void {
  const origWrite = socket.write;
  let first = true;
  socket.write = function auditSocketWrite(this: Duplex, chunk: unknown, ...rest: unknown[]) {
    if (first) {
      first = false;
      ctx.onStatus(statusOfHead(chunk) ?? 101);
    }
    return (origWrite as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as Duplex["write"];
  const origEnd = socket.end;
  socket.end = function auditSocketEnd(this: Duplex, chunk?: unknown, ...rest: unknown[]) {
    if (first && chunk !== undefined && typeof chunk !== "function") {
      first = false;
      ctx.onStatus(statusOfHead(chunk) ?? 101);
    }
    return (origEnd as (...a: unknown[]) => Duplex).call(this, chunk, ...rest);
  } as Duplex["end"];
  socket.once("close", () => ctx.responseClosed());
}

export type { OutgoingHttpHeaders };
