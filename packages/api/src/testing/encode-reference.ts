import { encodeBody, goJSONString, number, sortedKeys, stringOf } from "../encode-value";
import { API_VERSION } from "../levels";
import { normalizeMicroTime } from "../micro-time";
import type { Event, ObjectReference, Status, UserInfo } from "../types";

/**
 * The field-by-field event writer encodeEvent used until the single-pass writer in
 * encode-event.ts replaced it (memoised strings, one RegExp test per string, `slice(1)` to drop
 * leading commas). Kept only as the oracle the property tests compare the new writer against:
 * it was checked byte for byte against kube-apiserver's output on the corpus. Not exported
 * from the package.
 */

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
  // a body written as `null` is absent (Go omits a nil body)
  for (const key of ["requestObject", "responseObject"] as const) {
    const body = e[key];
    const text = body === undefined || body === null ? "null" : encodeBody(body, key);
    if (text !== "null") out += `,"${key}":${text}`;
  }
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
export function encodeEventReference(event: Event): string {
  return `{"kind":"Event","apiVersion":"${API_VERSION}",${eventBody(event)}}`;
}

/**
 * An EventList as the webhook backend POSTs it, without the trailing newline; items carry no
 * kind or apiVersion.
 */
export function encodeEventListReference(events: readonly Event[]): string {
  let items = "";
  for (let i = 0; i < events.length; i++) items += `${i ? "," : ""}{${eventBody(events[i]!)}}`;
  return `{"kind":"EventList","apiVersion":"${API_VERSION}","metadata":{},"items":[${items}]}`;
}

/**
 * compactJSON as it was before its regex fast path (encode-value.ts): Go's json.Compact with
 * HTML escaping, walking from one character that matters to the next. The oracle for the
 * fast path, on valid and invalid text alike.
 */
export function compactJSONReference(text: string): string {
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
