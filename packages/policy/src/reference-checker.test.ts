/**
 * The expectations of kubernetes/apiserver pkg/audit/policy/checker_test.go (TestChecker,
 * TestCheckerPolicyOmitStages), re-expressed as data: the same requests, rules and expected
 * levels and stages, evaluated by the compiled evaluator.
 */
import type { Level, PolicyRule, RequestAttributes, Stage } from "@kaudit/api";
import { describe, expect, it } from "vitest";
import { createPolicyEvaluator } from "./evaluator";

const tim = { name: "tim@k8s.io", groups: ["humans", "developers"] };
const base = {
  apiGroup: "",
  apiVersion: "",
  namespace: "",
  resource: "",
  subresource: "",
  name: "",
};

const requests: Record<string, RequestAttributes> = {
  namespaced: {
    ...base,
    user: tim,
    verb: "get",
    namespace: "default",
    apiVersion: "v1",
    resource: "pods",
    name: "busybox",
    isResourceRequest: true,
    path: "/api/v1/namespaces/default/pods/busybox",
  },
  cluster: {
    ...base,
    user: tim,
    verb: "get",
    apiGroup: "rbac.authorization.k8s.io",
    apiVersion: "v1beta1",
    resource: "clusterroles",
    name: "edit",
    isResourceRequest: true,
    path: "/apis/rbac.authorization.k8s.io/v1beta1/clusterroles/edit",
  },
  nonResource: {
    ...base,
    user: tim,
    verb: "get",
    isResourceRequest: false,
    path: "/logs/kubelet.log",
  },
  subresource: {
    ...base,
    user: tim,
    verb: "get",
    namespace: "default",
    apiVersion: "v1",
    resource: "pods",
    subresource: "log",
    name: "busybox",
    isResourceRequest: true,
    path: "/api/v1/namespaces/default/pods/busybox",
  },
  Unauthorized: {
    ...base,
    verb: "get",
    namespace: "default",
    apiVersion: "v1",
    resource: "pods",
    name: "busybox",
    isResourceRequest: true,
    path: "/api/v1/namespaces/default/pods/busybox",
  },
  ClusterRoleUpdate: {
    ...base,
    user: tim,
    verb: "update",
    apiGroup: "rbac.authorization.k8s.io",
    apiVersion: "v1beta1",
    resource: "clusterroles",
    subresource: "status",
    name: "somerole",
    isResourceRequest: true,
    path: "/apis/rbac.authorization.k8s.io/v1beta1/clusterroles/somerole",
  },
};

const rules: Record<string, PolicyRule> = {
  default: { level: "Metadata" },
  create: { level: "Request", verbs: ["create"] },
  tims: { level: "Metadata", users: ["tim@k8s.io"] },
  humans: { level: "Metadata", userGroups: ["humans"] },
  serviceAccounts: { level: "Request", userGroups: ["system:serviceaccounts"] },
  getPods: { level: "RequestResponse", verbs: ["get"], resources: [{ resources: ["pods"] }] },
  getPodLogs: { level: "Request", verbs: ["get"], resources: [{ resources: ["pods/log"] }] },
  getPodWildcardMatching: { level: "Request", verbs: ["get"], resources: [{ resources: ["*"] }] },
  getPodResourceWildcardMatching: {
    level: "Request",
    verbs: ["get"],
    resources: [{ resources: ["*/log"] }],
  },
  getPodSubResourceWildcardMatching: {
    level: "Request",
    verbs: ["get"],
    resources: [{ resources: ["pods/*"] }],
  },
  getClusterRoles: {
    level: "RequestResponse",
    verbs: ["get"],
    resources: [{ group: "rbac.authorization.k8s.io", resources: ["clusterroles"] }],
    namespaces: [""],
  },
  getGroupWildCardMatchingWithSubresourceWildcardMatching: {
    level: "RequestResponse",
    verbs: ["update"],
    resources: [{ group: "*", resources: ["*/status"] }],
  },
  getLogs: { level: "RequestResponse", verbs: ["get"], nonResourceURLs: ["/logs*"] },
  getMetrics: { level: "Request", verbs: ["get"], nonResourceURLs: ["/metrics"] },
  clusterRoleEdit: {
    level: "Request",
    resources: [
      { group: "rbac.authorization.k8s.io", resources: ["clusterroles"], resourceNames: ["edit"] },
    ],
  },
  "omit RequestReceived": { level: "Request", omitStages: ["RequestReceived"] },
  "only audit panic": {
    level: "Request",
    omitStages: ["RequestReceived", "ResponseStarted", "ResponseComplete"],
  },
};

