import { parseTokenFile } from "@kaudit/sources";
import { describe, expect, it } from "vitest";
import {
  type AuthzAttributes,
  createAuthenticator,
  createAuthorizer,
  forbiddenMessage,
  parseAbacFile,
} from "./auth";

describe("authenticator", () => {
  const auth = createAuthenticator(parseTokenFile('tok,alice,u1,"devs"\n'), { anonymous: true });
  const req = (authorization?: string) =>
    ({ headers: authorization ? { authorization } : {} }) as never;
  it("bearer token → user with system:authenticated added", () => {
    expect(auth(req("Bearer tok"))).toEqual({
      name: "alice",
      uid: "u1",
      groups: ["devs", "system:authenticated"],
    });
  });
  it("no credentials → anonymous when enabled", () => {
    expect(auth(req())).toEqual({ name: "system:anonymous", groups: ["system:unauthenticated"] });
  });
  it("a wrong token is an error even with anonymous enabled", () => {
    expect(() => auth(req("Bearer nope"))).toThrow("invalid bearer token");
  });
  it("anonymous disabled → error", () => {
    const strict = createAuthenticator(new Map(), { anonymous: false });
    expect(() => strict(req())).toThrow("no credentials");
  });
});

const RULES = parseAbacFile(
  [
    '{"apiVersion":"abac.authorization.kubernetes.io/v1beta1","kind":"Policy","spec":{"user":"alice","namespace":"*","resource":"*","apiGroup":"*"}}',
    '{"apiVersion":"abac.authorization.kubernetes.io/v1beta1","kind":"Policy","spec":{"group":"readers","namespace":"dev","resource":"pods","apiGroup":"","readonly":true}}',
    '{"apiVersion":"abac.authorization.kubernetes.io/v1beta1","kind":"Policy","spec":{"user":"*","nonResourcePath":"/metrics*","readonly":true}}',
  ].join("\n"),
);

function attrs(over: Partial<AuthzAttributes>): AuthzAttributes {
  return {
    user: { name: "bob", groups: ["system:authenticated"] },
    verb: "get",
    isResourceRequest: true,
    path: "/api/v1/namespaces/dev/pods/x",
    apiGroup: "",
    namespace: "dev",
    resource: "pods",
    subresource: "",
    name: "x",
    ...over,
  };
}

describe("authorizer (privileged group, discovery bindings, ABAC)", () => {
  const authorize = createAuthorizer(RULES);
  const cases: [string, Partial<AuthzAttributes>, boolean, string][] = [
    [
      "system:masters may do anything",
      { user: { name: "root", groups: ["system:masters"] }, verb: "delete" },
      true,
      "",
    ],
    [
      "user rule, any resource",
      { user: { name: "alice" }, verb: "delete", resource: "secrets" },
      true,
      "",
    ],
    ["group read-only rule allows get", { user: { name: "bob", groups: ["readers"] } }, true, ""],
    [
      "group read-only rule denies update",
      { user: { name: "bob", groups: ["readers"] }, verb: "update" },
      false,
      "No policy matched.",
    ],
    [
      "group rule is namespace-bound",
      { user: { name: "bob", groups: ["readers"] }, namespace: "prod" },
      false,
      "No policy matched.",
    ],
    [
      "group rule is resource-bound",
      { user: { name: "bob", groups: ["readers"] }, resource: "secrets" },
      false,
      "No policy matched.",
    ],
    [
      "nonResourcePath prefix",
      { isResourceRequest: false, path: "/metrics", resource: "", namespace: "" },
      true,
      "",
    ],
    ["no match", { user: { name: "carol" } }, false, "No policy matched."],
    [
      "discovery for authenticated users",
      { isResourceRequest: false, path: "/apis/apps/v1", resource: "" },
      true,
      'RBAC: allowed by ClusterRoleBinding "system:discovery" of ClusterRole "system:discovery" to Group "system:authenticated"',
    ],
    [
      "healthz for anonymous",
      {
        user: { name: "system:anonymous", groups: ["system:unauthenticated"] },
        isResourceRequest: false,
        path: "/healthz",
        resource: "",
      },
      true,
      'RBAC: allowed by ClusterRoleBinding "system:public-info-viewer" of ClusterRole "system:public-info-viewer" to Group "system:unauthenticated"',
    ],
    [
      "discovery is not for anonymous",
      {
        user: { name: "system:anonymous", groups: ["system:unauthenticated"] },
        isResourceRequest: false,
        path: "/api",
        resource: "",
      },
      false,
      "No policy matched.",
    ],
  ];
  it.each(cases)("%s", (_n, over, allowed, reason) => {
    expect(authorize(attrs(over))).toEqual({ allowed, reason });
  });
});

describe("parseAbacFile errors name file:line", () => {
  it.each([
    ["not JSON", "{", "abac.jsonl:1: invalid JSON"],
    [
      "wrong apiVersion",
      '{"apiVersion":"v1","kind":"Policy","spec":{"user":"a"}}',
      'abac.jsonl:1: apiVersion: expected "abac.authorization.kubernetes.io/v1beta1", got "v1"',
    ],
    [
      "no subject",
      '{"apiVersion":"abac.authorization.kubernetes.io/v1beta1","kind":"Policy","spec":{}}',
      "abac.jsonl:1: spec: one of user or group is required",
    ],
    [
      "bad readonly",
      '\n{"apiVersion":"abac.authorization.kubernetes.io/v1beta1","kind":"Policy","spec":{"user":"a","readonly":"yes"}}',
      "abac.jsonl:2: spec.readonly: expected a boolean",
    ],
  ])("%s", (_n, text, msg) => {
    expect(() => parseAbacFile(text, "abac.jsonl")).toThrow(msg);
  });
});

describe("forbiddenMessage (responsewriters.forbiddenMessage)", () => {
  it.each([
    [
      attrs({ verb: "list", name: "" }),
      "No policy matched.",
      'User "bob" cannot list resource "pods" in API group "" in the namespace "dev": No policy matched.',
    ],
    [
      attrs({ namespace: "", resource: "nodes", apiGroup: "" }),
      "",
      'User "bob" cannot get resource "nodes" in API group "" at the cluster scope',
    ],
    [
      attrs({ subresource: "log" }),
      "",
      'User "bob" cannot get resource "pods/log" in API group "" in the namespace "dev"',
    ],
    [attrs({ isResourceRequest: false, path: "/logs" }), "", 'User "bob" cannot get path "/logs"'],
  ])("%#", (a, reason, msg) => {
    expect(forbiddenMessage(a, reason)).toBe(msg);
  });
});
