import type { Event } from "@kaudit/api";

let n = 0;

/** A Metadata-level ResponseComplete event like kube-apiserver writes, with a unique auditID. */
export function testEvent(over: Partial<Event> = {}): Event {
  n++;
  const id = `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
  return {
    kind: "Event",
    apiVersion: "audit.k8s.io/v1",
    level: "Metadata",
    auditID: id,
    stage: "ResponseComplete",
    requestURI: "/api/v1/namespaces/default/pods?limit=500",
    verb: "list",
    user: { username: "system:admin", groups: ["system:masters", "system:authenticated"] },
    sourceIPs: ["10.0.0.1"],
    userAgent: "kubectl/v1.31.0 (linux/amd64) kubernetes/abc1234",
    objectRef: { resource: "pods", namespace: "default", apiVersion: "v1" },
    responseStatus: { metadata: {}, code: 200 },
    requestReceivedTimestamp: "2026-11-22T10:04:05.123456Z",
    stageTimestamp: "2026-11-22T10:04:05.130001Z",
    annotations: { "authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": "" },
    ...over,
  } as Event;
}
