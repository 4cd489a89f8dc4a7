import type { Policy, PolicyRule, RequestAttributes } from "@kaudit/api";
import { describe, expect, it } from "vitest";
import { createNaiveEvaluator } from "../test/naive-evaluator";
import { PolicyError } from "./errors";
import { createPolicyEvaluator } from "./evaluator";

const alice = { name: "alice", groups: ["devs", "system:authenticated"] };

function res(p: Partial<RequestAttributes> = {}): RequestAttributes {
  return {
    user: alice,
    verb: "get",
    isResourceRequest: true,
    path: "/api/v1/namespaces/default/pods/foo",
    apiGroup: "",
    apiVersion: "v1",
    namespace: "default",
    resource: "pods",
    subresource: "",
    name: "foo",
    ...p,
  };
}

function nonRes(path: string, p: Partial<RequestAttributes> = {}): RequestAttributes {
  return {
    user: alice,
    verb: "get",
    isResourceRequest: false,
    path,
    apiGroup: "",
    apiVersion: "",
    namespace: "",
    resource: "",
    subresource: "",
    name: "",
    ...p,
  };
}

const anon = (a: RequestAttributes): RequestAttributes => {
  const { user: _u, ...rest } = a;
  return rest;
};

// One rule at Metadata: does it match? (checker.go ruleMatches, spec §4 and §9)
const ruleCases: Array<
  [name: string, rule: Omit<PolicyRule, "level">, attrs: RequestAttributes, match: boolean]
