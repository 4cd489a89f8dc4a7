import type { IncomingMessage } from "node:http";
import {
  type Issue,
  KauditError,
  type PolicyEvaluator,
  type RequestAttributes,
  type Sink,
  type UserAttributes,
  type UserInfo,
} from "@kaudit/api";

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
  /**
   * Bodies nesting arrays and objects deeper than this are left out, with an annotation saying
   * so; the depth is measured before anything parses or walks the body. Default 1,000.
   */
  maxBodyDepth?: number | undefined;
  /** The clock, in epoch milliseconds (fractional for µs). Default: `performance.timeOrigin + performance.now()`. */
  clock?: (() => number) | undefined;
}

/** Default of {@link AuditOptions.maxBodyBytes}. */
export const DEFAULT_MAX_BODY = 1024 * 1024;

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

/** Throws {@link AuditOptionsError} naming every bad option. */
export function validateOptions(o: AuditOptions): void {
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
  const depth = o.maxBodyDepth;
  if (depth !== undefined && !(Number.isInteger(depth) && depth >= 1)) {
    issues.push({
      path: "options.maxBodyDepth",
      message: `expected a positive whole number of levels, got ${describe(depth)}`,
    });
  }
  if (issues.length > 0) throw new AuditOptionsError(issues);
}
