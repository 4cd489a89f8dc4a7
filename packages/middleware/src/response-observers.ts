import type { ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { AuditContext } from "./audit-context";

// auditResponseWriter of k8s.io/apiserver filters/audit.go: the status and body a handler
// writes, seen in passing on the response (or on an upgraded socket).

const RES_HOOKS = Symbol("kaudit.response-hooks");

/** What the shared response hooks need: the context and the methods they replaced. */
interface ResponseHooks {
  ctx: AuditContext;
  writeHead: (...a: unknown[]) => ServerResponse;
  write: (...a: unknown[]) => boolean;
  end: (...a: unknown[]) => ServerResponse;
}
type HookedResponse = ServerResponse & { [RES_HOOKS]: ResponseHooks };

/**
 * Reads a writeHead headers object: false when it names `audit-id` (in any case); otherwise
 * true, with its content type noted on the context (headers handed to writeHead as an object
 * are not visible to getHeader afterwards).
 */
function readHeadHeaders(ctx: AuditContext, headers: Record<string, unknown>): boolean {
  for (const k in headers) {
    const n = k.length;
    if (n === 8) {
      if (k.toLowerCase() === "audit-id") return false;
    } else if (
      n === 12 &&
      (k === "Content-Type" || k === "content-type" || k.toLowerCase() === "content-type")
    ) {
      ctx.headContentType = headers[k];
    }
  }
  return true;
}

/**
 * The headers object to write the head with, the request's `Audit-Id` added: when the response
 * has no header set yet and the handler passes its headers as an object (`fits`), a copy of that
 * object with the header first, where setHeader would have put it — Node then writes the head
 * straight from the object. Otherwise undefined, after setting the header with setHeader (before
 * the handler's, so that a handler's own `Audit-Id` wins either way, as it would over kube's).
 */
function headersWithAuditId(
  res: HookedResponse,
  ctx: AuditContext,
  obj: unknown,
  fits: boolean,
): object | undefined {
  ctx.idHeaderTarget = undefined;
  if (res.headersSent || res.hasHeader("audit-id")) return undefined;
  if (
    fits &&
    (obj === undefined || (typeof obj === "object" && obj !== null && !Array.isArray(obj))) &&
    res.getHeaderNames().length === 0 &&
    (obj === undefined || readHeadHeaders(ctx, obj as Record<string, unknown>))
  ) {
    return { "Audit-Id": ctx.auditID, ...(obj as object | undefined) };
  }
  res.setHeader("Audit-Id", ctx.auditID);
  return undefined;
}

// Module-level functions (no per-request closures): the state hangs off the response.
function auditWriteHead(this: HookedResponse, code?: unknown, reason?: unknown, obj?: unknown) {
  const hooks = this[RES_HOOKS];
  const ctx = hooks.ctx;
  ctx.onStatus(typeof code === "number" ? code : this.statusCode);
  if (ctx.idHeaderTarget !== undefined) {
    const hasReason = typeof reason === "string";
    const headers = headersWithAuditId(
      this,
      ctx,
      hasReason ? obj : reason,
      // biome-ignore lint/complexity/noArguments: how many were passed, without copying them
      arguments.length <= (hasReason ? 3 : 2),
    );
    if (headers !== undefined) {
      return hasReason
        ? hooks.writeHead.call(this, code, reason, headers)
        : hooks.writeHead.call(this, code, headers);
    }
  }
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
