import type { IncomingMessage, ServerResponse } from "node:http";
import { contextOf } from "./audit-context";
import { AuditCore } from "./audit-filter";
import { NodeExchange } from "./exchange";
import type { AuditOptions } from "./options";
import { isThenable } from "./thenable";

/** A Connect/Express middleware. */
export type ConnectMiddleware = (
  req: IncomingMessage,
  res: ServerResponse,
  next: (err?: unknown) => void,
) => void;
/** A Connect/Express error middleware. */
export type ConnectErrorMiddleware = (
  err: unknown,
  req: IncomingMessage,
  res: ServerResponse,
  next: (err?: unknown) => void,
) => void;

/**
 * The audit filter as Connect/Express middleware; mount it first (before body parsers, so that
 * request bodies can be observed). Same behaviour and options as {@link withAudit}; with no sink or
 * no policy it only calls `next()`.
 *
 * Express catches handler errors itself, so to get Panic events mount {@link auditErrorHandler}
 * as the first error middleware; without it a failing handler is audited as a normal
 * ResponseComplete with whatever status Express answered.
 *
 * @example
 * app.use(auditMiddleware({ sink, policy }));
 * app.get("/api/v1/pods", (req, res) => res.json({ kind: "PodList", items: [] }));
 * app.use(auditErrorHandler());
 */
export function auditMiddleware(options: AuditOptions): ConnectMiddleware {
  const core = AuditCore.create(options);
  if (!core) {
    return function auditMiddlewareDisabled(_req, _res, next) {
      next();
    };
  }
  return function auditMiddleware(req, res, next) {
    if (contextOf(req)) {
      next();
      return;
    }
    const ctx = core.begin(req, res);
    let ret: unknown;
    try {
      ret = core.handle(ctx, new NodeExchange(req, res, undefined, undefined, next));
    } catch (err) {
      next(err);
      return;
    }
    if (isThenable(ret)) Promise.resolve(ret).then(undefined, next);
  };
}

/**
 * Express error middleware that records a Panic event (500, `APIServer panic'd: <message>`) for
 * errors without an HTTP status below 500, then passes the error on with `next(err)`.
 */
export function auditErrorHandler(): ConnectErrorMiddleware {
  return function auditErrorHandler(err, req, _res, next) {
    const ctx = contextOf(req);
    if (ctx && AuditCore.isPanic(err)) ctx.panic(err);
    next(err);
  };
}
