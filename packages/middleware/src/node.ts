import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { contextOf } from "./audit-context";
import { AuditCore } from "./audit-filter";
import { NodeExchange, respondSocket } from "./exchange";
import type { AuditOptions } from "./options";
import { injectAuditIdOnSocket, observeUpgradeSocket } from "./response-observers";

/** A node:http request handler, or an `upgrade` listener `(req, socket, head)`. */
export type NodeHandler =
  | ((req: IncomingMessage, res: ServerResponse) => unknown)
  | ((req: IncomingMessage, socket: Duplex, head: Buffer) => unknown);

function isResponse(x: unknown): x is ServerResponse {
  return typeof (x as { writeHead?: unknown })?.writeHead === "function";
}

/**
 * Wraps a node:http handler with kube-apiserver's audit filter (`WithAuditInit` + `WithAudit`,
 * plus `WithFailedAuthenticationAudit` when `authenticate` is given). With no sink or no policy
 * the handler is returned unchanged, as kube-apiserver does without an audit policy.
 *
 * Per request: the `Audit-ID` request header (or a new UUIDv4) is echoed as `Audit-Id`; the
 * policy is evaluated; at a level other than None the stages RequestReceived, ResponseStarted
 * (long-running requests), ResponseComplete or Panic go to the sink. If the sink refuses
 * RequestReceived the handler is not called and the client gets kube's 500. A handler that
 * throws or rejects gets a Panic event and the error is passed on (rethrown / rejected) to
 * whatever runs the handler, which answers the client, as kube's panic recovery does.
 *
 * Also accepts an `upgrade` listener `(req, socket, head)`: the first bytes written on the
 * socket are the response head (code 101 unless they say otherwise) and the socket's close ends
 * the request.
 *
 * @example
 * const server = http.createServer(withAudit((req, res) => res.end("ok"), { sink, policy }));
 */
export function withAudit<H extends (req: IncomingMessage, res: ServerResponse) => unknown>(
  handler: H,
  options: AuditOptions,
): H;
/** Wraps an `upgrade` listener `(req, socket, head)`; see the request-handler overload. */
export function withAudit<
  H extends (req: IncomingMessage, socket: Duplex, head: Buffer) => unknown,
>(handler: H, options: AuditOptions): H;
export function withAudit<H extends NodeHandler>(handler: H, options: AuditOptions): H {
  const core = AuditCore.create(options);
  if (!core) return handler;
  const call = handler as (this: unknown, ...args: unknown[]) => unknown;
  return function audited(
    this: unknown,
    req: IncomingMessage,
    resOrSocket: ServerResponse | Duplex,
    head?: Buffer,
  ) {
    if (contextOf(req)) return call.call(this, req, resOrSocket, head);
    if (isResponse(resOrSocket)) {
      const ctx = core.begin(req, resOrSocket);
      return core.handle(ctx, new NodeExchange(req, resOrSocket, call, this, undefined));
    }
    const socket = resOrSocket;
    const ctx = core.begin(req, (id) => injectAuditIdOnSocket(socket, id));
    return core.handle(ctx, {
      req,
      respond: respondSocket(socket, ctx.auditID),
      observe: (c) => observeUpgradeSocket(socket, c),
      invoke: () => call.call(this, req, socket, head),
    });
  } as unknown as H;
}
