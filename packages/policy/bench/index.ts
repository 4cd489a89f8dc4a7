/**
 * Races the compiled evaluator against a straightforward rule-by-rule evaluator (§4, in
 * test/naive-evaluator.ts) on the GCE corpus policy over a realistic request mix, in one process,
 * and prints the ratio. Run with `pnpm bench`.
 */
import { readFileSync } from "node:fs";
import type { RequestAttributes, UserAttributes } from "@kaudit/api";
import { Bench } from "tinybench";
import { attributesFromRequest, createPolicyEvaluator, parsePolicy } from "../src/index";
import { createNaiveEvaluator } from "../test/naive-evaluator";

const policy = parsePolicy(
  readFileSync(
    new URL("../src/__fixtures__/gce-configure-helper-policy.yaml", import.meta.url),
    "utf8",
  ),
);

const node = (n: number): UserAttributes => ({
  name: `system:node:node-${n}`,
  groups: ["system:nodes", "system:authenticated"],
});
const sa = (ns: string, name: string): UserAttributes => ({
  name: `system:serviceaccount:${ns}:${name}`,
  groups: ["system:serviceaccounts", `system:serviceaccounts:${ns}`, "system:authenticated"],
});
const kcm = { name: "system:kube-controller-manager", groups: ["system:authenticated"] };
const scheduler = { name: "system:kube-scheduler", groups: ["system:authenticated"] };
const proxy = { name: "system:kube-proxy", groups: ["system:authenticated"] };
const admin = { name: "admin@example.com", groups: ["system:masters", "system:authenticated"] };
const apiserver = { name: "system:apiserver", groups: ["system:masters"] };

