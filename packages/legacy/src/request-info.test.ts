import { describe, expect, it } from "vitest";
import { requestInfo } from "./request-info";

// Cases from spec §5 (k8s.io/apiserver requestinfo.go and its test table).
type Want = Partial<ReturnType<typeof requestInfo>>;
const CASES: [method: string, uri: string, want: Want][] = [
  [
    "GET",
    "/api/v1/namespaces/default/pods",
    {
      isResourceRequest: true,
      verb: "list",
      apiVersion: "v1",
      namespace: "default",
      resource: "pods",
    },
  ],
  [
    "GET",
    "/api/v1/namespaces/default/pods/foo",
    { verb: "get", namespace: "default", resource: "pods", name: "foo" },
  ],
  ["GET", "/api/v1/namespaces/default/pods?watch=true", { verb: "watch", resource: "pods" }],
  ["GET", "/api/v1/pods?watch=1", { verb: "watch", namespace: "", resource: "pods" }],
  ["GET", "/api/v1/pods?watch=false", { verb: "list" }],
  ["GET", "/api/v1/pods?watch=0", { verb: "list" }],
  ["GET", "/api/v1/pods?watch=", { verb: "watch" }],
  ["GET", "/api/v1/watch/pods", { verb: "watch", resource: "pods" }],
  [
    "GET",
    "/api/v1/watch/namespaces/ns/pods/p",
    { verb: "watch", namespace: "ns", resource: "pods", name: "p" },
  ],
  [
    "GET",
    "/api/v1/namespaces/ns/pods?fieldSelector=metadata.name%3Dp1",
    { verb: "list", name: "p1" },
  ],
  [
    "GET",
    "/api/v1/namespaces/ns/pods?fieldSelector=status.phase%3DRunning,metadata.name%3D%3Dp2",
    { verb: "list", name: "p2" },
  ],
  [
    "GET",
    "/api/v1/namespaces/ns/pods?fieldSelector=metadata.name!%3Dp1",
    { verb: "list", name: "" },
  ],
  ["POST", "/api/v1/namespaces/ns/pods", { verb: "create", resource: "pods", name: "" }],
  [
    "PUT",
    "/api/v1/namespaces/ns/pods/p/status",
    { verb: "update", resource: "pods", name: "p", subresource: "status" },
  ],
  [
    "PATCH",
    "/apis/apps/v1/namespaces/ns/deployments/d/scale",
    {
      verb: "patch",
      apiGroup: "apps",
      apiVersion: "v1",
      resource: "deployments",
      name: "d",
      subresource: "scale",
    },
  ],
  ["DELETE", "/api/v1/namespaces/ns/pods/p", { verb: "delete", name: "p" }],
  ["DELETE", "/api/v1/namespaces/ns/pods", { verb: "deletecollection" }],
  [
    "GET",
    "/api/v1/namespaces/foo",
    { verb: "get", resource: "namespaces", name: "foo", namespace: "foo" },
  ],
  [
    "PUT",
    "/api/v1/namespaces/foo/status",
    {
      verb: "update",
      resource: "namespaces",
      name: "foo",
      subresource: "status",
      namespace: "foo",
    },
  ],
  [
    "PUT",
    "/api/v1/namespaces/foo/finalize",
    { verb: "update", resource: "namespaces", subresource: "finalize", namespace: "foo" },
  ],
  ["GET", "/api/v1/namespaces", { verb: "list", resource: "namespaces", namespace: "" }],
  [
    "GET",
    "/api/v1/proxy/namespaces/ns/pods/p/a/b",
    { verb: "proxy", resource: "pods", name: "p", subresource: "" },
  ],
  ["POST", "/api/v1/namespaces/ns/pods/p/exec?command=ls", { verb: "create", subresource: "exec" }],
  ["OPTIONS", "/api/v1/pods", { isResourceRequest: true, verb: "" }],
  [
    "GET",
    "/apis/rbac.authorization.k8s.io/v1/clusterroles/admin",
    { apiGroup: "rbac.authorization.k8s.io", resource: "clusterroles", name: "admin" },
  ],
  ["GET", "/api/v1/namespaces/a%2Fb/pods", { namespace: "a", resource: "b", name: "pods" }],
  [
    "GET",
    "http://example.com:8080/api/v1/nodes/n1",
    { isResourceRequest: true, resource: "nodes", name: "n1" },
  ],
  // Non-resource requests: lower-cased HTTP method.
  ["GET", "/api", { isResourceRequest: false, verb: "get", path: "/api" }],
  ["GET", "/apis/apps", { isResourceRequest: false, verb: "get" }],
  ["GET", "/apis/apps/v1", { isResourceRequest: false, verb: "get" }],
  ["GET", "/api/v1", { isResourceRequest: false, verb: "get" }],
  ["POST", "/healthz?verbose", { isResourceRequest: false, verb: "post", path: "/healthz" }],
  ["GET", "/api/v1/watch", { isResourceRequest: false, verb: "get" }],
];

describe("requestInfo", () => {
  it.each(CASES)("%s %s", (method, uri, want) => {
    expect(requestInfo(method, uri)).toMatchObject(want);
  });
});
