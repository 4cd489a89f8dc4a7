import type { IncomingMessage, ServerResponse } from "node:http";
import { contextOf } from "./audit-context";
import { AuditCore } from "./audit-filter";
import type { AuditOptions } from "./options";
import { observeNodeResponse } from "./response-observers";
import { isThenable } from "./thenable";

/** The parts of a Fastify request the plugin uses. */
interface FastifyRequestLike {
  raw: IncomingMessage;
}
/** The parts of a Fastify reply the plugin uses. */
interface FastifyReplyLike {
  raw: ServerResponse;
  code(statusCode: number): FastifyReplyLike;
  headers(values: Record<string, string>): FastifyReplyLike;
  send(payload?: unknown): FastifyReplyLike;
}
/** The parts of a Fastify instance the plugin uses. */
export interface FastifyInstanceLike {
  addHook(
    name: "onRequest",
    hook: (
      request: FastifyRequestLike,
      reply: FastifyReplyLike,
      done: (err?: Error) => void,
    ) => void,
  ): unknown;
  addHook(
    name: "onError",
    hook: (
      request: FastifyRequestLike,
      reply: FastifyReplyLike,
      error: Error,
      done: () => void,
    ) => void,
  ): unknown;
}

/** The Fastify plugin type of {@link fastifyAudit}. */
export type FastifyAuditPlugin = ((
  fastify: FastifyInstanceLike,
  options: AuditOptions,
  done: (err?: Error) => void,
) => void) & { [key: symbol]: unknown };

/**
 * The audit filter as a Fastify plugin (global: not encapsulated). Same behaviour and options as
 * {@link withAudit}. Handler errors without an HTTP status below 500 are recorded as Panic events
 * (from Fastify's `onError` hook) and then answered by Fastify's error handler.
 *
 * @example
 * await app.register(fastifyAudit, { sink, policy });
 */
export const fastifyAudit: FastifyAuditPlugin = Object.assign(
  function fastifyAudit(
    fastify: FastifyInstanceLike,
    options: AuditOptions,
    done: (err?: Error) => void,
  ): void {
    const core = AuditCore.create(options);
    if (!core) {
      done();
      return;
    }
    fastify.addHook("onRequest", (request, reply, hookDone) => {
      const req = request.raw;
      const res = reply.raw;
      if (contextOf(req)) {
        hookDone();
        return;
      }
      const ctx = core.begin(req, res);
      let ret: unknown;
      try {
        ret = core.handle(ctx, {
          req,
          respond: (code, headers, body) => {
            reply.code(code).headers(headers).send(body);
          },
          observe: (c) => observeNodeResponse(res, c),
          invoke: () => hookDone(),
        });
      } catch (err) {
        hookDone(err as Error);
        return;
      }
      if (isThenable(ret)) Promise.resolve(ret).then(undefined, (err) => hookDone(err as Error));
    });
    fastify.addHook("onError", (request, _reply, error, hookDone) => {
      const ctx = contextOf(request.raw);
      if (ctx && AuditCore.isPanic(error)) ctx.panic(error);
      hookDone();
    });
    done();
  },
  { [Symbol.for("skip-override")]: true, [Symbol.for("fastify.display-name")]: "fastifyAudit" },
);