// [weight, method, url, user]: roughly the shape of a busy cluster's audit log.
const mix: Array<[number, string, string, UserAttributes | undefined]> = [
  [12, "PATCH", "/api/v1/nodes/node-1/status", node(1)],
  [6, "PATCH", "/api/v1/namespaces/default/pods/web-1/status", node(2)],
  [6, "GET", "/api/v1/nodes/node-3", node(3)],
  [5, "GET", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-1", node(1)],
  [5, "PUT", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-1", node(1)],
  [
    4,
    "GET",
    "/apis/apps/v1/namespaces/default/deployments/web",
    sa("kube-system", "deployment-controller"),
  ],
  [
    4,
    "GET",
    "/apis/apps/v1/namespaces/default/replicasets/web-5d8",
    sa("kube-system", "replicaset-controller"),
  ],
  [
    3,
    "PUT",
    "/apis/apps/v1/namespaces/default/replicasets/web-5d8/status",
    sa("kube-system", "replicaset-controller"),
  ],
  [3, "GET", "/api/v1/namespaces/kube-system/endpoints/kube-controller-manager", kcm],
  [
    3,
    "PUT",
    "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler",
    scheduler,
  ],
  [4, "GET", "/api/v1/pods?watch=true&resourceVersion=100", scheduler],
  [3, "GET", "/api/v1/watch/endpoints", proxy],
  [3, "GET", "/apis/discovery.k8s.io/v1/endpointslices?watch=1", proxy],
  [4, "GET", "/api/v1/namespaces/default/secrets/db-password", sa("default", "web")],
  [
    2,
    "GET",
    "/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication",
    apiserver,
  ],
  [
    2,
    "GET",
    "/api/v1/namespaces/default/configmaps?fieldSelector=metadata.name%3Dweb",
    sa("default", "web"),
  ],
  [6, "GET", "/healthz", undefined],
  [3, "GET", "/readyz", undefined],
  [2, "GET", "/livez", undefined],
  [2, "GET", "/version", admin],
  [3, "GET", "/api", admin],
  [3, "GET", "/apis", admin],
  [2, "GET", "/apis/apps/v1", admin],
  [2, "GET", "/openapi/v2", admin],
  [3, "POST", "/api/v1/namespaces/default/events", node(2)],
  [2, "POST", "/api/v1/namespaces/default/pods", sa("kube-system", "replicaset-controller")],
  [1, "POST", "/apis/apps/v1/namespaces/default/deployments", admin],
  [1, "POST", "/api/v1/namespaces/default/pods/web-1/binding", scheduler],
  [1, "POST", "/apis/authentication.k8s.io/v1/tokenreviews", apiserver],
  [1, "POST", "/api/v1/namespaces/default/serviceaccounts/web/token", node(1)],
  [1, "DELETE", "/api/v1/namespaces/default/pods/web-0", admin],
  [1, "GET", "/api/v1/namespaces/default/pods/web-1/log?follow=true", admin],
  [1, "GET", "/apis/metrics.k8s.io/v1beta1/nodes", sa("kube-system", "metrics-server")],
  [1, "GET", "/apis/custom.example.com/v1/widgets", admin],
];

const requests: RequestAttributes[] = [];
for (const [weight, method, url, user] of mix) {
  for (let i = 0; i < weight; i++) requests.push(attributesFromRequest({ method, url, user }));
}

const compiled = createPolicyEvaluator(policy);
const naive = createNaiveEvaluator(policy);

// Same answers first: a fast wrong evaluator is no use.
for (const attrs of requests) {
  const a = compiled.evaluate(attrs);
  const b = naive.evaluate(attrs);
  if (a.level !== b.level || a.ruleIndex !== b.ruleIndex) {
    throw new Error(
      `evaluators disagree on ${attrs.verb} ${attrs.path}: ${a.ruleIndex} vs ${b.ruleIndex}`,
    );
  }
}

let sink = 0;
const bench = new Bench({ time: 1500, warmupTime: 300 });
bench
  .add("naive rule-by-rule evaluator (baseline)", () => {
    for (let i = 0; i < requests.length; i++) sink += naive.evaluate(requests[i]!).ruleIndex;
  })
  .add("@kaudit/policy compiled evaluator", () => {
    for (let i = 0; i < requests.length; i++) sink += compiled.evaluate(requests[i]!).ruleIndex;
  })
  .add("@kaudit/policy attributesFromRequest + evaluate", () => {
    for (const [, method, url, user] of mix)
      sink += compiled.evaluate(attributesFromRequest({ method, url, user })).ruleIndex;
  });

await bench.run();
console.table(bench.table());

const perEval = (name: string, n: number, stat: "mean" | "p50") => {
  const task = bench.getTask(name);
  const r = task?.result as { latency?: { mean: number; p50?: number } } | undefined;
  if (!r?.latency) throw new Error(`no result for ${name}`);
  return ((r.latency[stat] ?? r.latency.mean) * 1e6) / n; // ns per evaluation
};
const NAIVE = "naive rule-by-rule evaluator (baseline)";
const COMPILED = "@kaudit/policy compiled evaluator";
const naiveNs = perEval(NAIVE, requests.length, "mean");
const compiledNs = perEval(COMPILED, requests.length, "mean");
const medianRatio =
  perEval(NAIVE, requests.length, "p50") / perEval(COMPILED, requests.length, "p50");
const resolveNs = perEval("@kaudit/policy attributesFromRequest + evaluate", mix.length, "mean");
console.log(`GCE policy (${policy.rules.length} rules), ${requests.length} requests per iteration`);
console.log(`naive:    ${naiveNs.toFixed(1)} ns/evaluation (mean)`);
console.log(`compiled: ${compiledNs.toFixed(1)} ns/evaluation (mean)`);
console.log(`attributesFromRequest + evaluate: ${resolveNs.toFixed(1)} ns/request (mean)`);
console.log(
  `ratio: compiled is ${(naiveNs / compiledNs).toFixed(1)}x faster than the naive evaluator (mean; ${medianRatio.toFixed(1)}x by median)`,
);
if (sink === 42) console.log("");
