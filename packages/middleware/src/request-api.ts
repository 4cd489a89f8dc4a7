import type { UserInfo } from "@kaudit/api";
import { contextOf } from "./audit-context";

/**
 * Adds an annotation to the request's audit event (`audit.AddAuditAnnotation`): the first value
 * for a key wins, later ones are ignored. Accepts a node request or a Fastify request. A no-op
 * for requests that are not audited (level None, or no middleware).
 */
export function addAuditAnnotation(req: unknown, key: string, value: string): void {
  contextOf(req)?.addAnnotation(key, value);
}

/**
 * Records the request's object (`audit.LogRequestObject`): completes `objectRef` (namespace, name,
 * uid, resourceVersion when still empty) at every level and sets `requestObject` at Request and
 * above (managedFields stripped when the policy says so). Wins over the captured body.
 */
export function logRequestObject(req: unknown, obj: unknown): void {
  contextOf(req)?.logRequestObjectExplicit(obj);
}

/**
 * Records the response object (`audit.LogResponseObject`): a `Status` is copied into
 * `responseStatus` at every level; `responseObject` is set at RequestResponse. Wins over the
 * captured body.
 */
export function logResponseObject(req: unknown, obj: unknown): void {
  contextOf(req)?.logResponseObjectExplicit(obj);
}

/**
 * Records the user the request impersonates (`audit.LogImpersonatedUser`). Like kube, the
 * RequestReceived event never carries it; every later stage does.
 */
export function setImpersonatedUser(req: unknown, user: UserInfo): void {
  contextOf(req)?.setImpersonatedUser(user);
}

/** The request's audit ID (also for requests at level None), or undefined without the middleware. */
export function getAuditID(req: unknown): string | undefined {
  return contextOf(req)?.auditID;
}

/**
 * Adds time spent in one of kube's latency layers (`etcd`, `authorization`, ...), in
 * milliseconds; reported as `apiserver.latency.k8s.io/<layer>` when the request takes over 500 ms.
 */
export function addAuditLatency(req: unknown, layer: string, ms: number): void {
  contextOf(req)?.addLatency(layer, ms);
}
