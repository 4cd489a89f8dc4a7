import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  levelAtLeast,
  type PolicyDecision,
  type PolicyEvaluator,
  type RequestAttributes,
  type Sink,
  type UserAttributes,
} from "@kaudit/api";
import { attributesFromRequest, isLongRunning, stripManagedFields } from "@kaudit/policy";
import { AuditContext, contextOf } from "./audit-context";
import { DEFAULT_MAX_BODY_DEPTH } from "./body-capture";
import type { Exchange } from "./exchange";
import { failedAuthentication } from "./failed-authentication";
import { impersonate } from "./impersonation";
import { firstHeader } from "./ip";
import { defaultClock, formatMicroTimeLocal } from "./micro-time";
import { type AuditOptions, DEFAULT_MAX_BODY, validateOptions } from "./options";
import { goQuote, htmlEscape, requestURIOf } from "./text";
import { isThenable } from "./thenable";

// The request flow of k8s.io/apiserver's filters/audit.go (WithAuditInit + WithAudit), with
// authentication and impersonation in the places kube's handler chain puts them.

const ATTR_CACHE_SIZE = 1024;
/** Methods with a URL cache of their own (a client may send any token as a method). */
const ATTR_CACHE_METHODS = 16;

/** The one implementation behind withAudit, auditMiddleware and fastifyAudit. */
export class AuditCore {
  readonly sink: Sink;
  readonly policy: PolicyEvaluator;
  readonly clock: () => number;
  readonly captureBodies: boolean;
  readonly maxBodyBytes: number;
  readonly maxBodyDepth: number;
  readonly format: (ms: number) => string;
  readonly strip: (obj: unknown) => unknown;
  private readonly options: AuditOptions;
  private readonly longRunning: (req: IncomingMessage, attrs: RequestAttributes) => boolean;
  private readonly attrCache = new Map<string, Map<string, RequestAttributes>>();

  constructor(options: AuditOptions & { sink: Sink; policy: PolicyEvaluator }) {
    this.options = options;
    this.sink = options.sink;
    this.policy = options.policy;
    validateOptions(options);
    this.clock = options.clock ?? defaultClock;
    this.captureBodies = options.captureBodies !== false;
    this.maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY;
    this.maxBodyDepth = options.maxBodyDepth ?? DEFAULT_MAX_BODY_DEPTH;
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
    const existing = contextOf(req);
    if (existing) return existing;
    const receivedAt = this.clock();
    const given = req.headers["audit-id"];
    let id = typeof given === "string" ? given : "";
    if (id.includes(",")) id = firstHeader(req, "audit-id") ?? "";
    const generated = id === "";
    if (generated) id = randomUUID();
    const ctx = new AuditContext(this, req, receivedAt, id);
    ctx.generatedID = generated;
    ctx.attach();
    if (typeof target === "function") target(id);
    // Set when the response head is written (see setAuditIdHeader): a header set before the
    // handler's writeHead(code, headers) sends Node down its slow path, which validates and
    // copies every header of the response once more.
    else if (target) ctx.idHeaderTarget = target;
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
    // One map per method, so the URL string (whose hash V8 keeps) is the key as it came.
    let byURL = this.attrCache.get(method);
    if (byURL === undefined) {
      byURL = new Map();
      if (this.attrCache.size < ATTR_CACHE_METHODS) this.attrCache.set(method, byURL);
    }
    let base = byURL.get(url);
    if (base === undefined) {
      base = attributesFromRequest({ method, url });
      if (url.length <= 1024) {
        if (byURL.size >= ATTR_CACHE_SIZE) byURL.delete(byURL.keys().next().value as string);
        byURL.set(url, base);
      }
    }
    const attrs: RequestAttributes = { ...base };
    if (user !== undefined) attrs.user = user;
    return attrs;
  }

  /**
   * kube's responsewriters.InternalError. `audited`: the request's events go on (the 500 is
   * recorded at ResponseComplete, as after impersonation); otherwise the request ends unaudited.
   */
  private internalError(ctx: AuditContext, ex: Exchange, what: string, audited = false): void {
    if (!audited) ctx.done = true;
    ctx.setAuditIdHeader();
    const uri = requestURIOf((ex.req as { originalUrl?: string }).originalUrl ?? ex.req.url);
    ex.respond(
      500,
      { "Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff" },
      `${htmlEscape(`Internal Server Error: ${goQuote(uri)}: ${what}`)}\n`,
    );
  }

  private failedAuthentication(ctx: AuditContext, ex: Exchange, _err: unknown): void {
    ctx.setAuditIdHeader();
    failedAuthentication(
      ctx,
      ex,
      this.policy,
      () => this.attributes(ex.req, undefined),
      () => this.internalError(ctx, ex, "failed to create audit event"),
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
      ctx.setAuditIdHeader();
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
    if (!authorize) return this.invoke(ctx, ex);
    return impersonate(
      ctx,
      ex,
      user,
      authorize,
      () => this.invoke(ctx, ex),
      (err) => this.invokeFailed(ctx, err),
      (what) => this.internalError(ctx, ex, what, true),
    );
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
