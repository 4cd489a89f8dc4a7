import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { AuditContext } from "./audit-context";
import { observeNodeResponse } from "./response-observers";

/** How the adapter sends a response the middleware itself produces (500, 401, 403). */
export type Respond = (code: number, headers: Record<string, string>, body: string) => void;

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

/** The body of a Status response the middleware writes itself (401, 403). */
export function statusBody(code: number, reason: string, message: string): string {
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
