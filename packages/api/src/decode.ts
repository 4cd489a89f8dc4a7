import { attachRawJSON } from "./encode";
import { KauditError } from "./errors";
import { jsonDepthExceeded, MAX_JSON_DEPTH } from "./json-depth";
import type { Event } from "./types";

/** Thrown when text is not one JSON event (or list) at all. */
export class DecodeError extends KauditError {
  /** Character offset (0-based) into the text where decoding failed, when known. */
  readonly offset: number | undefined;
  constructor(message: string, offset?: number, cause?: unknown) {
    super(message, { name: "DecodeError", cause });
    this.offset = offset;
  }
}

function skipWs(t: string, i: number): number {
  while (i < t.length) {
    const c = t.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  return i;
}

function skipString(t: string, i: number): number {
  // t[i] is the opening quote. indexOf jumps to the next quote natively (most of an event's
  // text is inside strings); a quote after an odd number of backslashes is escaped.
  for (let q = t.indexOf('"', i + 1); q !== -1; q = t.indexOf('"', q + 1)) {
    let backslashes = 0;
    while (t.charCodeAt(q - 1 - backslashes) === 0x5c) backslashes++;
    if ((backslashes & 1) === 0) return q + 1;
  }
  return t.length;
}

/** The end offset of the JSON value starting at `i` (the text is known to be valid JSON). */
function skipValue(t: string, i: number): number {
  const c = t.charCodeAt(i);
  if (c === 0x22) return skipString(t, i);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    for (; i < t.length; i++) {
      const d = t.charCodeAt(i);
      if (d === 0x22) i = skipString(t, i) - 1;
      else if (d === 0x7b || d === 0x5b) depth++;
      else if (d === 0x7d || d === 0x5d) {
        depth--;
        if (depth === 0) return i + 1;
      }
    }
    return i;
  }
  while (i < t.length && !",}] \n\r\t".includes(t[i]!)) i++;
  return i;
}

/** The key written at t[i, end) (quotes included); decoded only when it has an escape. */
function keyAt(t: string, i: number, end: number): string {
  for (let k = i + 1; k < end - 1; k++) {
    if (t.charCodeAt(k) === 0x5c) return JSON.parse(t.slice(i, end)) as string;
  }
  return t.slice(i + 1, end - 1);
}

/** Raw spans of the given keys among the members of the object starting at `start`. */
function memberSpans(t: string, start: number, keys: ReadonlySet<string>): Map<string, string> {
  const found = new Map<string, string>();
  let i = skipWs(t, start) + 1; // past "{"
  for (;;) {
    i = skipWs(t, i);
    if (t[i] !== '"') break;
    const keyEnd = skipString(t, i);
    const key = keyAt(t, i, keyEnd);
    i = skipWs(t, keyEnd) + 1; // past ":"
    i = skipWs(t, i);
    const end = skipValue(t, i);
    if (keys.has(key)) found.set(key, t.slice(i, end));
    i = skipWs(t, end);
    if (t[i] !== ",") break;
    i++;
  }
  return found;
}

const BODY_KEYS = new Set(["requestObject", "responseObject"]);

/** Marks requestObject/responseObject of `event` (decoded from the object at `start`) with their raw text. */
function keepRawBodies(text: string, start: number, event: Record<string, unknown>): void {
  if (typeof event.requestObject !== "object" && typeof event.responseObject !== "object") return;
  for (const [key, raw] of memberSpans(text, start, BODY_KEYS)) {
    const v = event[key];
    if (typeof v === "object" && v !== null) attachRawJSON(v, raw);
  }
}

/** Options of {@link decodeEvent} and {@link decodeEventList}. */
export interface DecodeOptions {
  /** Deepest nesting of arrays and objects accepted. Default {@link MAX_JSON_DEPTH} (1,024). */
  maxDepth?: number | undefined;
}

/**
 * V8's JSON.parse message without the excerpt of the input some of them quote (the text may be
 * a body, and a secret in it must not reach an error message): `Unexpected token 'h', "{"pw":
 * hunter2}" is not valid JSON` becomes `unexpected token`.
 */
export function jsonSyntaxMessage(err: unknown): string {
  const message = String((err as Error)?.message ?? err);
  if (/ is not valid JSON$/.test(message) || /"/.test(message)) {
    return /^Unterminated string/.test(message) ? "unterminated string" : "unexpected token";
  }
  return message;
}

function parse(text: string, options: DecodeOptions | undefined): unknown {
  const limit = options?.maxDepth ?? MAX_JSON_DEPTH;
  const at = jsonDepthExceeded(text, limit);
  if (at !== -1) {
    throw new DecodeError(`JSON nests deeper than ${limit} levels at offset ${at}`, at);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    const m = /position (\d+)/.exec(String((e as Error).message));
    throw new DecodeError(`invalid JSON: ${jsonSyntaxMessage(e)}`, m ? Number(m[1]) : undefined, e);
  }
}

/**
 * Decodes one JSON event (a log line, or a pretty-printed object). The result is the object as
 * written — no upgrade, no validation (see `upgradeEvent`, `validateEvent`) — except that
 * requestObject and responseObject remember their exact text, so encoding the event again gives
 * kube-apiserver's bytes even for integer-like keys, big integers and spellings like `1.0`.
 * Text nested deeper than `options.maxDepth` (default 1,024) is refused before it is parsed.
 * @throws DecodeError when the text is not JSON, nests too deep, or is not an object.
 */
export function decodeEvent(text: string, options?: DecodeOptions): Event {
  const value = parse(text, options);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new DecodeError(
      `expected a JSON object, got ${Array.isArray(value) ? "an array" : typeof value}`,
      0,
    );
  }
  if (text.includes('Object"'))
    keepRawBodies(text, skipWs(text, 0), value as Record<string, unknown>);
  return value as Event;
}

/**
 * Decodes a JSON EventList (a webhook body), keeping each item's bodies exact as {@link decodeEvent} does.
 * @throws DecodeError when the text is not JSON, nests too deep, or is not an object.
 */
export function decodeEventList(
  text: string,
  options?: DecodeOptions,
): {
  kind?: string;
  apiVersion?: string;
  items: Event[];
} {
  const value = parse(text, options) as { items?: unknown };
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new DecodeError("expected a JSON object", 0);
  }
  if (Array.isArray(value.items) && text.includes('Object"')) {
    const start = skipWs(text, 0);
    const itemsRaw = memberSpans(text, start, new Set(["items"])).get("items");
    if (itemsRaw !== undefined) {
      const base = text.indexOf(itemsRaw, start);
      let i = skipWs(text, base + 1);
      for (const item of value.items) {
        if (typeof item === "object" && item !== null)
          keepRawBodies(text, i, item as Record<string, unknown>);
        i = skipWs(text, skipValue(text, i));
        if (text[i] === ",") i = skipWs(text, i + 1);
      }
    }
  }
  return value as { kind?: string; apiVersion?: string; items: Event[] };
}
