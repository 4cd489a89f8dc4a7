import { encodeBodies, goJSONString, number, sortedKeys, stringOf } from "./encode-value";
import { normalizeMicroTime } from "./micro-time";
import type { Event, ObjectReference, Status, UserInfo } from "./types";

/**
 * The audit event in kube-apiserver's bytes (Go struct order, omitempty, sorted map keys,
 * `responseStatus.metadata` always `{}`, MicroTime with six digits), written in one pass by
 * string concatenation. V8 concatenates into ropes, so the pieces are copied once, when the
 * caller's chunk is flattened; JSON.stringify would write the wrong order and escapes and
 * would still need a patch-up pass.
 *
 * What costs is the check of each value for characters Go escapes. The quotes and keys are
 * literals in templates; the value between the quotes is written as is when it needs no escape,
 * and the check is skipped where it can be: words from a closed set (level, stage, verb) are
 * compared, a MicroTime in its canonical shape is matched (digits cannot need escaping), the
 * annotation keys of consecutive events are usually the same list, and values that repeat
 * (users, agents, namespaces) are remembered. Bodies go to {@link encodeBodies}.
 */

// Characters Go escapes in strings (HTML escaping on), plus lone surrogates (written as U+FFFD).
// One RegExp test per value: for short values it beats a JS loop over charCodeAt.
const NEEDS_ESCAPE = /["\\\u0000-\u001f<>&\u2028\u2029\ud800-\udfff]/;

/** The text between the quotes of `s` as Go writes it: `s` itself when nothing needs an escape. */
function esc(s: string): string {
  return NEEDS_ESCAPE.test(s) ? goJSONString(s).slice(1, -1) : s;
}

/** {@link esc} of a value of any type: a number or boolean as its text, an object refused. */
function inner(v: unknown): string {
  return typeof v === "string" ? esc(v) : goJSONString(stringOf(v)).slice(1, -1);
}

/** One remembered string and its {@link inner} text. */
interface Last {
  value: string;
  text: string;
}

/**
 * {@link inner} for a field that is usually the same string as in the event before (the stages
 * of one request share their audit ID and URI): the last one's text is kept.
 */
function innerLast(v: unknown, last: Last): string {
  if (typeof v !== "string") return inner(v ?? "");
  if (v === last.value) return last.text;
  const text = esc(v);
  last.value = v;
  last.text = text;
  return text;
}
const LAST_ID: Last = { value: "", text: "" };
const LAST_URI: Last = { value: "", text: "" };

// Most strings of an event repeat from request to request (user names, groups, user agents,
// source IPs, resources, namespaces, annotation values): remember how they are written, so a
// string seen before costs a hash lookup instead of a scan (a string that is the same object
// request after request, as the middleware hands over, has its hash cached). Bounded; audit IDs,
// URIs, names and times never go through it. Each place keeps its own tally: where values turn
// out mostly distinct (say, source IPs of many clients) remembering costs more than it saves,
// and that place rests for a while.
const MEMO_MAX = 4096;
const MEMO_MAX_LENGTH = 256;
const TALLY_WINDOW = 256;
const TALLY_REST = 16 * 1024;
const memo = new Map<string, string>();

/** Hits and misses of one place in the event (the user, the user agent, …). */
interface Tally {
  hits: number;
  misses: number;
  rest: number;
}
const tally = (): Tally => ({ hits: 0, misses: 0, rest: 0 });
const USERNAME = tally();
const UID = tally();
const GROUPS = tally();
const EXTRA = tally();
const IPS = tally();
const AGENT = tally();
const REF = tally();
const NAMESPACE = tally();
const ANNOTATION_VALUES = tally();

/** {@link inner} for a value that tends to repeat across events. */
function repeated(s: unknown, t: Tally): string {
  if (typeof s !== "string") return inner(s);
  if (t.rest > 0) {
    t.rest--;
    return esc(s);
  }
  let q = memo.get(s);
  if (q !== undefined) {
    t.hits++;
    return q;
  }
  q = esc(s);
  if (s.length <= MEMO_MAX_LENGTH) {
    if (memo.size >= MEMO_MAX) memo.clear();
    memo.set(s, q);
  }
  if (++t.misses >= TALLY_WINDOW) {
    // A miss costs a lookup and an insertion on top of the scan, a hit saves the scan: below
    // about two hits per miss remembering does not pay.
    if (t.hits < 2 * t.misses) t.rest = TALLY_REST;
    t.hits = 0;
    t.misses = 0;
  }
  return q;
}

/** A JSON array of strings; null/undefined items are `null`, as Go writes a nil in a []any. */
function stringList(list: ArrayLike<unknown>, t: Tally | undefined): string {
  let out = "[";
  for (let i = 0; i < list.length; i++) {
    const x = list[i];
    const text = x === null || x === undefined ? "null" : `"${t ? repeated(x, t) : inner(x)}"`;
    out += i ? `,${text}` : text;
  }
  return `${out}]`;
}

/** Keys in Go's map order (by UTF-8 bytes), without a sort when they already are. */
function goKeys(m: Record<string, unknown>): string[] {
  const keys = Object.keys(m);
  for (let i = 1; i < keys.length; i++) {
    if (!((keys[i - 1] as string) < (keys[i] as string))) return sortedKeys(m);
  }
  // Sorted by UTF-16 units; that is byte order unless a surrogate is involved.
  for (const k of keys)
    for (let i = 0; i < k.length; i++) if (k.charCodeAt(i) >= 0xd800) return sortedKeys(m);
  return keys;
}

// The annotation keys of the last event, in Go order and escaped: consecutive events nearly
// always carry the same keys (often the very same string objects), so a match skips the sort
// and the scans.
let lastAnnotationKeys: string[] = [];
let annotationOrder: string[] = [];
let annotationKeyText: string[] = [];

function annotationKeys(m: Record<string, unknown>): string[] {
  const keys = Object.keys(m);
  const last = lastAnnotationKeys;
  if (keys.length === last.length) {
    let i = 0;
    while (i < keys.length && keys[i] === last[i]) i++;
    if (i === keys.length) return annotationOrder;
  }
  const order = sortedKeys(m);
  annotationKeyText = order.map(esc);
  annotationOrder = order;
  lastAnnotationKeys = keys;
  return order;
}

function userInfo(u: UserInfo | undefined | null): string {
  if (!u) return "{}";
  let out = "{";
  if (u.username) out += `"username":"${repeated(u.username, USERNAME)}"`;
  if (u.uid) out += `${out.length > 1 ? "," : ""}"uid":"${repeated(u.uid, UID)}"`;
  if (u.groups && u.groups.length > 0)
    out += `${out.length > 1 ? "," : ""}"groups":${stringList(u.groups, GROUPS)}`;
  if (u.extra) {
    const keys = goKeys(u.extra);
    if (keys.length > 0) {
      out += `${out.length > 1 ? "," : ""}"extra":{`;
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i] as string;
        const vals = u.extra[k];
        out += `${i ? "," : ""}"${esc(k)}":${vals ? stringList(vals, EXTRA) : "null"}`;
      }
      out += "}";
    }
  }
  return `${out}}`;
}

