import { describe, expect, it } from "vitest";
import { createAuthorizer, createRulesResolver, parseAbacFile } from "./auth";
import { answerReview } from "./reviews";

const ABAC = parseAbacFile(
  [
    '{"apiVersion":"abac.authorization.kubernetes.io/v1beta1","kind":"Policy","spec":{"group":"developers","namespace":"*","resource":"*","apiGroup":"*","readonly":true}}',
    '{"apiVersion":"abac.authorization.kubernetes.io/v1beta1","kind":"Policy","spec":{"user":"jane","namespace":"team-a","resource":"configmaps","apiGroup":""}}',
    '{"apiVersion":"abac.authorization.kubernetes.io/v1beta1","kind":"Policy","spec":{"user":"jane","nonResourcePath":"/metrics","readonly":true}}',
  ].join("\n"),
);
const deps = { authorize: createAuthorizer(ABAC), rulesFor: createRulesResolver(ABAC) };
const admin = { name: "admin", groups: ["system:masters", "system:authenticated"] };
const dev = { name: "dev", groups: ["developers", "system:authenticated"] };
const jane = {
  name: "jane",
  uid: "u-j",
  groups: ["system:authenticated"],
  extra: { scopes: ["x"] },
};

const ssar = (spec: object) => ({
  kind: "SelfSubjectAccessReview",
  apiVersion: "authorization.k8s.io/v1",
  metadata: { creationTimestamp: null },
  spec,
  status: { allowed: false },
});

describe("SelfSubjectAccessReview: the demo's authoriser answers", () => {
  it.each([
    [admin, { verb: "delete", resource: "secrets", namespace: "x" }, { allowed: true }],
    [dev, { verb: "list", resource: "pods", namespace: "default" }, { allowed: true }],
    [
      dev,
      { verb: "create", resource: "pods", namespace: "default" },
      { allowed: false, reason: "No policy matched." },
    ],
    [jane, { verb: "create", resource: "configmaps", namespace: "team-a" }, { allowed: true }],
    [
      jane,
      { verb: "create", resource: "configmaps", namespace: "default" },
      { allowed: false, reason: "No policy matched." },
    ],
  ])("%#", (user, ra, status) => {
    const out = answerReview(
      "SelfSubjectAccessReview",
      ssar({ resourceAttributes: ra }),
      user,
      deps,
    );
    expect(out).toEqual({ ...ssar({ resourceAttributes: ra }), status });
  });

  it("non-resource attributes, and exactly one of the two", () => {
    const out = answerReview(
      "SelfSubjectAccessReview",
      ssar({ nonResourceAttributes: { path: "/healthz", verb: "get" } }),
      jane,
      deps,
    );
    expect(out?.status).toMatchObject({
      allowed: true,
      reason: expect.stringContaining("system:public-info-viewer"),
    });
    expect(() => answerReview("SelfSubjectAccessReview", ssar({}), jane, deps)).toThrow(
      /exactly one of nonResourceAttributes or resourceAttributes must be specified/,
    );
  });
});

describe("SelfSubjectRulesReview: kube's RulesFor over the same rules", () => {
  const rules = (user: typeof admin, namespace: string) =>
    answerReview("SelfSubjectRulesReview", { spec: { namespace } }, user, deps)?.status as {
      resourceRules: { verbs: string[]; apiGroups?: string[]; resources?: string[] }[];
      nonResourceRules: { verbs: string[]; nonResourceURLs?: string[] }[];
      incomplete: boolean;
    };

  it("system:masters: everything first", () => {
    const r = rules(admin, "default");
    expect(r.resourceRules[0]).toEqual({ verbs: ["*"], apiGroups: ["*"], resources: ["*"] });
    expect(r.nonResourceRules[0]).toEqual({ verbs: ["*"], nonResourceURLs: ["*"] });
    expect(r.incomplete).toBe(false);
  });

  it("ABAC: read-only policies give get/list/watch; namespaced ones only in their namespace", () => {
    expect(rules(dev, "default").resourceRules).toContainEqual({
      verbs: ["get", "list", "watch"],
      apiGroups: ["*"],
      resources: ["*"],
    });
    expect(rules(jane, "team-a").resourceRules).toContainEqual({
      verbs: ["*"],
      apiGroups: [""],
      resources: ["configmaps"],
    });
    expect(rules(jane, "default").resourceRules).not.toContainEqual({
      verbs: ["*"],
      apiGroups: [""],
      resources: ["configmaps"],
    });
    // a policy without a namespace matches only the empty namespace, as in kube's ABAC RulesFor
    expect(rules(jane, "").nonResourceRules).toContainEqual({
      verbs: ["get", "list", "watch"],
      nonResourceURLs: ["/metrics"],
    });
    expect(rules(jane, "default").nonResourceRules).not.toContainEqual({
      verbs: ["get", "list", "watch"],
      nonResourceURLs: ["/metrics"],
    });
  });

  it("every authenticated user may create the self reviews and read discovery", () => {
    const r = rules(jane, "default");
    for (const resource of ["selfsubjectaccessreviews", "selfsubjectrulesreviews"])
      expect(r.resourceRules).toContainEqual({
        verbs: ["create"],
        apiGroups: ["authorization.k8s.io"],
        resources: [resource],
      });
    expect(r.resourceRules).toContainEqual({
      verbs: ["create"],
      apiGroups: ["authentication.k8s.io"],
      resources: ["selfsubjectreviews"],
    });
    expect(r.nonResourceRules.flatMap((x) => x.nonResourceURLs)).toContain("/apis/*");
  });
});

describe("SelfSubjectReview", () => {
  it("reports the user as authenticated (or impersonated)", () => {
    const out = answerReview(
      "SelfSubjectReview",
      { metadata: { creationTimestamp: null }, status: { userInfo: {} } },
      jane,
      deps,
    );
    expect(out).toEqual({
      kind: "SelfSubjectReview",
      apiVersion: "authentication.k8s.io/v1",
      metadata: { creationTimestamp: null },
      status: {
        userInfo: {
          username: "jane",
          uid: "u-j",
          groups: ["system:authenticated"],
          extra: { scopes: ["x"] },
        },
      },
    });
  });

  it("other kinds are not reviews", () => {
    expect(answerReview("ConfigMap", {}, jane, deps)).toBeUndefined();
  });
});