> = [
  ["empty rule matches a resource request", {}, res(), true],
  ["empty rule matches a non-resource request", {}, nonRes("/healthz"), true],
  ["empty rule matches an unauthenticated request", {}, anon(res()), true],
  ["users: exact name", { users: ["alice"] }, res(), true],
  ["users: other name", { users: ["bob"] }, res(), false],
  ["users: case-sensitive", { users: ["Alice"] }, res(), false],
  ["users: never an unauthenticated request", { users: ["alice", ""] }, anon(res()), false],
  [
    "users: system:anonymous is a user",
    { users: ["system:anonymous"] },
    res({ user: { name: "system:anonymous" } }),
    true,
  ],
  ["userGroups: any group", { userGroups: ["x", "devs"] }, res(), true],
  ["userGroups: none of the groups", { userGroups: ["ops"] }, res(), false],
  [
    "userGroups: never unauthenticated",
    { userGroups: ["system:unauthenticated"] },
    anon(res()),
    false,
  ],
  [
    "userGroups: user without groups",
    { userGroups: ["devs"] },
    res({ user: { name: "x" } }),
    false,
  ],
  ["users AND userGroups both needed", { users: ["alice"], userGroups: ["ops"] }, res(), false],
  ["verbs: exact", { verbs: ["get", "list"] }, res(), true],
  ["verbs: other", { verbs: ["list"] }, res(), false],
  ["verbs: no wildcard", { verbs: ["*"] }, res(), false],
  ["verbs: * matches a literal * verb", { verbs: ["*"] }, res({ verb: "*" }), true],
  [
    "verbs apply to non-resource requests",
    { verbs: ["post"] },
    nonRes("/x", { verb: "post" }),
    true,
  ],
  ["namespaces: listed", { namespaces: ["default"] }, res(), true],
  ["namespaces: not listed", { namespaces: ["kube-system"] }, res(), false],
  [
    'namespaces: "" matches cluster-scoped',
    { namespaces: [""] },
    res({ namespace: "", resource: "nodes" }),
    true,
  ],
  [
    'namespaces: "" matches all-namespace list',
    { namespaces: [""] },
    res({ namespace: "", verb: "list", name: "" }),
    true,
  ],
  ["namespaces only: never non-resource", { namespaces: [""] }, nonRes("/healthz"), false],
  ["resources: core group pods", { resources: [{ resources: ["pods"] }] }, res(), true],
  [
    'resources: group "" explicit',
    { resources: [{ group: "", resources: ["pods"] }] },
    res(),
    true,
  ],
  ["resources: wrong group", { resources: [{ group: "apps", resources: ["pods"] }] }, res(), false],
  [
    "resources: group * matches any group",
    { resources: [{ group: "*", resources: ["deployments"] }] },
    res({ apiGroup: "apps", resource: "deployments" }),
    true,
  ],
  [
    "resources: group * matches core",
    { resources: [{ group: "*", resources: ["pods"] }] },
    res(),
    true,
  ],
  [
    "resources: group only = every resource of it",
    { resources: [{ group: "apps" }] },
    res({ apiGroup: "apps", resource: "x", subresource: "y" }),
    true,
  ],
  ["resources: never non-resource", { resources: [{ resources: ["*"] }] }, nonRes("/api"), false],
  [
    "resources: pods does not match pods/log",
    { resources: [{ resources: ["pods"] }] },
    res({ subresource: "log" }),
    false,
  ],
  [
    "resources: pods/log matches pods/log",
    { resources: [{ resources: ["pods/log"] }] },
    res({ subresource: "log" }),
    true,
  ],
  [
    "resources: pods/log does not match pods",
    { resources: [{ resources: ["pods/log"] }] },
    res(),
    false,
  ],
  [
    "resources: * matches subresources",
    { resources: [{ resources: ["*"] }] },
    res({ subresource: "status" }),
    true,
  ],
  ["resources: pods/* matches pods", { resources: [{ resources: ["pods/*"] }] }, res(), true],
  [
    "resources: pods/* matches pods/status",
    { resources: [{ resources: ["pods/*"] }] },
    res({ subresource: "status" }),
    true,
  ],
  [
    "resources: pods/* does not match nodes",
    { resources: [{ resources: ["pods/*"] }] },
    res({ resource: "nodes" }),
    false,
  ],
  [
    "resources: */status matches deployments/status",
    { resources: [{ group: "*", resources: ["*/status"] }] },
    res({ apiGroup: "apps", resource: "deployments", subresource: "status" }),
    true,
  ],
  [
    "resources: */status needs a subresource",
    { resources: [{ resources: ["*/status"] }] },
    res(),
    false,
  ],
  [
    "resources: */log does not match pods/status",
    { resources: [{ resources: ["*/log"] }] },
    res({ subresource: "status" }),
    false,
  ],
  [
    "resourceNames: listed",
    { resources: [{ resources: ["pods"], resourceNames: ["foo"] }] },
    res(),
    true,
  ],
  [
    "resourceNames: not listed",
    { resources: [{ resources: ["pods"], resourceNames: ["bar"] }] },
    res(),
    false,
  ],
  [
    "resourceNames: list without name never matches",
    { resources: [{ resources: ["pods"], resourceNames: ["foo"] }] },
    res({ verb: "list", name: "" }),
    false,
  ],
  [
    'resourceNames: "" matches a request without a name',
    { resources: [{ resources: ["pods"], resourceNames: [""] }] },
    res({ verb: "create", name: "" }),
    true,
  ],
  [
    "resourceNames ignored without resources (§9.8)",
    { resources: [{ group: "", resourceNames: ["bar"] }] },
    res(),
    true,
  ],
  [
    "any GroupResources entry suffices",
    { resources: [{ group: "apps" }, { resources: ["pods"] }] },
    res(),
    true,
  ],
  [
    "namespaces AND resources",
    { namespaces: ["kube-system"], resources: [{ resources: ["pods"] }] },
    res(),
    false,
  ],
  ["nonResourceURLs: exact", { nonResourceURLs: ["/healthz"] }, nonRes("/healthz"), true],
  [
    "nonResourceURLs: no trailing-slash normalisation",
    { nonResourceURLs: ["/healthz"] },
    nonRes("/healthz/"),
    false,
  ],
  [
    "nonResourceURLs: /healthz* matches /healthz",
    { nonResourceURLs: ["/healthz*"] },
    nonRes("/healthz"),
    true,
  ],
  [
    "nonResourceURLs: /healthz* matches /healthz/etcd",
    { nonResourceURLs: ["/healthz*"] },
    nonRes("/healthz/etcd"),
    true,
  ],
  [
    "nonResourceURLs: /healthz* matches /healthzfoo",
    { nonResourceURLs: ["/healthz*"] },
    nonRes("/healthzfoo"),
    true,
  ],
  [
    "nonResourceURLs: /api* matches /apis (§9.10)",
    { nonResourceURLs: ["/api*"] },
    nonRes("/apis/apps/v1"),
    true,
  ],
  [
    "nonResourceURLs: * matches everything",
    { nonResourceURLs: ["*"] },
    nonRes("/anything/at/all"),
    true,
  ],
  [
    "nonResourceURLs: /logs** strips all stars",
    { nonResourceURLs: ["/logs**"] },
    nonRes("/logsx"),
    true,
  ],
  ["nonResourceURLs: no mid wildcard", { nonResourceURLs: ["/a/*/b"] }, nonRes("/a/x/b"), false],
  ["nonResourceURLs: never a resource request", { nonResourceURLs: ["*"] }, res(), false],
  [
    "mixed rule: nonResourceURLs ignored when resources set",
    { resources: [{ resources: ["pods"] }], nonResourceURLs: ["/healthz"] },
    nonRes("/healthz"),
    false,
  ],
  [
    "mixed rule: resources decide",
    { namespaces: ["default"], nonResourceURLs: ["/healthz"] },
    res(),
    true,
  ],
];

