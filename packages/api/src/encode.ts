import { KauditError } from "./errors";
import { API_VERSION } from "./levels";
import { normalizeMicroTime } from "./micro-time";
import type { Event, ObjectReference, Status, UserInfo } from "./types";

/**
 * Byte-exact kube-apiserver JSON (Go encoding/json with HTML escaping, apimachinery's encoder):
 * struct field order, omitempty rules, sorted map keys, `responseStatus.metadata` always `{}`,
 * MicroTime with six digits. Hand-written because the log sink calls it once per stage per
 * request: field-by-field concatenation with an escape-free fast path beats JSON.stringify.
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
function stringOf(v: unknown): string {
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

function sortedKeys(obj: Record<string, unknown>): string[] {
  const keys = Object.keys(obj);
  if (keys.length < 2) return keys;
  return keys.some((k) => SURROGATE.test(k)) ? keys.sort(byteCompare) : keys.sort();
}

function number(n: number): string {
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
function encodeBody(v: unknown, path: string): string {
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

// Most strings of an event repeat from request to request (user names, groups, user agents,
// resources, namespaces, annotation keys): remember how they are written. Bounded; per-request
// values (audit IDs, URIs, object names, times) never go through it. Each place an event's
// strings come from keeps its own tally: where values turn out mostly distinct (say, source IPs
// of many clients), remembering costs more than it saves, and that place rests for a while.
const QUOTED_MAX = 4096;
const QUOTED_MAX_LENGTH = 256;
const TALLY_WINDOW = 256;
const TALLY_REST = 16 * 1024;
const quoted = new Map<string, string>();

/** Hits and misses of one place in the event (level/stage/verb, the user, the user agent, …). */
interface Tally {
  hits: number;
  misses: number;
  rest: number;
}
const tally = (): Tally => ({ hits: 0, misses: 0, rest: 0 });
const WORDS = tally();
const USER = tally();
const IPS = tally();
const AGENT = tally();
const REF = tally();
const NAMESPACE = tally();
const ANNOTATION_KEYS = tally();
const ANNOTATION_VALUES = tally();

/** {@link goJSONString} for a value that tends to repeat across events. */
function repeated(s: string, t: Tally): string {
  // A wrong-typed value (decoded from hostile JSON) is written as it is, unmemoised: null as
  // null, a number or boolean as its text, an object refused (goJSONString).
  if (typeof s !== "string") return s === null || s === undefined ? "null" : goJSONString(s);
  if (t.rest > 0) {
    t.rest--;
    return goJSONString(s);
  }
  let q = quoted.get(s);
  if (q !== undefined) {
    t.hits++;
    return q;
  }
  q = goJSONString(s);
  if (s.length <= QUOTED_MAX_LENGTH) {
    if (quoted.size >= QUOTED_MAX) quoted.clear();
    quoted.set(s, q);
  }
  if (++t.misses >= TALLY_WINDOW) {
    if (t.hits < t.misses) t.rest = TALLY_REST;
    t.hits = 0;
    t.misses = 0;
  }
  return q;
}

function stringList(list: readonly string[], t: Tally): string {
  let out = "[";
  for (let i = 0; i < list.length; i++) out += (i ? "," : "") + repeated(list[i]!, t);
  return `${out}]`;
}

function userInfo(u: UserInfo | undefined | null): string {
  if (!u) return "{}";
  let out = "";
  if (u.username) out += `,"username":${repeated(u.username, USER)}`;
  if (u.uid) out += `,"uid":${repeated(u.uid, USER)}`;
  if (u.groups && u.groups.length > 0) out += `,"groups":${stringList(u.groups, USER)}`;
  if (u.extra) {
    const keys = sortedKeys(u.extra);
    if (keys.length > 0) {
      let ex = "";
      for (const k of keys) {
        const vals = u.extra[k];
        ex += `,${repeated(k, USER)}:${vals ? stringList(vals, USER) : "null"}`;
      }
      out += `,"extra":{${ex.slice(1)}}`;
    }
  }
  return `{${out.slice(1)}}`;
}

function str(key: string, v: string | undefined): string {
  return v ? `,"${key}":${goJSONString(v)}` : "";
}

/** {@link str} for a value that tends to repeat across events. */
function rstr(key: string, v: string | undefined, t: Tally): string {
  return v ? `,"${key}":${repeated(v, t)}` : "";
}

function objectRef(r: ObjectReference): string {
  const out =
    rstr("resource", r.resource, REF) +
    rstr("namespace", r.namespace, NAMESPACE) +
    str("name", r.name) +
    str("uid", r.uid) +
    rstr("apiGroup", r.apiGroup, REF) +
    rstr("apiVersion", r.apiVersion, REF) +
    str("resourceVersion", r.resourceVersion) +
    rstr("subresource", r.subresource, REF);
  return `{${out.slice(1)}}`;
}

