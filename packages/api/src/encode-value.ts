import { KauditError } from "./errors";

/**
 * JSON values as Go's encoding/json writes them with HTML escaping on (what kube-apiserver's
 * encoders do): strings, numbers, bodies kept as their raw text or written from JS objects, map
 * keys in Go's order. The audit event around them is written by encode-event.ts.
 */

const RAW = Symbol.for("kaudit.rawJSON");

/** An object that remembers the exact JSON text it was decoded from. */
interface WithRaw {
  [RAW]?: string;
}

/**
 * Marks `obj` as having been decoded from `raw`, so {@link encodeEvent} writes those bytes
 * (compacted, HTML-escaped) instead of re-serialising the object: this keeps key order (JS puts
 * integer-like keys first), big integers and number spellings such as `1.0` exactly as sent.
 * The mark is a non-enumerable symbol, invisible to JSON.stringify and spreads, so a copy or a
 * changed object is re-serialised from its properties.
 */
export function attachRawJSON<T extends object>(obj: T, raw: string): T {
  Object.defineProperty(obj, RAW, { value: raw, enumerable: false, configurable: true });
  return obj;
}

/** The exact JSON text an object was decoded from, if {@link attachRawJSON} marked it. */
export function rawJSONOf(obj: unknown): string | undefined {
  return typeof obj === "object" && obj !== null ? (obj as WithRaw)[RAW] : undefined;
}

/**
 * Thrown by {@link encodeEvent} for what JSON cannot hold: a body that contains itself, output past
 * V8's string limit, or an object where the event has a string (an event decoded but not validated).
 */
export class EncodeError extends KauditError {
  /** The event field that could not be written (`requestObject`, `responseObject`). */
  readonly path: string;
  constructor(message: string, path: string, cause?: unknown) {
    super(path ? `${path}: ${message}` : message, { name: "EncodeError", cause });
    this.path = path;
  }
}

// Characters Go escapes in strings with HTML escaping on, plus lone surrogates (invalid UTF-8 → U+FFFD).
const NEEDS_ESCAPE = /["\\\u0000-\u001f<>&\u2028\u2029\ud800-\udfff]/;

/** A JSON string literal exactly as Go's encoding/json writes it (HTML escaping on). */
export function goJSONString(s: string): string {
  if (typeof s !== "string") s = stringOf(s);
  if (!NEEDS_ESCAPE.test(s)) return `"${s}"`;
  let out = '"';
  let last = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let rep: string | undefined;
    if (c < 0x20) {
      rep =
        c === 0x0a
          ? "\\n"
          : c === 0x0d
            ? "\\r"
            : c === 0x09
              ? "\\t"
              : c === 0x08
                ? "\\b"
                : c === 0x0c
                  ? "\\f"
                  : `\\u00${c.toString(16).padStart(2, "0")}`;
    } else if (c === 0x22) rep = '\\"';
    else if (c === 0x5c) rep = "\\\\";
    else if (c === 0x3c) rep = "\\u003c";
    else if (c === 0x3e) rep = "\\u003e";
    else if (c === 0x26) rep = "\\u0026";
    else if (c === 0x2028) rep = "\\u2028";
    else if (c === 0x2029) rep = "\\u2029";
    else if (c >= 0xd800 && c <= 0xdfff) {
      const next = s.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++; // a valid pair is written raw
        continue;
      }
      rep = "\\ufffd";
    }
    if (rep !== undefined) {
      out += s.slice(last, i) + rep;
      last = i + 1;
    }
  }
  return `${out + s.slice(last)}"`;
}

/**
 * A wrong-typed value where a string belongs: a number or boolean is written as its text (as
 * before); an object is refused — turning it into text would walk it recursively.
 */
export function stringOf(v: unknown): string {
  if (typeof v === "object" && v !== null) {
    throw new EncodeError(
      `expected a string, got ${Array.isArray(v) ? "an array" : "an object"}`,
      "",
    );
  }
  return String(v);
}