describe("rule matching (§4 ruleMatches, §9)", () => {
  it.each(ruleCases)("%s", (_name, rule, attrs, match) => {
    const policy: Policy = { rules: [{ level: "Metadata", ...rule }] };
    const ev = createPolicyEvaluator(policy, { validate: false });
    expect(ev.evaluate(attrs).ruleIndex).toBe(match ? 0 : -1);
    expect(createNaiveEvaluator(policy).evaluate(attrs).ruleIndex).toBe(match ? 0 : -1);
    const explanation = ev.explain(attrs);
    expect(explanation.rules).toHaveLength(1);
    expect(explanation.rules[0]!.matched).toBe(match);
  });
});

describe("decisions (§4 EvaluatePolicyRule)", () => {
  it("first matching rule wins; a None rule silences later rules (§9.1)", () => {
    const ev = createPolicyEvaluator({
      rules: [{ level: "None", users: ["alice"] }, { level: "RequestResponse" }],
    });
    expect(ev.evaluate(res()).level).toBe("None");
    expect(ev.evaluate(res()).ruleIndex).toBe(0);
    expect(ev.evaluate(res({ user: { name: "bob" } })).level).toBe("RequestResponse");
    expect(ev.evaluate(res({ user: { name: "bob" } })).ruleIndex).toBe(1);
  });

  it("no match is level None with the policy's omitStages and omitManagedFields (§9.2)", () => {
    const ev = createPolicyEvaluator({
      omitStages: ["RequestReceived"],
      omitManagedFields: true,
      rules: [{ level: "Metadata", users: ["nobody"] }],
    });
    expect(ev.evaluate(res())).toEqual({
      level: "None",
      omitStages: ["RequestReceived"],
      omitManagedFields: true,
      ruleIndex: -1,
    });
  });

  it("policy omitStages are unioned into every rule, deduplicated and sorted", () => {
    const ev = createPolicyEvaluator({
      omitStages: ["RequestReceived", "Panic"],
      rules: [{ level: "Request", omitStages: ["ResponseStarted", "RequestReceived"] }],
    });
    expect(ev.evaluate(res()).omitStages).toEqual(["Panic", "RequestReceived", "ResponseStarted"]);
  });

  it.each([
    [undefined, undefined, false],
    [undefined, true, true],
    [true, undefined, true],
    [true, false, false],
    [false, true, true],
  ] as const)(
    "omitManagedFields policy=%s rule=%s ⇒ %s (§9.3)",
    (policyValue, ruleValue, expected) => {
      const rule: PolicyRule = { level: "Metadata" };
      if (ruleValue !== undefined) rule.omitManagedFields = ruleValue;
      const policy: Policy = { rules: [rule] };
      if (policyValue !== undefined) policy.omitManagedFields = policyValue;
      expect(createPolicyEvaluator(policy).evaluate(res()).omitManagedFields).toBe(expected);
    },
  );

  it("returns the same frozen decision object each time and does not mutate the policy", () => {
    const policy: Policy = {
      omitStages: ["Panic"],
      rules: [{ level: "Metadata", omitStages: ["RequestReceived"] }],
    };
    const before = JSON.stringify(policy);
    const ev = createPolicyEvaluator(policy);
    const a = ev.evaluate(res());
    expect(ev.evaluate(res())).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    expect(Object.isFrozen(a.omitStages)).toBe(true);
    expect(JSON.stringify(policy)).toBe(before);
  });

  it("an empty policy decides None for everything", () => {
    expect(createPolicyEvaluator({ rules: [] }).evaluate(res()).level).toBe("None");
  });

  it("refuses an invalid policy with kube's validation text", () => {
    expect(() => createPolicyEvaluator({ rules: [{ level: "metadata" as "Metadata" }] })).toThrow(
      PolicyError,
    );
    expect(() => createPolicyEvaluator({ rules: [{ level: "metadata" as "Metadata" }] })).toThrow(
      'rules[0].level: Unsupported value: "metadata": supported values: "None", "Metadata", "Request", "RequestResponse"',
    );
  });

  it("indexes by verb and resource without changing the order of rules", () => {
    const policy: Policy = {
      rules: [
        { level: "Request", verbs: ["get"], resources: [{ resources: ["secrets"] }] },
        { level: "None", users: ["alice"] },
        { level: "Metadata", resources: [{ resources: ["pods/*"] }] },
        { level: "RequestResponse", verbs: ["patch"] },
      ],
    };
    const ev = createPolicyEvaluator(policy);
    expect(ev.evaluate(res({ resource: "secrets" })).ruleIndex).toBe(0);
    expect(ev.evaluate(res({ resource: "secrets", verb: "list" })).ruleIndex).toBe(1);
    expect(ev.evaluate(res({ user: { name: "bob" }, subresource: "log" })).ruleIndex).toBe(2);
    expect(
      ev.evaluate(res({ user: { name: "bob" }, resource: "nodes", verb: "patch" })).ruleIndex,
    ).toBe(3);
    expect(ev.evaluate(res({ user: { name: "bob" }, resource: "nodes" })).ruleIndex).toBe(-1);
  });

  it("matches resource names that contain a slash (%2F) like the reference", () => {
    const policy: Policy = {
      rules: [{ level: "Metadata", resources: [{ resources: ["a/b/c", "x/"] }] }],
    };
    const ev = createPolicyEvaluator(policy);
    const naive = createNaiveEvaluator(policy);
    for (const [resource, subresource] of [
      ["a/b", "c"],
      ["a", "b/c"],
      ["x/", ""],
      ["x", ""],
      ["a/b", ""],
    ] as const) {
      const attrs = res({ resource, subresource });
      expect(ev.evaluate(attrs).ruleIndex).toBe(naive.evaluate(attrs).ruleIndex);
    }
    expect(ev.evaluate(res({ resource: "a/b", subresource: "c" })).ruleIndex).toBe(0);
    expect(ev.evaluate(res({ resource: "x/", subresource: "" })).ruleIndex).toBe(0);
  });
});