function status(s: Status): string {
  let out = str("kind", s.kind) + str("apiVersion", s.apiVersion);
  const m = s.metadata;
  let meta = "";
  if (m) {
    meta =
      str("selfLink", m.selfLink) +
      str("resourceVersion", m.resourceVersion) +
      str("continue", m.continue);
    if (m.remainingItemCount !== undefined && m.remainingItemCount !== null) {
      meta += `,"remainingItemCount":${number(m.remainingItemCount)}`;
    }
  }
  out += `,"metadata":{${meta.slice(1)}}`;
  out += str("status", s.status) + str("message", s.message) + str("reason", s.reason);
  const d = s.details;
  if (d) {
    let det = str("name", d.name) + str("group", d.group) + str("kind", d.kind) + str("uid", d.uid);
    if (d.causes && d.causes.length > 0) {
      let causes = "";
      for (const c of Array.isArray(d.causes) ? d.causes : []) {
        if (typeof c !== "object" || c === null) continue;
        causes += `,{${(str("reason", c.reason) + str("message", c.message) + str("field", c.field)).slice(1)}}`;
      }
      det += `,"causes":[${causes.slice(1)}]`;
    }
    if (d.retryAfterSeconds) det += `,"retryAfterSeconds":${number(d.retryAfterSeconds)}`;
    out += `,"details":{${det.slice(1)}}`;
  }
  if (s.code) out += `,"code":${number(s.code)}`;
  return `{${out.slice(1)}}`;
}

function time(v: string | null | undefined): string {
  const t = normalizeMicroTime(typeof v === "string" || v == null ? v : stringOf(v));
  return t === null ? "null" : goJSONString(t);
}

function eventBody(e: Event): string {
  let out =
    `"level":${repeated(e.level ?? "", WORDS)}` +
    `,"auditID":${goJSONString(e.auditID ?? "")}` +
    `,"stage":${repeated(e.stage ?? "", WORDS)}` +
    `,"requestURI":${goJSONString(e.requestURI ?? "")}` +
    `,"verb":${repeated(e.verb ?? "", WORDS)}` +
    `,"user":${userInfo(e.user)}`;
  if (e.impersonatedUser) out += `,"impersonatedUser":${userInfo(e.impersonatedUser)}`;
  if (e.authenticationMetadata) {
    out += `,"authenticationMetadata":{${str("impersonationConstraint", e.authenticationMetadata.impersonationConstraint).slice(1)}}`;
  }
  if (e.sourceIPs && e.sourceIPs.length > 0) out += `,"sourceIPs":${stringList(e.sourceIPs, IPS)}`;
  if (e.userAgent) out += `,"userAgent":${repeated(e.userAgent, AGENT)}`;
  if (e.objectRef) out += `,"objectRef":${objectRef(e.objectRef)}`;
  if (e.responseStatus) out += `,"responseStatus":${status(e.responseStatus)}`;
  if (e.requestObject !== undefined && e.requestObject !== null)
    out += `,"requestObject":${encodeBody(e.requestObject, "requestObject")}`;
  if (e.responseObject !== undefined && e.responseObject !== null)
    out += `,"responseObject":${encodeBody(e.responseObject, "responseObject")}`;
  out += `,"requestReceivedTimestamp":${time(e.requestReceivedTimestamp)},"stageTimestamp":${time(e.stageTimestamp)}`;
  if (e.annotations) {
    const keys = sortedKeys(e.annotations);
    if (keys.length > 0) {
      let an = "";
      for (const k of keys)
        an += `,${repeated(k, ANNOTATION_KEYS)}:${repeated(stringOf(e.annotations[k] ?? ""), ANNOTATION_VALUES)}`;
      out += `,"annotations":{${an.slice(1)}}`;
    }
  }
  return out;
}

/**
 * One event as kube-apiserver's log backend writes it, without the trailing newline: kind and
 * apiVersion (`audit.k8s.io/v1`) first, then the fields in Go struct order. Never throws for an
 * event of the right shape; values of the wrong type are written as Go would write their JSON.
 * Bodies of any depth are written without overflowing the stack.
 * @throws EncodeError when a body contains itself, or its JSON would exceed V8's string limit.
 */
export function encodeEvent(event: Event): string {
  return `{"kind":"Event","apiVersion":"${API_VERSION}",${eventBody(event)}}`;
}

/**
 * An EventList as the webhook backend POSTs it, without the trailing newline; items carry no
 * kind or apiVersion.
 */
export function encodeEventList(events: readonly Event[]): string {
  let items = "";
  for (let i = 0; i < events.length; i++) items += `${i ? "," : ""}{${eventBody(events[i]!)}}`;
  return `{"kind":"EventList","apiVersion":"${API_VERSION}","metadata":{},"items":[${items}]}`;
}

/**
 * Wraps already-encoded events (each an {@link encodeEvent} line) into an EventList body without
 * decoding them again: strips each line's kind/apiVersion prefix.
 */
export function encodedEventsToList(lines: readonly string[]): string {
  const prefix = `{"kind":"Event","apiVersion":"${API_VERSION}",`;
  let items = "";
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    items += (i ? "," : "") + (l.startsWith(prefix) ? `{${l.slice(prefix.length)}` : l);
  }
  return `{"kind":"EventList","apiVersion":"${API_VERSION}","metadata":{},"items":[${items}]}`;
}
