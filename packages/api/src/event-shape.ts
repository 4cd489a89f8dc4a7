/**
 * A hand-written check of the audit.k8s.io/v1 Event schema (schemas/Event.json) for the fast
 * path of `validateEvent`: `isEventShape(v)` is true exactly when ajv, compiled from that schema
 * with kaudit's options, accepts `v`. It follows ajv's generated code rule for rule — `for…in`
 * for unknown keys, `x.key !== undefined` before a type check, `typeof … == "number"` (NaN and
 * Infinity pass), `required` as `=== undefined` — so that the slow path (compiling ajv, ~0.3 s
 * at start-up, and its error bookkeeping) is only needed to say what is wrong. The property test
 * in event-shape.test.ts holds the two equal on random valid and mutated events and the corpus;
 * a schema change that this file does not know makes those tests fail.
 */

/** `^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$`, the schema's MicroTime pattern. */
const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/u;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isStringArray(v: unknown): boolean {
  if (!Array.isArray(v)) return false;
  for (let i = 0; i < v.length; i++) if (typeof v[i] !== "string") return false;
  return true;
}

/** A string property: absent (undefined) or a string. */
function optString(v: unknown): boolean {
  return v === undefined || typeof v === "string";
}

function optNumber(v: unknown): boolean {
  return v === undefined || typeof v === "number";
}

function isMicroTimeOrNull(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === "string" && MICRO_TIME.test(v));
}

/** RawObject: any JSON value (object, array, string, number, boolean, null). */
function isRawObject(v: unknown): boolean {
  const t = typeof v;
  return v === undefined || t === "object" || t === "string" || t === "number" || t === "boolean";
}

function isUserInfo(u: unknown): boolean {
  if (!isObject(u)) return false;
  for (const k in u) {
    if (k !== "username" && k !== "uid" && k !== "groups" && k !== "extra") return false;
  }
  if (!optString(u.username) || !optString(u.uid)) return false;
  if (u.groups !== undefined && !isStringArray(u.groups)) return false;
  const extra = u.extra;
  if (extra !== undefined) {
    if (!isObject(extra)) return false;
    for (const k in extra) if (!isStringArray(extra[k])) return false;
  }
  return true;
}

function isObjectReference(r: unknown): boolean {
  if (!isObject(r)) return false;
  for (const k in r) {
    switch (k) {
      case "resource":
      case "namespace":
      case "name":
      case "uid":
      case "apiGroup":
      case "apiVersion":
      case "resourceVersion":
      case "subresource":
        break;
      default:
        return false;
    }
  }
  return (
    optString(r.resource) &&
    optString(r.namespace) &&
    optString(r.name) &&
    optString(r.uid) &&
    optString(r.apiGroup) &&
    optString(r.apiVersion) &&
    optString(r.resourceVersion) &&
    optString(r.subresource)
  );
}

function isListMeta(m: unknown): boolean {
  if (!isObject(m)) return false;
  for (const k in m) {
    if (
      k !== "selfLink" &&
      k !== "resourceVersion" &&
      k !== "continue" &&
      k !== "remainingItemCount"
    )
      return false;
  }
  return (
    optString(m.selfLink) &&
    optString(m.resourceVersion) &&
    optString(m.continue) &&
    optNumber(m.remainingItemCount)
  );
}

function isStatusCause(c: unknown): boolean {
  if (!isObject(c)) return false;
  for (const k in c) if (k !== "reason" && k !== "message" && k !== "field") return false;
  return optString(c.reason) && optString(c.message) && optString(c.field);
}

function isStatusDetails(d: unknown): boolean {
  if (!isObject(d)) return false;
  for (const k in d) {
    switch (k) {
      case "name":
      case "group":
      case "kind":
      case "uid":
      case "causes":
      case "retryAfterSeconds":
        break;
      default:
        return false;
    }
  }
  if (!optString(d.name) || !optString(d.group) || !optString(d.kind) || !optString(d.uid))
    return false;
  const causes = d.causes;
  if (causes !== undefined) {
    if (!Array.isArray(causes)) return false;
    for (let i = 0; i < causes.length; i++) if (!isStatusCause(causes[i])) return false;
  }
  return optNumber(d.retryAfterSeconds);
}

function isStatus(s: unknown): boolean {
  if (!isObject(s)) return false;
  for (const k in s) {
    switch (k) {
      case "kind":
      case "apiVersion":
      case "metadata":
      case "status":
      case "message":
      case "reason":
      case "details":
      case "code":
        break;
      default:
        return false;
    }
  }
  return (
    optString(s.kind) &&
    optString(s.apiVersion) &&
    (s.metadata === undefined || isListMeta(s.metadata)) &&
    optString(s.status) &&
    optString(s.message) &&
    optString(s.reason) &&
    (s.details === undefined || isStatusDetails(s.details)) &&
    optNumber(s.code)
  );
}

function isLevel(v: unknown): boolean {
  return v === "Metadata" || v === "RequestResponse" || v === "Request" || v === "None";
}

function isStage(v: unknown): boolean {
  return (
    v === "ResponseComplete" || v === "ResponseStarted" || v === "RequestReceived" || v === "Panic"
  );
}

/**
 * True exactly when the Event schema accepts `e` (see the file comment). Checks shape only:
 * the depth of the bodies is `validateEvent`'s own check.
 */
export function isEventShape(e: unknown): boolean {
  if (!isObject(e)) return false;
  for (const k in e) {
    switch (k) {
      case "kind":
      case "apiVersion":
      case "level":
      case "auditID":
      case "stage":
      case "requestURI":
      case "verb":
      case "user":
      case "impersonatedUser":
      case "authenticationMetadata":
      case "sourceIPs":
      case "userAgent":
      case "objectRef":
      case "responseStatus":
      case "requestObject":
      case "responseObject":
      case "requestReceivedTimestamp":
      case "stageTimestamp":
      case "annotations":
        break;
      default:
        return false;
    }
  }
  if (e.kind !== undefined && e.kind !== "Event") return false;
  if (!optString(e.apiVersion)) return false;
  // required: level, auditID, stage, requestURI, verb, user
  if (!isLevel(e.level) || !isStage(e.stage)) return false;
  if (typeof e.auditID !== "string" || typeof e.requestURI !== "string") return false;
  if (typeof e.verb !== "string" || !isUserInfo(e.user)) return false;
  if (e.impersonatedUser !== undefined && !isUserInfo(e.impersonatedUser)) return false;
  const am = e.authenticationMetadata;
  if (am !== undefined) {
    if (!isObject(am)) return false;
    for (const k in am) if (k !== "impersonationConstraint") return false;
    if (!optString(am.impersonationConstraint)) return false;
  }
  if (e.sourceIPs !== undefined && !isStringArray(e.sourceIPs)) return false;
  if (!optString(e.userAgent)) return false;
  if (e.objectRef !== undefined && !isObjectReference(e.objectRef)) return false;
  if (e.responseStatus !== undefined && !isStatus(e.responseStatus)) return false;
  if (!isRawObject(e.requestObject) || !isRawObject(e.responseObject)) return false;
  if (!isMicroTimeOrNull(e.requestReceivedTimestamp) || !isMicroTimeOrNull(e.stageTimestamp))
    return false;
  const an = e.annotations;
  if (an !== undefined) {
    if (!isObject(an)) return false;
    for (const k in an) if (typeof an[k] !== "string") return false;
  }
  return true;
}
