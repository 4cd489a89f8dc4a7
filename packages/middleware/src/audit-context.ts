import type { IncomingMessage, ServerResponse } from "node:http";
import {
  type Event,
  type Level,
  levelAtLeast,
  type PolicyDecision,
  type RequestAttributes,
  type Stage,
  type UserAttributes,
  type UserInfo,
} from "@kaudit/api";
import type { AuditCore } from "./audit-filter";
import {
  ANNOTATION_REQUEST_OBJECT_OMITTED,
  ANNOTATION_RESPONSE_OBJECT_OMITTED,
  type BodyTap,
  capturedRequestBody,
  capturedResponseBody,
  isJSONType,
  objectTooDeep,
  responseBodyTap,
  tapRequestBody,
  tooDeepReason,
} from "./body-capture";
import { formatGoDuration } from "./go-duration";
import {
  completeObjectRef,
  impersonatedUserOf,
  isStatusObject,
  newEvent,
  panicStatus,
  statusFrom,
} from "./request-event";
import { isThenable } from "./thenable";

// The per-request side of k8s.io/apiserver's filters/audit.go: one event, its stages in order
// (processAuditEvent), what the response writer saw, and audit.AuditContext's annotations.

const CTX = Symbol.for("kaudit.middleware.audit-context");
const LATENCY_PREFIX = "apiserver.latency.k8s.io/";

/** Per-request audit state, reachable from the request for the helper functions. */
export class AuditContext {
  /** The request's audit ID (also set when the level is None). */
  readonly auditID: string;
  /** Whether the middleware generated the ID (a UUID: ASCII) rather than reading it from the request. */
  generatedID = false;
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
  private origPush: IncomingMessage["push"] | undefined;
  private resTap: BodyTap | undefined;
  private resTapDecided = false;
  private explicitRequest = false;
  private explicitResponse = false;
  private isHead = false;
  private resourceWrite = false;
  private successNeverStatus = false;
  private pendingImpersonation: UserInfo | undefined;
  private receivedSent = false;
  /**
   * The response whose `Audit-Id` header is still to be set: the response hooks add it to the
   * head when it is written, every other way out sets it first ({@link setAuditIdHeader}).
   */
  idHeaderTarget: ServerResponse | undefined;
  /** The content type the handler gave writeHead in its headers object (see readHeadHeaders). */
  headContentType: unknown;
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

  /** Attaches the context to its request (where {@link contextOf} finds it). */
  attach(): void {
    (this.req as unknown as Record<symbol, AuditContext>)[CTX] = this;
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
    const event = newEvent(
      req,
      decision.level,
      this.auditID,
      attrs,
      user,
      this.core.format(this.receivedAt),
      this.pendingAnnotations,
      this.generatedID,
    );
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

  /** Sets the `Audit-Id` response header now, unless the response already has one. */
  setAuditIdHeader(): void {
    const res = this.idHeaderTarget;
    if (res === undefined) return;
    this.idHeaderTarget = undefined;
    if (!res.headersSent && !res.hasHeader("audit-id")) res.setHeader("Audit-Id", this.auditID);
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

  /** AuditContext.ProcessEventStage; `now` (epoch ms) when the caller has just read the clock. */
  emit(stage: Stage, now?: number): boolean | Promise<boolean> {
    const event = this.event;
    if (!event || this.omitted(stage)) return true;
    event.stage = stage;
    event.stageTimestamp =
      stage === "RequestReceived"
        ? event.requestReceivedTimestamp
        : this.core.format(now ?? this.core.clock());
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
    const tapped = tapRequestBody(this.req, limit);
    if (!tapped) return;
    this.reqTap = tapped.tap;
    this.origPush = tapped.origPush;
  }

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
    // Below RequestResponse the body is only looked at for a Status, which is small — and a
    // successful read (or non-resource request) never answers with one: skip those (before
    // reading the content type, which most Metadata requests then never need).
    const full = event.level === "RequestResponse" && !this.explicitResponse;
    if (!full && code < 300 && this.successNeverStatus) return;
    if (!isJSONType(res.getHeader("content-type") ?? this.headContentType)) return;
    this.resTap = responseBodyTap(full, this.core.maxBodyBytes);
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
      this.dropRequestTap();
      const body = capturedRequestBody(
        rt,
        this.req.headers["content-type"],
        this.core.maxBodyBytes,
        this.core.maxBodyDepth,
      );
      if (body.kind === "object") {
        // The bytes as sent are attached: an encoder writes them instead of re-serialising,
        // unless managedFields have to come out.
        // (Only scanned for managedFields when they are to be stripped: two 4 KB scans per
        // RequestResponse request otherwise.)
        this.logRequestObject(
          body.obj,
          (this.decision as PolicyDecision).omitManagedFields &&
            !/patch/i.test(event.verb) &&
            body.text.includes('"managedFields"'),
        );
      } else if (body.kind === "omitted" && levelAtLeast(event.level, "Request")) {
        this.addAnnotation(ANNOTATION_REQUEST_OBJECT_OMITTED, body.reason);
      }
    }
    if (!final) return;
    const st = this.resTap;
    if (st) {
      this.resTap = undefined;
      const full = event.level === "RequestResponse" && !this.explicitResponse;
      const body = capturedResponseBody(st, full, this.core.maxBodyBytes, this.core.maxBodyDepth);
      if (body.kind === "omitted") {
        this.addAnnotation(ANNOTATION_RESPONSE_OBJECT_OMITTED, body.reason);
      } else if (body.kind === "object") {
        if (full)
          this.logResponseObject(
            body.obj,
            (this.decision as PolicyDecision).omitManagedFields &&
              body.text.includes('"managedFields"'),
          );
        else if (isStatusObject(body.obj))
          event.responseStatus = statusFrom(body.obj, this.codeWritten);
      }
    }
  }