// Each optional field is `,"key":"value"` after the first; `out.length > 1` says a field was
// written after the `{`. (Building with leading commas and slicing the first off would flatten
// the rope.)
function objectRef(r: ObjectReference): string {
  let out = "{";
  if (r.resource) out += `"resource":"${repeated(r.resource, REF)}"`;
  if (r.namespace)
    out += `${out.length > 1 ? "," : ""}"namespace":"${repeated(r.namespace, NAMESPACE)}"`;
  if (r.name) out += `${out.length > 1 ? "," : ""}"name":"${inner(r.name)}"`;
  if (r.uid) out += `${out.length > 1 ? "," : ""}"uid":"${inner(r.uid)}"`;
  if (r.apiGroup) out += `${out.length > 1 ? "," : ""}"apiGroup":"${repeated(r.apiGroup, REF)}"`;
  if (r.apiVersion)
    out += `${out.length > 1 ? "," : ""}"apiVersion":"${repeated(r.apiVersion, REF)}"`;
  if (r.resourceVersion)
    out += `${out.length > 1 ? "," : ""}"resourceVersion":"${inner(r.resourceVersion)}"`;
  if (r.subresource)
    out += `${out.length > 1 ? "," : ""}"subresource":"${repeated(r.subresource, REF)}"`;
  return `${out}}`;
}

/** `,"key":"value"` when the value is truthy (Go's omitempty), else nothing. */
function str(key: string, v: unknown): string {
  return v ? `,"${key}":"${inner(v)}"` : "";
}

/** `{` + fields + `}` for fields written by {@link str}, each with a leading comma. */
function braces(fields: string): string {
  return fields === "" ? "{}" : `{${fields.slice(1)}}`;
}

function status(s: Status): string {
  let out = "{";
  if (s.kind) out += `"kind":"${inner(s.kind)}",`;
  if (s.apiVersion) out += `"apiVersion":"${inner(s.apiVersion)}",`;
  const m = s.metadata;
  if (m) {
    let meta =
      str("selfLink", m.selfLink) +
      str("resourceVersion", m.resourceVersion) +
      str("continue", m.continue);
    if (m.remainingItemCount !== undefined && m.remainingItemCount !== null) {
      meta += `,"remainingItemCount":${number(m.remainingItemCount)}`;
    }
    out += `"metadata":${braces(meta)}`;
  } else out += '"metadata":{}';
  if (s.status) out += `,"status":"${inner(s.status)}"`;
  if (s.message) out += `,"message":"${inner(s.message)}"`;
  if (s.reason) out += `,"reason":"${inner(s.reason)}"`;
  const d = s.details;
  if (d) {
    let det = str("name", d.name) + str("group", d.group) + str("kind", d.kind) + str("uid", d.uid);
    if (d.causes && d.causes.length > 0) {
      let causes = "";
      for (const c of Array.isArray(d.causes) ? d.causes : []) {
        if (typeof c !== "object" || c === null) continue;
        causes += `,${braces(str("reason", c.reason) + str("message", c.message) + str("field", c.field))}`;
      }
      det += `,"causes":[${causes.slice(1)}]`;
    }
    if (d.retryAfterSeconds) det += `,"retryAfterSeconds":${number(d.retryAfterSeconds)}`;
    out += `,"details":${braces(det)}`;
  }
  if (s.code) out += `,"code":${number(s.code)}`;
  return `${out}}`;
}

