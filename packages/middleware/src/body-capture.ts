import type { IncomingMessage } from "node:http";
import { attachRawJSON, jsonDepth, jsonDepthExceeded, rawJSONOf } from "@kaudit/api";

// Body capture: kube-apiserver has its decoded objects at hand (audit.LogRequestObject and
// LogResponseObject are called by the handlers); a Node middleware sees bytes instead, so it tees
// them in passing — never consuming them — and decodes them once the exchange is over.

/** Annotation set when a request body is left out of `requestObject`; the value says why. */
export const ANNOTATION_REQUEST_OBJECT_OMITTED = "kaudit.dev/request-object-omitted";
/** Annotation set when a response body is left out of `responseObject`; the value says why. */
export const ANNOTATION_RESPONSE_OBJECT_OMITTED = "kaudit.dev/response-object-omitted";

/**
 * Default of `maxBodyDepth`: bodies nesting deeper are left out. kube-apiserver's decoder allows
 * 10,000 levels, but every JS consumer of the log (`JSON.stringify`, recursive walks) overflows its
 * stack somewhere past 4,000; 1,000 keeps each event readable by `decodeEvent` (1,024 levels).
 */
export const DEFAULT_MAX_BODY_DEPTH = 1000;

/** Below RequestResponse a response body is only read for a Status, which is small. */
const STATUS_SCAN_LIMIT = 64 * 1024;

/** True for `application/json` and any `+json` media type. */
export function isJSONType(ct: unknown): boolean {
  if (typeof ct !== "string") return false;
  const semi = ct.indexOf(";");
  const t = (semi < 0 ? ct : ct.slice(0, semi)).trim().toLowerCase();
  return t === "application/json" || t.endsWith("+json");
}

/** Chunks of a body seen in passing, bounded. */
export class BodyTap {
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
    if (this.chunks.length === 1) {
      const c = this.chunks[0] as Buffer | string;
      if (typeof c !== "string")
        // One chunk (the common case): decode it in place rather than copying it first.
        return Buffer.from(c.buffer, c.byteOffset, c.byteLength).toString("utf8");
      if (!this.encodings[0]) return c;
    }
    const bufs = this.chunks.map((c, i) =>
      typeof c === "string"
        ? Buffer.from(c, this.encodings[i] ?? "utf8")
        : Buffer.from(c.buffer, c.byteOffset, c.byteLength),
    );
    return Buffer.concat(bufs).toString("utf8");
  }
}

/**
 * Installs a tap on a request that has a body (the parser's `push` is observed, nothing is
 * consumed); returns it with the `push` it replaced, or undefined when the request has no body.
 */
export function tapRequestBody(
  req: IncomingMessage,
  limit: number,
): { tap: BodyTap; origPush: IncomingMessage["push"] } | undefined {
  const cl = req.headers["content-length"];
  if ((cl === undefined || cl === "0") && req.headers["transfer-encoding"] === undefined)
    return undefined;
  const tap = new BodyTap(limit);
  if (req.readableLength > 0 || req.complete) tap.missed = true;
  const origPush = req.push;
  req.push = function auditPush(
    this: IncomingMessage,
    chunk: unknown,
    encoding?: BufferEncoding,
  ): boolean {
    if (chunk === null) tap.complete = true;
    else tap.add(chunk, encoding);
    return origPush.call(this, chunk, encoding);
  };
  return { tap, origPush };
}

/** A response body tap sized for what the level needs of it. */
export function responseBodyTap(full: boolean, maxBodyBytes: number): BodyTap {
  return new BodyTap(full ? maxBodyBytes : Math.min(maxBodyBytes, STATUS_SCAN_LIMIT));
}

/** What a captured body turned into. */
export type CapturedBody =
  /** A JSON object or array, with its bytes attached (encoders write them as sent). */
  | { kind: "object"; obj: object; text: string }
  /** Left out, and why. */
  | { kind: "omitted"; reason: string }
  /** Nothing to record (no body, or not worth decoding). */
  | { kind: "none" };

const NONE: CapturedBody = { kind: "none" };

const tooDeep = (maxDepth: number): CapturedBody => ({
  kind: "omitted",
  reason: `body nests deeper than ${maxDepth} levels`,
});

/**
 * Decodes a JSON body, keeping its bytes as sent (key order, number spelling). The nesting is
 * measured first, without recursion: a body deeper than `maxDepth` is never parsed.
 */
function decodeBody(text: string, maxDepth: number): CapturedBody {
  if (jsonDepthExceeded(text, maxDepth) !== -1) return tooDeep(maxDepth);
  let obj: unknown;
  try {
    obj = JSON.parse(text) as unknown;
  } catch (e) {
    return { kind: "omitted", reason: `invalid JSON: ${(e as Error).message}` };
  }
  if (typeof obj !== "object" || obj === null) return NONE;
  attachRawJSON(obj, text);
  return { kind: "object", obj, text };
}

/** The request body a tap saw: the object, or why it is left out. */
export function capturedRequestBody(
  tap: BodyTap,
  contentType: string | undefined,
  maxBodyBytes: number,
  maxDepth: number,
): CapturedBody {
  const omitted = (reason: string): CapturedBody => ({ kind: "omitted", reason });
  if (tap.overflow) return omitted(`body larger than ${maxBodyBytes} bytes`);
  if (tap.missed) return omitted("body was read before the audit middleware saw it");
  if (!tap.complete) return omitted("body was not read completely by the handler");
  if (tap.size === 0) return NONE;
  if (!isJSONType(contentType))
    return omitted(`content type ${JSON.stringify(contentType ?? "")} is not JSON`);
  const body = decodeBody(tap.text(), maxDepth);
  return body.kind === "none" ? omitted("body is not a JSON object") : body;
}

/**
 * The response body a tap saw. `full`: the level records the object; otherwise only a Status is
 * looked for (and a body without the word is not decoded at all).
 */
export function capturedResponseBody(
  tap: BodyTap,
  full: boolean,
  maxBodyBytes: number,
  maxDepth: number,
): CapturedBody {
  if (tap.overflow)
    return full ? { kind: "omitted", reason: `body larger than ${maxBodyBytes} bytes` } : NONE;
  if (tap.size === 0) return NONE;
  const text = tap.text();
  if (!full && !text.includes('"Status"')) return NONE;
  const body = decodeBody(text, maxDepth);
  return body.kind === "omitted" && !full ? NONE : body;
}

/**
 * Whether an object a handler logs explicitly nests deeper than `maxDepth` (its attached bytes
 * are measured when it has them, else the value is walked without recursion).
 */
export function objectTooDeep(obj: object, maxDepth: number): boolean {
  const raw = rawJSONOf(obj);
  return raw !== undefined
    ? jsonDepthExceeded(raw, maxDepth) !== -1
    : jsonDepth(obj, maxDepth) > maxDepth;
}

/** The reason recorded for a body nested deeper than `maxDepth`. */
export function tooDeepReason(maxDepth: number): string {
  return (tooDeep(maxDepth) as { reason: string }).reason;
}
