import type { IncomingMessage } from "node:http";
import type {
  Event,
  Level,
  ObjectReference,
  RequestAttributes,
  Status,
  UserAttributes,
  UserInfo,
} from "@kaudit/api";
import { sourceIPs } from "./ip";
import { auditUserAgent, bytesStringToUtf8, requestURIOf } from "./text";

// Event construction, as k8s.io/apiserver's audit/request.go does it: NewEventFromRequest
// (LogRequestMetadata), the objectRef completion of LogRequestObject, the Status copy of
// LogResponseObject and LogImpersonatedUser's user.

/**
 * Sets `key` as an own property, whatever its name: `extra.__proto__ = …` would replace the
 * object's prototype (and the key would vanish from the event) instead of adding the key.
 */
export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** The authenticated user as the event's `user`. */
function userInfoOf(u: UserAttributes): UserInfo {
  const out: UserInfo = { username: u.name };
  if (u.uid) out.uid = u.uid;
  if (u.groups && u.groups.length > 0) out.groups = [...u.groups];
  if (u.extra && Object.keys(u.extra).length > 0) {
    const extra: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(u.extra)) setOwn(extra, k, [...v]);
    out.extra = extra;
  }
  return out;
}

/**
 * `audit.NewEventFromRequest`: the RequestReceived event of a request. `auditID` is the header
 * value as Node gives it (latin1), or one the middleware generated (`generatedID`: ASCII, taken
 * as is); the event holds the string Go would write for those bytes.
 */
export function newEvent(
  req: IncomingMessage,
  level: Level,
  auditID: string,
  attrs: RequestAttributes,
  user: UserAttributes | undefined,
  received: string,
  annotations: Record<string, string> | undefined,
  generatedID = false,
): Event {
  const ips = sourceIPs(req);
  const ua = req.headers["user-agent"];
  let objectRef: ObjectReference | undefined;
  if (attrs.isResourceRequest) {
    objectRef = {};
    if (attrs.resource) objectRef.resource = attrs.resource;
    if (attrs.namespace) objectRef.namespace = attrs.namespace;
    if (attrs.name) objectRef.name = attrs.name;
    if (attrs.apiGroup) objectRef.apiGroup = attrs.apiGroup;
    if (attrs.apiVersion) objectRef.apiVersion = attrs.apiVersion;
    if (attrs.subresource) objectRef.subresource = attrs.subresource;
  }
  // Keys in wire order (undefined ones are skipped by JSON.stringify) so that even a naive
  // encoder writes kube's field order.
  return {
    level,
    auditID: generatedID ? auditID : bytesStringToUtf8(auditID),
    stage: "RequestReceived",
    requestURI: requestURIOf((req as { originalUrl?: string }).originalUrl ?? req.url),
    verb: attrs.verb,
    user: user ? userInfoOf(user) : {},
    impersonatedUser: undefined,
    sourceIPs: ips.length > 0 ? ips : undefined,
    userAgent: ua ? auditUserAgent(ua) : undefined,
    objectRef,
    responseStatus: undefined,
    requestObject: undefined,
    responseObject: undefined,
    requestReceivedTimestamp: received,
    stageTimestamp: received,
    annotations,
  };
}

function orderObjectRef(r: ObjectReference): ObjectReference {
  const o: ObjectReference = {};
  if (r.resource) o.resource = r.resource;
  if (r.namespace) o.namespace = r.namespace;
  if (r.name) o.name = r.name;
  if (r.uid) o.uid = r.uid;
  if (r.apiGroup) o.apiGroup = r.apiGroup;
  if (r.apiVersion) o.apiVersion = r.apiVersion;
  if (r.resourceVersion) o.resourceVersion = r.resourceVersion;
  if (r.subresource) o.subresource = r.subresource;
  return o;
}

/** LogRequestObject's first half: fills the objectRef fields still empty from the object's metadata. */
export function completeObjectRef(event: Event, obj: object): void {
  if (Array.isArray(obj)) return;
  event.objectRef ??= {};
  const ref = event.objectRef;
  const meta = (obj as { metadata?: Record<string, unknown> }).metadata;
  if (typeof meta === "object" && meta !== null) {
    if (!ref.namespace && typeof meta.namespace === "string" && meta.namespace)
      ref.namespace = meta.namespace;
    if (!ref.name && typeof meta.name === "string" && meta.name) ref.name = meta.name;
    if (!ref.uid && typeof meta.uid === "string" && meta.uid) ref.uid = meta.uid;
    if (!ref.resourceVersion && typeof meta.resourceVersion === "string" && meta.resourceVersion) {
      ref.resourceVersion = meta.resourceVersion;
    }
  }
  // Keep objectRef's field order stable for naive encoders.
  event.objectRef = orderObjectRef(ref);
}

/** True for a `kind: Status` object. */
export function isStatusObject(obj: unknown): obj is Record<string, unknown> {
  return typeof obj === "object" && obj !== null && (obj as { kind?: unknown }).kind === "Status";
}

/** LogResponseObject's Status copy into `responseStatus` (the code written wins). */
export function statusFrom(obj: Record<string, unknown>, code: number | undefined): Status {
  const s: Status = { metadata: {} };
  if (typeof obj.status === "string" && obj.status) s.status = obj.status;
  if (typeof obj.message === "string" && obj.message) s.message = obj.message;
  if (typeof obj.reason === "string" && obj.reason) s.reason = obj.reason;
  if (typeof obj.details === "object" && obj.details !== null)
    s.details = obj.details as Status["details"];
  const c = code ?? (typeof obj.code === "number" ? obj.code : undefined);
  if (c) s.code = c;
  return s;
}

/** LogImpersonatedUser's copy of the user. */
export function impersonatedUserOf(user: UserInfo): UserInfo {
  const copy: UserInfo = {};
  if (user.username !== undefined) copy.username = user.username;
  if (user.uid !== undefined) copy.uid = user.uid;
  if (user.groups && user.groups.length > 0) copy.groups = [...user.groups];
  // Spread defines own properties, so a `__proto__` key stays a key.
  if (user.extra && Object.keys(user.extra).length > 0) copy.extra = { ...user.extra };
  return copy;
}

/** The Panic stage's status, as kube's panic recovery records it. */
export function panicStatus(err: unknown): Status {
  return {
    metadata: {},
    status: "Failure",
    message: `APIServer panic'd: ${err instanceof Error ? err.message : String(err)}`,
    reason: "InternalError",
    code: 500,
  };
}
