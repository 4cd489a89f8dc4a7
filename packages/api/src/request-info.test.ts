import { describe, expect, it } from "vitest";
import { attributesFromEvent, attributesFromRequest, isLongRunning } from "./request-info";
import type { Event } from "./types";

type Expect = {
  verb: string;
  res?: boolean;
  group?: string;
  version?: string;
  ns?: string;
  resource?: string;
  sub?: string;
  name?: string;
  path?: string;
};

// kube-apiserver RequestInfoFactory (pkg/endpoints/request/requestinfo.go), spec §5.
const cases: Array<[method: string, url: string, e: Expect]> = [
  ["GET", "/healthz", { verb: "get", res: false, path: "/healthz" }],
  ["POST", "/healthz", { verb: "post", res: false }],
  ["GET", "/api", { verb: "get", res: false }],
  ["GET", "/api/v1", { verb: "get", res: false }],
  ["GET", "/apis", { verb: "get", res: false }],
  ["GET", "/apis/apps", { verb: "get", res: false }],
  ["GET", "/apis/apps/v1", { verb: "get", res: false }],
  ["GET", "/version", { verb: "get", res: false }],
  ["GET", "/", { verb: "get", res: false, path: "/" }],
  ["GET", "/foo/v1/pods", { verb: "get", res: false }],
  ["GET", "/api/v1/pods", { verb: "list", version: "v1", resource: "pods" }],
  ["GET", "/api/v1/pods?watch=true", { verb: "watch", resource: "pods" }],
  ["GET", "/api/v1/pods?watch=1", { verb: "watch", resource: "pods" }],
  ["GET", "/api/v1/pods?watch=false", { verb: "list", resource: "pods" }],
  ["GET", "/api/v1/pods?watch=0", { verb: "list", resource: "pods" }],
  ["GET", "/api/v1/pods?watch=FALSE", { verb: "list", resource: "pods" }],
  [
    "HEAD",
    "/api/v1/namespaces/default/pods/foo",
    { verb: "get", ns: "default", resource: "pods", name: "foo" },
  ],
  [
    "GET",
    "/api/v1/namespaces/default/pods/foo",
    { verb: "get", ns: "default", resource: "pods", name: "foo" },
  ],
  [
    "GET",
    "/api/v1/namespaces/default/pods/foo/log",
    { verb: "get", ns: "default", resource: "pods", name: "foo", sub: "log" },
  ],
  [
    "GET",
    "/api/v1/namespaces/default/pods/foo/log/extra/parts",
    { verb: "get", ns: "default", resource: "pods", name: "foo", sub: "log" },
  ],
  ["POST", "/api/v1/namespaces/default/pods", { verb: "create", ns: "default", resource: "pods" }],
  [
    "POST",
    "/api/v1/namespaces/default/pods/foo/eviction",
    { verb: "create", ns: "default", resource: "pods", name: "foo", sub: "eviction" },
  ],
  [
    "PUT",
    "/api/v1/namespaces/default/pods/foo",
    { verb: "update", ns: "default", resource: "pods", name: "foo" },
  ],
  [
    "PATCH",
    "/api/v1/nodes/n1/status",
    { verb: "patch", resource: "nodes", name: "n1", sub: "status" },
  ],
  [
    "DELETE",
    "/api/v1/namespaces/default/pods/foo",
    { verb: "delete", ns: "default", resource: "pods", name: "foo" },
  ],
  [
    "DELETE",
    "/api/v1/namespaces/default/pods",
    { verb: "deletecollection", ns: "default", resource: "pods" },
  ],
  ["OPTIONS", "/api/v1/pods", { verb: "", resource: "pods" }],
  ["get", "/api/v1/pods", { verb: "", resource: "pods" }],
  ["constructor", "/api/v1/pods", { verb: "", resource: "pods" }],
  ["GET", "/api/v1/watch/pods", { verb: "watch", resource: "pods" }],
  [
    "GET",
    "/api/v1/watch/namespaces/default/pods",
    { verb: "watch", ns: "default", resource: "pods" },
  ],
  [
    "GET",
    "/api/v1/watch/namespaces/default/pods/foo",
    { verb: "watch", ns: "default", resource: "pods", name: "foo" },
  ],
  ["GET", "/api/v1/proxy/nodes/n1/stats/summary", { verb: "proxy", resource: "nodes", name: "n1" }],
  [
    "GET",
    "/api/v1/proxy/namespaces/default/pods/foo/x",
    { verb: "proxy", ns: "default", resource: "pods", name: "foo" },
  ],
  [
    "GET",
    "/api/v1/namespaces/default/pods/foo/proxy/x",
    { verb: "get", ns: "default", resource: "pods", name: "foo", sub: "proxy" },
  ],
  [
    "GET",
    "/apis/apps/v1/namespaces/kube-system/deployments",
    { verb: "list", group: "apps", version: "v1", ns: "kube-system", resource: "deployments" },
  ],
  [
    "PUT",
    "/apis/apps/v1/namespaces/ns/deployments/d/scale",
    { verb: "update", group: "apps", ns: "ns", resource: "deployments", name: "d", sub: "scale" },
  ],
  ["GET", "/api/v1/namespaces", { verb: "list", resource: "namespaces" }],
  [
    "GET",
    "/api/v1/namespaces/foo",
    { verb: "get", ns: "foo", resource: "namespaces", name: "foo" },
  ],
  [
    "PUT",
    "/api/v1/namespaces/foo/status",
    { verb: "update", ns: "foo", resource: "namespaces", name: "foo", sub: "status" },
  ],
  [
    "PUT",
    "/api/v1/namespaces/foo/finalize",
    { verb: "update", ns: "foo", resource: "namespaces", name: "foo", sub: "finalize" },
  ],
  [
    "DELETE",
    "/api/v1/namespaces/foo",
    { verb: "delete", ns: "foo", resource: "namespaces", name: "foo" },
  ],
  [
    "GET",
    "/api/v1/pods?fieldSelector=metadata.name%3Dfoo",
    { verb: "list", resource: "pods", name: "foo" },
  ],
  [
    "GET",
    "/api/v1/pods?fieldSelector=metadata.name==foo",
    { verb: "list", resource: "pods", name: "foo" },
  ],
  [
    "GET",
    "/api/v1/namespaces/ns/pods?fieldSelector=spec.nodeName=n1,metadata.name=foo&watch=1",
    { verb: "watch", ns: "ns", resource: "pods", name: "foo" },
  ],
  ["GET", "/api/v1/pods?fieldSelector=metadata.name!=foo", { verb: "list", resource: "pods" }],
  // fields.ParseSelector: terms sorted, empty terms skipped, no trimming, escapes in values.
  [
    "GET",
    "/api/v1/pods?fieldSelector=metadata.name=b,metadata.name=a",
    { verb: "list", resource: "pods", name: "a" },
  ],
  [
    "GET",
    "/api/v1/pods?fieldSelector=metadata.name=foo,",
    { verb: "list", resource: "pods", name: "foo" },
  ],
  ["GET", "/api/v1/pods?fieldSelector=%20metadata.name=foo", { verb: "list", resource: "pods" }],
  [
    "GET",
    "/api/v1/pods?fieldSelector=metadata.name=fo%5C,o",
    { verb: "list", resource: "pods", name: "fo,o" },
  ],
  ["GET", "/api/v1/pods?fieldSelector=metadata.name=a=b", { verb: "list", resource: "pods" }],
  ["GET", "/api/v1/pods?fieldSelector=metadata.name=a%5Cx", { verb: "list", resource: "pods" }],
  ["GET", "/api/v1/pods?fieldSelector=metadata.name=..", { verb: "list", resource: "pods" }],
  ["GET", "/api/v1/pods?watch=&limit=5", { verb: "watch", resource: "pods" }],
  ["GET", "/api/v1/pods?limit=&watch=0", { verb: "list", resource: "pods" }],
  // From requestinfo_test.go (selector cases).
  [
    "GET",
    "/apis/group/version/resource?watch=true&fieldSelector=metadata.name=name1",
    { verb: "watch", group: "group", version: "version", resource: "resource", name: "name1" },
  ],
  [
    "GET",
    "/apis/group/version/resource?fieldSelector=foo=bar&labelSelector=baz=qux",
    { verb: "list", group: "group", version: "version", resource: "resource" },
  ],
  [
    "GET",
    "/apis/group/version/resource?fieldSelector=metadata.name=name1,foo&watch=true",
    { verb: "watch", group: "group", version: "version", resource: "resource" },
  ],
  [
    "GET",
    "/apis/group/version/resource?fieldSelector=metadata.name=name1,foo&watch=false",
    { verb: "list", group: "group", version: "version", resource: "resource" },
  ],
  [
    "GET",
    "/apis/group/version/resource?fieldSelector=metadata.name=foo&fieldSelector=metadata.name=bar",
    { verb: "list", group: "group", version: "version", resource: "resource", name: "foo" },
  ],
  [
    "GET",
    "/apis/group/version/watch/resource?fieldSelector=metadata.name=foo",
    { verb: "watch", group: "group", version: "version", resource: "resource" },
  ],
  [
    "GET",
    "/apis/group/version/watch/resource/name?fieldSelector=metadata.name=foo",
    { verb: "watch", group: "group", version: "version", resource: "resource", name: "name" },
  ],
  [
    "GET",
    "/api/v1/proxy/namespaces/other/pods/foo/subpath/not/a/subresource",
    { verb: "proxy", ns: "other", resource: "pods", name: "foo" },
  ],
  [
    "DELETE",
    "/apis/extensions/v1/namespaces/other/pods",
    { verb: "deletecollection", group: "extensions", ns: "other", resource: "pods" },
  ],
  ["DELETE", "/api/v1/namespaces", { verb: "deletecollection", resource: "namespaces" }],
  ["GET", "/apis/extensions/v1beta1", { verb: "get", res: false }],
  ["GET", "/apis/extensions/v1beta1/", { verb: "get", res: false }],
  ["GET", "", { verb: "get", res: false, path: "" }],
  ["GET", "/api/v1/pods?fieldSelector=metadata.name=a%2Fb", { verb: "list", resource: "pods" }],
  [
    "GET",
    "/api/v1/pods?fieldSelector=metadata.name=foo&limit=abc",
    { verb: "list", resource: "pods" },
  ],
  [
    "GET",
    "/api/v1/pods?fieldSelector=metadata.name=foo&limit=abc&watch=true",
    { verb: "watch", resource: "pods" },
  ],
  [
    "DELETE",
    "/api/v1/namespaces/ns/pods?fieldSelector=metadata.name=foo",
    { verb: "deletecollection", ns: "ns", resource: "pods" },
  ],
  [
    "GET",
    "/api/v1/namespaces/default/pods/foo?watch=true",
    { verb: "get", ns: "default", resource: "pods", name: "foo" },
  ],
  [
    "GET",
    "https://10.0.0.1:6443/api/v1/nodes?limit=500",
    { verb: "list", resource: "nodes", path: "/api/v1/nodes" },
  ],
  [
    "GET",
    "/api/v1/namespaces/a%20b/pods",
    { verb: "list", ns: "a b", resource: "pods", path: "/api/v1/namespaces/a b/pods" },
  ],
  // strings.Trim then Split: the empty segment becomes the version (a kube quirk, kept).
  ["GET", "//api//v1/pods/", { verb: "get", version: "", resource: "v1", name: "pods" }],
];