// testAuditLevel: [request, expected level, rule names in order]
const levelCases: Array<[string, Level, ...string[]]> = [
  ["namespaced", "Metadata", "default"],
  ["namespaced", "None", "create"],
  ["namespaced", "Metadata", "tims"],
  ["namespaced", "Metadata", "humans"],
  ["namespaced", "None", "serviceAccounts"],
  ["namespaced", "RequestResponse", "getPods"],
  ["namespaced", "None", "getClusterRoles"],
  ["namespaced", "None", "getLogs"],
  ["namespaced", "None", "getMetrics"],
  ["namespaced", "Metadata", "getMetrics", "serviceAccounts", "default"],
  ["namespaced", "RequestResponse", "getMetrics", "getPods", "default"],
  ["namespaced", "RequestResponse", "getPodLogs", "getPods"],
  ["cluster", "Metadata", "default"],
  ["cluster", "None", "create"],
  ["cluster", "Metadata", "tims"],
  ["cluster", "Metadata", "humans"],
  ["cluster", "None", "serviceAccounts"],
  ["cluster", "None", "getPods"],
  ["cluster", "RequestResponse", "getClusterRoles"],
  ["cluster", "Request", "clusterRoleEdit", "getClusterRoles"],
  ["cluster", "None", "getLogs"],
  ["cluster", "None", "getMetrics"],
  ["cluster", "Metadata", "getMetrics", "serviceAccounts", "default"],
  ["cluster", "RequestResponse", "getMetrics", "getClusterRoles", "default"],
  ["cluster", "None", "getPodLogs", "getPods"],
  ["nonResource", "Metadata", "default"],
  ["nonResource", "None", "create"],
  ["nonResource", "Metadata", "tims"],
  ["nonResource", "Metadata", "humans"],
  ["nonResource", "None", "serviceAccounts"],
  ["nonResource", "None", "getPods"],
  ["nonResource", "None", "getClusterRoles"],
  ["nonResource", "RequestResponse", "getLogs"],
  ["nonResource", "None", "getMetrics"],
  ["nonResource", "Metadata", "getMetrics", "serviceAccounts", "default"],
  ["nonResource", "RequestResponse", "getLogs", "getClusterRoles", "default"],
  ["nonResource", "None", "getPodLogs", "getPods"],
  ["subresource", "Request", "getPodLogs", "getPods"],
  ["subresource", "Request", "getPodWildcardMatching"],
  ["subresource", "Request", "getPodResourceWildcardMatching"],
  ["subresource", "Request", "getPodSubResourceWildcardMatching"],
  ["Unauthorized", "None", "tims"],
  ["Unauthorized", "Metadata", "tims", "default"],
  ["Unauthorized", "None", "humans"],
  ["Unauthorized", "Metadata", "humans", "default"],
  [
    "ClusterRoleUpdate",
    "RequestResponse",
    "getGroupWildCardMatchingWithSubresourceWildcardMatching",
  ],
];

function decide(request: string, policyStages: Stage[] | undefined, ruleNames: string[]) {
  const policy = {
    rules: ruleNames.map((n) => rules[n]!),
    ...(policyStages ? { omitStages: policyStages } : {}),
  };
  return createPolicyEvaluator(policy).evaluate(requests[request]!);
}

const sorted = (s: readonly Stage[]) => [...s].sort();

describe.each([
  ["TestChecker", undefined],
  ["TestCheckerPolicyOmitStages", ["RequestReceived", "ResponseStarted"] as Stage[]],
])("checker_test.go %s", (_name, policyStages) => {
  it.each(levelCases)("%s ⇒ %s with %s", (request, level, ...ruleNames) => {
    const d = decide(request, policyStages, ruleNames);
    expect(d.level).toBe(level);
    expect(sorted(d.omitStages)).toEqual(sorted(policyStages ?? []));
  });
});

describe("checker_test.go stage cases", () => {
  const R: Stage = "RequestReceived";
  const S: Stage = "ResponseStarted";
  const C: Stage = "ResponseComplete";
  it.each([
    ["namespaced", "Request", undefined, [R], "omit RequestReceived", "getPods", "default"],
    ["namespaced", "Request", undefined, [R, S, C], "only audit panic", "getPods", "default"],
    ["cluster", "Request", undefined, [R], "omit RequestReceived", "getPods", "default"],
    ["cluster", "Request", undefined, [R, S, C], "only audit panic", "getPods", "default"],
    ["nonResource", "Request", undefined, [R], "omit RequestReceived", "getPods", "default"],
    ["nonResource", "Request", undefined, [R, S, C], "only audit panic", "getPods", "default"],
    ["namespaced", "Request", [R, S], [R, S], "omit RequestReceived", "getPods", "default"],
    ["namespaced", "Request", [R, S], [R, S, C], "only audit panic", "getPods", "default"],
    ["cluster", "Request", [R, S], [R, S], "omit RequestReceived", "getPods", "default"],
    ["cluster", "Request", [R, S], [R, S, C], "only audit panic", "getPods", "default"],
    ["nonResource", "Metadata", [R, S], [R, S], "default", "omit RequestReceived", "getPods"],
    ["nonResource", "Request", [R, S], [R, S, C], "only audit panic", "getPods", "default"],
  ] as Array<[string, Level, Stage[] | undefined, Stage[], ...string[]]>)(
    "%s ⇒ %s (policy stages %j ⇒ %j)",
    (request, level, policyStages, stages, ...ruleNames) => {
      const d = decide(request, policyStages, ruleNames);
      expect(d.level).toBe(level);
      expect(sorted(d.omitStages)).toEqual(sorted(stages));
    },
  );
});