describe("explain", () => {
  const policy: Policy = {
    rules: [
      { level: "None", users: ["system:kube-proxy"] },
      { level: "None", verbs: ["watch"] },
      { level: "Metadata", namespaces: ["kube-system"] },
      { level: "Request", resources: [{ group: "apps", resources: ["deployments"] }] },
      { level: "None", nonResourceURLs: ["/healthz*"] },
      { level: "RequestResponse" },
    ],
  };
  const ev = createPolicyEvaluator(policy);

  it("says which field failed against which value, up to the matching rule", () => {
    const out = ev.explain(res());
    expect(out.decision).toBe(ev.evaluate(res()));
    expect(out.rules.map((r) => [r.ruleIndex, r.matched, r.field])).toEqual([
      [0, false, "users"],
      [1, false, "verbs"],
      [2, false, "namespaces"],
      [3, false, "resources"],
      [4, false, "nonResourceURLs"],
      [5, true, "*"],
    ]);
    expect(out.rules[0]!.reason).toBe('user "alice" is not in ["system:kube-proxy"]');
    expect(out.rules[1]!.reason).toBe('verb "get" is not in ["watch"]');
    expect(out.rules[2]!.reason).toBe('namespace "default" is not in ["kube-system"]');
    expect(out.rules[3]!.reason).toContain('"pods" in group "" named "foo" matches none of');
  });

  it("stops at the first match", () => {
    const out = ev.explain(nonRes("/healthz/etcd"));
    expect(out.rules).toHaveLength(5);
    expect(out.rules[2]!.reason).toContain("non-resource request");
    expect(out.rules[4]).toMatchObject({ matched: true, field: "nonResourceURLs" });
    expect(out.rules[4]!.reason).toBe('path "/healthz/etcd" matches "/healthz*"');
    expect(out.decision.ruleIndex).toBe(4);
  });

  it("names the unauthenticated case", () => {
    const out = ev.explain(anon(res()));
    expect(out.rules[0]!.reason).toContain("unauthenticated");
  });

  it("reports every rule when none matches", () => {
    const e2 = createPolicyEvaluator({ rules: [{ level: "Metadata", verbs: ["create"] }] });
    const out = e2.explain(res());
    expect(out.decision.ruleIndex).toBe(-1);
    expect(out.rules).toHaveLength(1);
  });
});