describe("attributesFromRequest (§5 RequestInfo)", () => {
  it.each(cases)("%s %s", (method, url, e) => {
    const a = attributesFromRequest({ method, url });
    expect(a).toEqual({
      verb: e.verb,
      isResourceRequest: e.res ?? true,
      path: e.path ?? a.path,
      apiGroup: e.group ?? "",
      apiVersion: e.res === false ? "" : (e.version ?? "v1"),
      namespace: e.ns ?? "",
      resource: e.resource ?? "",
      subresource: e.sub ?? "",
      name: e.name ?? "",
    });
    expect(a.path).toBe(
      e.path ??
        url
          .split("?")[0]!
          .replace(/^https?:\/\/[^/]*/, "")
          .replace(/%20/g, " "),
    );
  });

  it("keeps the user, and leaves it out for unauthenticated requests", () => {
    const user = { name: "alice", groups: ["g"] };
    expect(attributesFromRequest({ method: "GET", url: "/api", user }).user).toBe(user);
    expect("user" in attributesFromRequest({ method: "GET", url: "/api" })).toBe(false);
  });

  it("isLongRunning applies the verb check to non-resource requests too", () => {
    const a = attributesFromRequest({ method: "GET", url: "/x" });
    expect(isLongRunning({ ...a, verb: "watch" })).toBe(true);
  });

  it("a bare special verb keeps the attributes known so far (kube returns an error)", () => {
    const a = attributesFromRequest({ method: "GET", url: "/api/v1/watch" });
    expect(a).toMatchObject({ isResourceRequest: true, apiVersion: "v1", resource: "" });
  });
});