/**
 * Compacts JSON text the way Go's json.Compact does with HTML escaping (what encoding/json does
 * to a Marshaler's output such as runtime.Unknown): whitespace outside strings removed, `<`, `>`,
 * `&`, U+2028 and U+2029 escaped, everything else copied byte for byte.
 */
export function compactJSON(text: string): string {
  // Bodies sent by kubectl and client libraries are usually compact already: one native scan.
  if (!mayNeedCompacting(text)) return text;
  // Compact, with spaces only inside strings (`"value 1"`): one regex pass says so, and only
  // the HTML characters need escaping (the walk below would stop at every quote and space).
  if (isCompact(text)) return hasHtmlUnsafe(text) ? text.replace(HTML_UNSAFE, htmlEscape) : text;
  // Jump between the characters that matter with a native regex instead of walking every char.
  const special = /["\\ \n\r\t<>&\u2028\u2029]/g;
  let out = "";
  let last = 0;
  let inString = false;
  for (let m = special.exec(text); m !== null; m = special.exec(text)) {
    const i = m.index;
    const c = text.charCodeAt(i);
    if (c === 0x22) inString = !inString;
    else if (c === 0x5c)
      special.lastIndex = i + 2; // skip the escaped character
    else if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
      if (inString) continue;
      out += text.slice(last, i);
      last = i + 1;
    } else {
      out += `${text.slice(last, i)}\\u${c.toString(16).padStart(4, "0")}`;
      last = i + 1;
    }
  }
  return last === 0 ? text : out + text.slice(last);
}

const HTML_UNSAFE = /[<>&\u2028\u2029]/g;

/**
 * The longest prefix without whitespace outside strings, a backslash outside strings, or a
 * backslash before an HTML character: runs of other characters and whole strings (unrolled, so
 * a run of plain characters costs one step). Where it covers the text, the walk in
 * {@link compactJSON} would only escape the HTML characters.
 */