const CANONICAL_MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

// The last two times found canonical. A request's events carry the same requestReceivedTimestamp
// string at every stage (and RequestReceived's stageTimestamp is that string too), so most
// checks are the comparison with the very same string, which costs a pointer comparison.
let canonical1 = "1970-01-01T00:00:00.000000Z";
let canonical2 = canonical1;

/**
 * A MicroTime: a value already in kube's six-digit UTC form is written as is (digits and
 * separators: nothing to escape, nothing to parse); anything else is normalised first, and
 * null/empty is `null`.
 */
function time(v: unknown): string {
  if (typeof v === "string") {
    if (v === canonical1 || v === canonical2) return `"${v}"`;
    if (v.length === 27 && CANONICAL_MICRO_TIME.test(v)) {
      canonical2 = canonical1;
      canonical1 = v;
      return `"${v}"`;
    }
  }
  const t = normalizeMicroTime(
    typeof v === "string" || v === null || v === undefined ? v : stringOf(v),
  );
  return t === null ? "null" : `"${esc(t)}"`;
}

// Level, stage and verb come from closed sets of plain words: comparing is cheaper than
// scanning. Anything else (an extension verb, a wrong type, null → "") takes the general path.
function level(v: unknown): string {
  switch (v) {
    case "Metadata":
    case "RequestResponse":
    case "Request":
    case "None":
      return v;
    default:
      return inner(v ?? "");
  }
}

function stage(v: unknown): string {
  switch (v) {
    case "ResponseComplete":
    case "RequestReceived":
    case "ResponseStarted":
    case "Panic":
      return v;
    default:
      return inner(v ?? "");
  }
}

function verb(v: unknown): string {
  switch (v) {
    case "get":
    case "list":
    case "watch":
    case "create":
    case "update":
    case "patch":
    case "delete":
    case "deletecollection":
    case "post":
    case "put":
    case "proxy":
      return v;
    default:
      return inner(v ?? "");
  }
}

/**
 * The members of an audit event's JSON object after `kind` and `apiVersion`, in Go struct
 * order, without the braces. Values of the wrong type are written as Go would write their
 * JSON text (a number where a string belongs as its digits in quotes); an object where a string
 * belongs is refused with an EncodeError.
 */
export function eventMembers(e: Event): string {
  let out = `"level":"${level(e.level)}","auditID":"${innerLast(e.auditID, LAST_ID)}","stage":"${stage(e.stage)}","requestURI":"${innerLast(e.requestURI, LAST_URI)}","verb":"${verb(e.verb)}","user":${userInfo(e.user)}`;
  if (e.impersonatedUser) out += `,"impersonatedUser":${userInfo(e.impersonatedUser)}`;
  if (e.authenticationMetadata) {
    const c = e.authenticationMetadata.impersonationConstraint;
    out += `,"authenticationMetadata":{${c ? `"impersonationConstraint":"${inner(c)}"` : ""}}`;
  }
  if (e.sourceIPs && e.sourceIPs.length > 0) out += `,"sourceIPs":${stringList(e.sourceIPs, IPS)}`;
  if (e.userAgent) out += `,"userAgent":"${repeated(e.userAgent, AGENT)}"`;
  if (e.objectRef) out += `,"objectRef":${objectRef(e.objectRef)}`;
  if (e.responseStatus) out += `,"responseStatus":${status(e.responseStatus)}`;
  out += `${encodeBodies(e.requestObject, e.responseObject)},"requestReceivedTimestamp":${time(e.requestReceivedTimestamp)},"stageTimestamp":${time(e.stageTimestamp)}`;
  const a = e.annotations;
  if (a) {
    const keys = annotationKeys(a);
    if (keys.length > 0) {
      let an = "";
      for (let i = 0; i < keys.length; i++) {
        const v = a[keys[i] as string] ?? "";
        const value = typeof v === "string" ? repeated(v, ANNOTATION_VALUES) : esc(stringOf(v));
        an += `${i ? "," : ""}"${annotationKeyText[i]}":"${value}"`;
      }
      out += `,"annotations":{${an}}`;
    }
  }
  return out;
}