describe("isLongRunning (kube-apiserver LongRunningFunc)", () => {
  it.each([
    ["GET", "/api/v1/pods?watch=1", true],
    ["GET", "/api/v1/watch/pods", true],
    ["GET", "/api/v1/proxy/nodes/n1", true],
    ["POST", "/api/v1/namespaces/d/pods/p/exec", true],
    ["POST", "/api/v1/namespaces/d/pods/p/attach", true],
    ["GET", "/api/v1/namespaces/d/pods/p/log", true],
    ["POST", "/api/v1/namespaces/d/pods/p/portforward", true],
    ["GET", "/api/v1/namespaces/d/services/s/proxy/x", true],
    ["GET", "/debug/pprof/profile", true],
    ["GET", "/debug/pprof", false],
    ["GET", "/apis/apps/v1/namespaces/d/deployments/x/log", true],
    ["GET", "/api/v1/pods", false],
    ["PATCH", "/api/v1/nodes/n/status", false],
    ["GET", "/healthz", false],
  ] as const)("%s %s ⇒ %s", (method, url, expected) => {
    expect(isLongRunning(attributesFromRequest({ method, url }))).toBe(expected);
  });
});

describe("attributesFromEvent", () => {
  const base: Event = {
    level: "Metadata",
    auditID: "id",
    stage: "ResponseComplete",
    requestURI: "/api/v1/namespaces/default/pods?limit=500",
    verb: "list",
    user: { username: "alice", groups: ["devs"] },
    objectRef: { resource: "pods", namespace: "default", apiVersion: "v1" },
  };

  it("takes verb, user, path and objectRef", () => {
    expect(attributesFromEvent(base)).toEqual({
      user: { name: "alice", groups: ["devs"] },
      verb: "list",
      isResourceRequest: true,
      path: "/api/v1/namespaces/default/pods",
      apiGroup: "",
      apiVersion: "v1",
      namespace: "default",
      resource: "pods",
      subresource: "",
      name: "",
    });
  });

  it("an event without objectRef is a non-resource request; user {} is unauthenticated", () => {
    const a = attributesFromEvent({
      ...base,
      requestURI: "/healthz?verbose",
      verb: "get",
      user: {},
      objectRef: undefined,
    });
    expect(a.isResourceRequest).toBe(false);
    expect(a.path).toBe("/healthz");
    expect(a.user).toBeUndefined();
  });

  it("a create's objectRef.name (filled from the body) is not what the policy saw", () => {
    const a = attributesFromEvent({
      ...base,
      verb: "create",
      requestURI: "/api/v1/namespaces/default/pods",
      objectRef: { resource: "pods", namespace: "default", name: "web-1", apiVersion: "v1" },
    });
    expect(a.name).toBe("");
    const evict = attributesFromEvent({
      ...base,
      verb: "create",
      requestURI: "/api/v1/namespaces/default/pods/web-1/eviction",
      objectRef: {
        resource: "pods",
        namespace: "default",
        name: "web-1",
        subresource: "eviction",
        apiVersion: "v1",
      },
    });
    expect(evict.name).toBe("web-1");
  });

  it("agrees with attributesFromRequest for the request the event records", () => {
    const url = "/apis/apps/v1/namespaces/ns/deployments/d/scale";
    const fromReq = attributesFromRequest({ method: "PUT", url, user: { name: "bob" } });
    const fromEvent = attributesFromEvent({
      ...base,
      requestURI: url,
      verb: "update",
      user: { username: "bob" },
      objectRef: {
        resource: "deployments",
        namespace: "ns",
        name: "d",
        apiGroup: "apps",
        apiVersion: "v1",
        subresource: "scale",
      },
    });
    expect(fromEvent).toEqual(fromReq);
  });
});