const COMPACT_PREFIX = /(?:[^"\\ \t\n\r]+|"[^"\\]*(?:\\[^<>&\u2028\u2029][^"\\]*)*")*/y;

function isCompact(text: string): boolean {
  COMPACT_PREFIX.lastIndex = 0;
  try {
    COMPACT_PREFIX.test(text);
  } catch {
    return false; // the regex engine's backtrack stack overflowed (a body of many megabytes)
  }
  return COMPACT_PREFIX.lastIndex === text.length;
}
/**
 * Whitespace (possibly outside strings) or a character Go escapes: compaction may have work to
 * do. indexOf is a vectorised native scan: nine of them are ~10× faster than one regex
 * character class over a 4 KB body.
 */
function mayNeedCompacting(text: string): boolean {
  return (
    text.indexOf(" ") !== -1 ||
    text.indexOf("\n") !== -1 ||
    text.indexOf("\r") !== -1 ||
    text.indexOf("\t") !== -1 ||
    text.indexOf("<") !== -1 ||
    text.indexOf(">") !== -1 ||
    text.indexOf("&") !== -1 ||
    text.indexOf("\u2028") !== -1 ||
    text.indexOf("\u2029") !== -1
  );
}
/** `<`, `>`, `&`, U+2028 or U+2029 in the text: five native scans beat one regex replace that finds nothing. */
function hasHtmlUnsafe(text: string): boolean {
  return (
    text.indexOf("<") !== -1 ||
    text.indexOf(">") !== -1 ||
    text.indexOf("&") !== -1 ||
    text.indexOf("\u2028") !== -1 ||
    text.indexOf("\u2029") !== -1
  );
}
const htmlEscape = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;

function byteCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

// Go sorts map keys by their UTF-8 bytes; UTF-16 order only differs once surrogates are involved.
const SURROGATE = /[\ud800-\udfff]/;

export function sortedKeys(obj: Record<string, unknown>): string[] {
  const keys = Object.keys(obj);
  if (keys.length < 2) return keys;
  return keys.some((k) => SURROGATE.test(k)) ? keys.sort(byteCompare) : keys.sort();
}

export function number(n: number): string {
  // Go writes floats with the shortest representation like JS, but exponents without padding
  // and never `Infinity`/`NaN` (which it refuses; we write null rather than invalid JSON).
  if (!Number.isFinite(n)) return "null";
  return String(n);
}

/** Any JSON value in Go's spelling; object keys keep their order (Go's raw bytes keep theirs). */
export function encodeValue(v: unknown): string {
  if (v === null || v === undefined) return "null";
  switch (typeof v) {
    case "string":
      return goJSONString(v);
    case "number":
      return number(v);
    case "boolean":
      return v ? "true" : "false";
    case "bigint":
      return v.toString();
    case "object": {
      const raw = (v as WithRaw)[RAW];
      if (raw !== undefined) return compactJSON(raw);
      if (Array.isArray(v)) {
        let out = "[";
        for (let i = 0; i < v.length; i++) out += (i ? "," : "") + encodeValue(v[i]);
        return `${out}]`;
      }
      if (typeof (v as { toJSON?: unknown }).toJSON === "function") {
        return encodeValue((v as { toJSON(): unknown }).toJSON());
      }
      return encodePlainObject(v as Record<string, unknown>);
    }
    default:
      return "null";
  }
}

/** One container being written by {@link encodeValueIterative}. */
interface Frame {
  value: object;
  keys: string[] | undefined; // undefined for an array
  next: number;
  out: string;
}

/**
 * {@link encodeValue} with an explicit stack instead of recursion, for values too deep for the
 * call stack (a body nested thousands of levels). Same bytes as the field-by-field path; a
 * value that contains itself is refused.
 */
function encodeValueIterative(root: unknown, path: string): string {
  const stack: Frame[] = [];
  const open = new Set<object>();
  // Returns the finished text of a leaf, or undefined after pushing a frame for a container.
  const enter = (v: unknown): string | undefined => {
    for (;;) {
      if (typeof v !== "object" || v === null) return encodeValue(v);
      const raw = (v as WithRaw)[RAW];
      if (raw !== undefined) return compactJSON(raw);
      if (!Array.isArray(v) && typeof (v as { toJSON?: unknown }).toJSON === "function") {
        v = (v as { toJSON(): unknown }).toJSON();
        continue;
      }
      if (open.has(v)) throw new EncodeError("the value contains itself", path);
      open.add(v);
      stack.push({
        value: v,
        keys: Array.isArray(v) ? undefined : Object.keys(v),
        next: 0,
        out: Array.isArray(v) ? "[" : "{",
      });
      return undefined;
    }
  };
  let done = enter(root);
  while (done === undefined) {
    const f = stack[stack.length - 1] as Frame;
    let child: string | undefined;
    if (f.keys === undefined) {
      const arr = f.value as unknown[];
      if (f.next < arr.length) {
        if (f.next > 0) f.out += ",";
        child = enter(arr[f.next++]);
        if (child === undefined) continue;
        f.out += child;
        continue;
      }
      f.out += "]";
    } else {
      const obj = f.value as Record<string, unknown>;
      let pushed = false;
      while (f.next < f.keys.length) {
        const k = f.keys[f.next++] as string;
        const x = obj[k];
        if (x === undefined || typeof x === "function" || typeof x === "symbol") continue;
        f.out += `${f.out.length > 1 ? "," : ""}${goJSONString(k)}:`;
        child = enter(x);
        if (child === undefined) {
          pushed = true;
          break;
        }
        f.out += child;
      }
      if (pushed) continue;
      f.out += "}";
    }
    stack.pop();
    open.delete(f.value);
    const parent = stack[stack.length - 1];
    if (parent === undefined) done = f.out;
    else parent.out += f.out;
  }
  return done;
}

/**
 * A body as {@link encodeValue} writes it, never overflowing the stack: a value too deep for
 * the recursive writers (or holding a BigInt, which JSON.stringify refuses) is written again by
 * the iterative one.
 */
export function encodeBody(v: unknown, path: string): string {
  try {
    return encodeValue(v);
  } catch (e) {
    if (!(e instanceof RangeError || e instanceof TypeError)) throw e;
  }
  try {
    return encodeValueIterative(v, path);
  } catch (e) {
    if (e instanceof EncodeError) throw e;
    throw new EncodeError(`cannot be written as JSON: ${(e as Error).message}`, path, e);
  }
}

/**
 * JSON.stringify writes what Go writes for plain data (same escapes for quotes, backslashes and
 * control characters, same number spelling) except that Go also escapes `<`, `>`, `&`,
 * U+2028/U+2029 and turns lone surrogates into U+FFFD: patch up the former, and take the
 * field-by-field path when the output shows a `\ud…` escape. (A raw-marked object nested inside
 * a JS-built one is written from its properties: only top-level bodies keep their bytes.)
 */
function encodePlainObject(v: Record<string, unknown>): string {
  const text = JSON.stringify(v);
  if (!text.includes("\\ud"))
    return hasHtmlUnsafe(text) ? text.replace(HTML_UNSAFE, htmlEscape) : text;
  let out = "{";
  let first = true;
  for (const k in v) {
    const x = v[k];
    if (x === undefined || typeof x === "function" || typeof x === "symbol") continue;
    out += `${first ? "" : ","}${goJSONString(k)}:${encodeValue(x)}`;
    first = false;
  }
  return `${out}}`;
}

/** Whether JSON.stringify writes `v` as {@link encodeValue} does: a plain object, no raw text, no toJSON of its own. */
function stringifiable(v: unknown): boolean {
  return (
    typeof v === "object" &&
    v !== null &&
    !Array.isArray(v) &&
    (v as WithRaw)[RAW] === undefined &&
    typeof (v as { toJSON?: unknown }).toJSON !== "function"
  );
}

/**
 * `,"requestObject":…,"responseObject":…` for the bodies present (null, undefined, or a value
 * written as `null`: absent),
 * each written as {@link encodeValue} writes it. Two bodies built in JS are written by one
 * JSON.stringify call (each call has a fixed cost that is a good part of a 2 KB body's); that
 * call's escapes are patched to Go's as for one body. Raw-marked bodies, arrays, values with
 * their own toJSON, and anything the one call cannot write (a lone surrogate, a BigInt, a cycle,
 * too deep) are written body by body as before, so the bytes and errors are the same.
 */
export function encodeBodies(request: unknown, response: unknown): string {
  const hasRequest = request !== undefined && request !== null;
  const hasResponse = response !== undefined && response !== null;
  if (!hasRequest && !hasResponse) return "";
  if ((!hasRequest || stringifiable(request)) && (!hasResponse || stringifiable(response))) {
    let text: string | undefined;
    try {
      text = JSON.stringify({
        requestObject: request ?? undefined,
        responseObject: response ?? undefined,
      });
    } catch {
      text = undefined; // written again body by body, which reports what is wrong
    }
    if (text !== undefined && !text.includes("\\ud")) {
      if (hasHtmlUnsafe(text)) text = text.replace(HTML_UNSAFE, htmlEscape);
      return `,${text.slice(1, -1)}`;
    }
  }
  // A body that writes as `null` (NaN or ±Infinity, say a `1e400` body decoded by JSON.parse) is
  // left out like an absent one: Go omits a nil body and never writes `"requestObject":null`,
  // and the line must read back as the same event.
  const req = hasRequest ? encodeBody(request, "requestObject") : "null";
  const res = hasResponse ? encodeBody(response, "responseObject") : "null";
  return `${req === "null" ? "" : `,"requestObject":${req}`}${res === "null" ? "" : `,"responseObject":${res}`}`;
}