  /** `audit.LogRequestObject`: completes objectRef; records the object at Request and above. */
  logRequestObject(obj: unknown, strip = true): void {
    const event = this.event;
    if (!this.enabled || !event) return;
    if (typeof obj !== "object" || obj === null) return;
    completeObjectRef(event, obj);
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
    if (this.tooDeep(obj, ANNOTATION_REQUEST_OBJECT_OMITTED, "Request")) return;
    this.logRequestObject(obj);
  }

  /**
   * An explicitly logged object nested deeper than `maxBodyDepth` is left out, with the reason
   * (at the levels that would have recorded it), as a captured one is.
   */
  private tooDeep(obj: unknown, annotation: string, level: Level): boolean {
    const event = this.event;
    if (!event || typeof obj !== "object" || obj === null || !levelAtLeast(event.level, level))
      return false;
    const max = this.core.maxBodyDepth;
    if (!objectTooDeep(obj, max)) return false;
    this.addAnnotation(annotation, tooDeepReason(max));
    return true;
  }

  /** `audit.LogResponseObject`: Status copied at every level, object recorded at RequestResponse. */
  logResponseObject(obj: unknown, strip = true): void {
    const event = this.event;
    if (!this.enabled || !event) return;
    if (isStatusObject(obj)) event.responseStatus = statusFrom(obj, this.codeWritten);
    if (event.level !== "RequestResponse" || this.longRunning) return;
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
    if (this.tooDeep(obj, ANNOTATION_RESPONSE_OBJECT_OMITTED, "RequestResponse")) return;
    const decision = this.decision as PolicyDecision;
    event.responseObject = (
      decision.omitManagedFields ? this.core.strip(obj) : obj
    ) as Event["responseObject"];
  }

  /** `audit.LogImpersonatedUser`; before RequestReceived was sent it is kept for the later stages. */
  setImpersonatedUser(user: UserInfo): void {
    if (!this.enabled) return;
    const copy = impersonatedUserOf(user);
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

  /**
   * Whether the client went away before sending all of its body. kube's handlers read the body
   * first; the read fails with Go's `unexpected EOF`, and the request is logged as that error's
   * 500 Status at ResponseComplete — not as a panic, and not as a connection closed early.
   */
  private bodyCutOff(err?: unknown): boolean {
    const req = this.req;
    if (req.complete) return false;
    const h = req.headers;
    if (h["transfer-encoding"] === undefined && (h["content-length"] ?? "0") === "0") return false;
    return (
      req.destroyed ||
      req.socket?.destroyed === true ||
      (err as { code?: unknown } | undefined)?.code === "ECONNRESET"
    );
  }

  /** ResponseComplete of a request whose body could not be read (see {@link bodyCutOff}). */
  private bodyReadFailed(event: Event): void {
    this.applyBodies(true);
    event.responseStatus = {
      metadata: {},
      status: "Failure",
      message: "unexpected EOF",
      code: this.codeWritten ?? 500,
    };
    this.emit("ResponseComplete", this.writeLatency(event));
    this.release();
  }

  /** The handler threw or rejected: Panic(500), no ResponseComplete. */
  panic(err: unknown): void {
    if (this.done || !this.event) {
      this.done = true;
      return;
    }
    this.done = true;
    if (this.codeWritten === undefined && this.bodyCutOff(err)) {
      this.bodyReadFailed(this.event);
      return;
    }
    this.applyBodies(true);
    this.event.responseStatus = panicStatus(err);
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
    if (!event.responseStatus && this.bodyCutOff()) {
      this.bodyReadFailed(event);
      return;
    }
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
    this.emit("ResponseComplete", this.writeLatency(event));
    this.release();
  }

  /** The latency annotations of a request over 500 ms; returns the clock it read. */
  private writeLatency(event: Event): number {
    const now = this.core.clock();
    const total = now - this.receivedAt;
    if (!(total > 500)) return now;
    if (this.writeMs > 0) this.addLatency("response-write", this.writeMs);
    const l = this.latencies;
    if (l)
      for (const [layer, ms] of Object.entries(l))
        this.addAnnotationTo(event, LATENCY_PREFIX + layer, ms);
    this.addAnnotationTo(event, `${LATENCY_PREFIX}total`, total);
    return now;
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
