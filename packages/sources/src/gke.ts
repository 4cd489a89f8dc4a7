import type { Event, ObjectReference, Status } from "@kaudit/api";
import { normalizeMicroTime } from "@kaudit/api";

/** The result of mapping one cloud record: an event, or why it cannot be one (`path` inside the record). */
export type Mapped = { event: Event } | { error: { path: string; message: string } };

const AUDIT_LOG_TYPE = "type.googleapis.com/google.cloud.audit.AuditLog";

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** True for a Cloud Logging LogEntry whose payload is an AuditLog (GKE's Kubernetes audit entries). */
export function isGkeLogEntry(v: unknown): boolean {
  if (!isObject(v) || !isObject(v.protoPayload)) return false;
  const p = v.protoPayload;
  return p["@type"] === AUDIT_LOG_TYPE || p.serviceName === "k8s.io";
}

/**
 * google.rpc.Code → the HTTP status kube-apiserver answered with, for entries whose `response`
 * holds no Kubernetes Status (google/rpc/code.proto gives each code's HTTP mapping).
 */
const GRPC_TO_HTTP: Record<number, number> = {
  1: 499,
  2: 500,
  3: 400,
  4: 504,
  5: 404,
  6: 409,
  7: 403,
  8: 429,
  9: 400,
  10: 409,
  11: 400,
  12: 501,
  13: 500,
  14: 503,
  15: 500,
  16: 401,
};

/** Subresources kube answers with 101 Switching Protocols when they succeed. */
const UPGRADE_SUBRESOURCES = new Set(["exec", "attach", "portforward"]);

/** The parts of `resourceName` (`core/v1/namespaces/ns/pods/name/status`). */
export function parseResourceName(
  resourceName: string,
): { ref: ObjectReference; uri: string; collectionUri: string } | undefined {
  const parts = resourceName.split("/").filter((s) => s !== "");
  if (parts.length < 3) return undefined;
  const [group, version] = parts as [string, string];
  let i = 2;
  let namespace: string | undefined;
  // `namespaces/<ns>/<resource>`: a namespaced resource; `namespaces/<ns>` alone is the namespace object.
  if (parts[i] === "namespaces" && parts.length >= i + 3) {
    namespace = parts[i + 1];
    i += 2;
  }
  const resource = parts[i];
  if (resource === undefined) return undefined;
  const name = parts[i + 1];
  const subresource = parts.slice(i + 2).join("/") || undefined;
  const ref: ObjectReference = { resource };
  if (namespace !== undefined) ref.namespace = namespace;
  if (name !== undefined) ref.name = name;
  if (group !== "core") ref.apiGroup = group;
  ref.apiVersion = version;
  if (subresource !== undefined) ref.subresource = subresource;
  const prefix = group === "core" ? `/api/${version}` : `/apis/${group}/${version}`;
  const ns = namespace !== undefined ? `/namespaces/${namespace}` : "";
  const collectionUri = `${prefix}${ns}/${resource}`;
  const uri = `${collectionUri}${name !== undefined ? `/${name}` : ""}${subresource !== undefined ? `/${subresource}` : ""}`;
  return { ref, uri, collectionUri };
}

/** A copy of a request/response object without Cloud Logging's `@type`. */
function body(v: unknown): Record<string, unknown> | undefined {
  if (!isObject(v)) return undefined;
  const { "@type": _type, ...rest } = v;
  return rest;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** The outcome: a Kubernetes Status in `response` wins; else the gRPC `status.code`. */
function outcome(
  p: Record<string, unknown>,
  verb: string,
  ref: ObjectReference | undefined,
): Status | undefined {
  const response = p.response;
  if (isObject(response) && response.kind === "Status" && typeof response.code === "number") {
    const s: Status = { metadata: {}, code: response.code };
    for (const k of ["status", "message", "reason"] as const) {
      if (typeof response[k] === "string") (s as Record<string, unknown>)[k] = response[k];
    }
    if (isObject(response.details)) s.details = response.details as Status["details"];
    return s;
  }
  const status = p.status;
  if (!isObject(status)) return undefined;
  const code = typeof status.code === "number" ? status.code : 0;
  if (code === 0) {
    if (ref?.subresource !== undefined && UPGRADE_SUBRESOURCES.has(ref.subresource))
      return { metadata: {}, code: 101 };
    return { metadata: {}, code: verb === "create" ? 201 : 200 };
  }
  const http = GRPC_TO_HTTP[code] ?? 500;
  const s: Status = { metadata: {}, status: "Failure", code: http };
  if (typeof status.message === "string" && status.message !== "") s.message = status.message;
  return s;
}

/**
 * Maps a GKE Cloud Audit Logs entry back to an audit.k8s.io/v1 event; the README's table gives
 * every field's origin and what cannot be recovered (groups, stage, level, latency, query string).
 */
export function gkeToEvent(entry: Record<string, unknown>): Mapped {
  const p = entry.protoPayload as Record<string, unknown>;
  const method = str(p.methodName);
  if (method === undefined)
    return { error: { path: "protoPayload.methodName", message: "Required value: no methodName" } };
  const auditID = str(entry.insertId) ?? str((entry.operation as { id?: unknown })?.id);
  if (auditID === undefined)
    return { error: { path: "insertId", message: "Required value: no insertId (the audit ID)" } };
  const verb = method.slice(method.lastIndexOf(".") + 1);
  const resourceName = str(p.resourceName) ?? "";
  // Non-resource requests are `io.k8s.<verb>` with resourceName the path (`readyz`, `api/v1`).
  const nonResource = /^io\.k8s\.[a-z]+$/i.test(method);
  let ref: ObjectReference | undefined;
  let requestURI: string;
  if (nonResource) requestURI = `/${resourceName.replace(/^\/+/, "")}`;
  else {
    const parsed = parseResourceName(resourceName);
    if (parsed === undefined) {
      return {
        error: {
          path: "protoPayload.resourceName",
          message:
            "expected <group>/<version>/[namespaces/<ns>/]<resource>[/<name>[/<subresource>]]",
        },
      };
    }
    ref = parsed.ref;
    // kube logs a create at its collection URL; the name is the created object's.
    requestURI =
      verb === "create" && ref.subresource === undefined ? parsed.collectionUri : parsed.uri;
  }
  const auth = isObject(p.authenticationInfo) ? p.authenticationInfo : {};
  const meta = isObject(p.requestMetadata) ? p.requestMetadata : {};
  const request = body(p.request);
  const response = body(p.response);
  const level =
    response !== undefined ? "RequestResponse" : request !== undefined ? "Request" : "Metadata";
  const time = normalizeMicroTime(str(entry.timestamp) ?? str(entry.receiveTimestamp)) ?? undefined;
  const event: Event = {
    kind: "Event",
    apiVersion: "audit.k8s.io/v1",
    level,
    auditID,
    stage: "ResponseComplete",
    requestURI,
    verb,
    user: { username: str(auth.principalEmail) ?? "" },
  } as Event;
  const ip = str(meta.callerIp);
  if (ip !== undefined) event.sourceIPs = [ip];
  const agent = str(meta.callerSuppliedUserAgent);
  if (agent !== undefined) event.userAgent = agent;
  if (ref !== undefined) event.objectRef = ref;
  const status = outcome(p, verb, ref);
  if (status !== undefined) event.responseStatus = status;
  if (request !== undefined) event.requestObject = request as Event["requestObject"];
  if (response !== undefined) event.responseObject = response as Event["responseObject"];
  if (time !== undefined) {
    event.requestReceivedTimestamp = time;
    event.stageTimestamp = time;
  }
  if (isObject(entry.labels)) {
    const annotations: Record<string, string> = {};
    let n = 0;
    for (const [k, v] of Object.entries(entry.labels)) {
      if (typeof v === "string") {
        // defineProperty: a `__proto__` label stays a key and never becomes a prototype.
        Object.defineProperty(annotations, k, {
          value: v,
          enumerable: true,
          writable: true,
          configurable: true,
        });
        n++;
      }
    }
    if (n > 0) event.annotations = annotations;
  }
  return { event };
}
