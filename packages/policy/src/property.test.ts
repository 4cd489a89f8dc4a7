import type { Policy, PolicyRule, RequestAttributes } from "@kaudit/api";
import { attributesFromRequest } from "@kaudit/api";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { createNaiveEvaluator } from "../test/naive-evaluator";
import { PolicyError } from "./errors";
import { createPolicyEvaluator } from "./evaluator";
import { parsePolicy } from "./parse";
import { validatePolicy } from "./validate";

const LEVELS = ["None", "Metadata", "Request", "RequestResponse"] as const;
const STAGES = ["RequestReceived", "ResponseStarted", "ResponseComplete", "Panic"] as const;
// Small pools so that rules and requests collide often.
const users = ["alice", "bob", "system:anonymous", ""];
const groups = ["devs", "ops", "system:authenticated", "system:nodes"];
const verbs = ["get", "list", "watch", "create", "patch", "delete", "*", "post"];
const namespaces = ["", "default", "kube-system"];
const apiGroups = ["", "apps", "*", "a.b"];
const resources = [
  "pods",
  "pods/*",
  "pods/log",
  "*",
  "*/status",
  "nodes",
  "nodes/status",
  "a/b/c",
  "x/",
  "secrets",
];
const names = ["foo", "", "bar"];
const urls = ["*", "/healthz", "/healthz*", "/api*", "/", "/version", "/a**"];
const paths = [
  "/healthz",
  "/healthz/etcd",
  "/healthzx",
  "/api",
  "/apis/apps",
  "/",
  "/version",
  "/versions",
  "/a",
  "/x",
];

const sub = <T>(pool: readonly T[]) =>
  fc.subarray([...pool], { minLength: 0, maxLength: Math.min(4, pool.length) });
// Absent half the time: rules with every selector set would almost never match.
const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 2 });

const ruleArb: fc.Arbitrary<PolicyRule> = fc
  .record({
    level: fc.constantFrom(...LEVELS),
    users: opt(sub(users)),
    userGroups: opt(sub(groups)),
    verbs: opt(sub(verbs)),
    namespaces: opt(sub(namespaces)),
    resources: opt(
      fc.array(
        fc.record({
          group: opt(fc.constantFrom(...apiGroups)),
          resources: opt(sub(resources)),
          resourceNames: opt(sub(names)),
        }),
        { maxLength: 3 },
      ),
    ),
    nonResourceURLs: opt(sub(urls)),
    omitStages: opt(sub(STAGES)),
    omitManagedFields: opt(fc.boolean()),
  })
  .map((r) => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(r)) if (v !== undefined) out[k] = v;
    return out as unknown as PolicyRule;
  });

const policyArb: fc.Arbitrary<Policy> = fc
  .record({
    rules: fc.array(ruleArb, { maxLength: 8 }),
    omitStages: opt(sub(STAGES)),
    omitManagedFields: opt(fc.boolean()),
  })
  .map((p) => {
    const out: Policy = { rules: p.rules };
    if (p.omitStages !== undefined) out.omitStages = p.omitStages;
    if (p.omitManagedFields !== undefined) out.omitManagedFields = p.omitManagedFields;
    return out;
  });

// (resource, subresource) pairs that hit every branch: exact, `pods/*`, `*/status`, and names
// containing a `/` (a `%2F` in the URL) that kube compares as one combined string.
const resourcePairs: Array<[string, string]> = [
  ["pods", ""],
  ["pods", "log"],
  ["pods", "status"],
  ["nodes", ""],
  ["nodes", "status"],
  ["secrets", ""],
  ["deployments", "status"],
  ["a", "b/c"],
  ["a/b", "c"],
  ["a/b", ""],
  ["x/", ""],
  ["x", ""],
];

const attrsArb: fc.Arbitrary<RequestAttributes> = fc
  .record({
    user: opt(fc.record({ name: fc.constantFrom(...users), groups: opt(sub(groups)) })),
    verb: fc.constantFrom(...verbs),
    isResourceRequest: fc.constantFrom(true, true, false),
    path: fc.constantFrom(...paths),
    apiGroup: fc.constantFrom("", "", "apps", "a.b", "batch"),
    apiVersion: fc.constant("v1"),
    namespace: fc.constantFrom(...namespaces),
    pair: fc.constantFrom(...resourcePairs),
    name: fc.constantFrom(...names),
  })
  .map(({ pair, ...a }) => {
    const out = { ...a, resource: pair[0], subresource: pair[1] } as RequestAttributes;
    if (a.user === undefined) delete out.user;
    else if (a.user.groups === undefined) out.user = { name: a.user.name };
    return out;
  });

const RUNS = 500;

describe("property: compiled evaluator vs the naive §4 evaluator", () => {
  it("agrees on every decision and never throws", () => {
    let evaluated = 0;
    let matched = 0;
    fc.assert(
      fc.property(
        policyArb,
        fc.array(attrsArb, { minLength: 10, maxLength: 40 }),
        (policy, requests) => {
          evaluated += requests.length;
          const compiled = createPolicyEvaluator(policy, { validate: false });
          const naive = createNaiveEvaluator(policy);
          for (const attrs of requests) {
            const got = compiled.evaluate(attrs);
            if (got.ruleIndex >= 0) matched++;
            expect(got).toEqual(naive.evaluate(attrs));
            expect(LEVELS).toContain(got.level);
            expect(got.ruleIndex).toBeGreaterThanOrEqual(-1);
            expect(got.ruleIndex).toBeLessThan(policy.rules.length);
            expect([...got.omitStages].sort()).toEqual(got.omitStages);
            const explained = compiled.explain(attrs);
            expect(explained.decision).toBe(got);
            expect(explained.rules.length).toBe(
              got.ruleIndex === -1 ? policy.rules.length : got.ruleIndex + 1,
            );
            expect(explained.rules.filter((r) => r.matched).length).toBe(
              got.ruleIndex === -1 ? 0 : 1,
            );
          }
        },
      ),
      { numRuns: RUNS },
    );
    // The generators must exercise matches, not only misses.
    expect(matched / evaluated).toBeGreaterThan(0.3);
  });

  it("valid generated policies survive YAML and JSON round trips through parsePolicy", () => {
    fc.assert(
      fc.property(policyArb, (policy) => {
        const doc = { apiVersion: "audit.k8s.io/v1", kind: "Policy", ...policy };
        const problems = validatePolicy(policy);
        for (const text of [stringify(doc), JSON.stringify(doc)]) {
          if (problems.length > 0 || policy.rules.length === 0) {
            expect(() => parsePolicy(text)).toThrow(PolicyError);
            continue;
          }
          const parsed = parsePolicy(text);
          expect(parsed.warnings).toEqual([]);
          expect(JSON.parse(JSON.stringify(parsed))).toEqual(doc);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe("property: no crash on arbitrary input", () => {
  it("parsePolicy returns a policy or throws a PolicyError with positions", () => {
    const yamlish = fc
      .array(
        fc.constantFrom(
          "apiVersion: audit.k8s.io/v1\n",
          "kind: Policy\n",
          "rules:\n",
          "- level: None\n",
          "  level: Metadata\n",
          "  verbs: [get\n",
          "  resources: {}\n",
          "  - group: x\n",
          "---\n",
          "  users: [1, true, null]\n",
          "omitStages: [Panic]\n",
          "\t\n",
          "&a [*a]\n",
          '{"rules": [',
          "]}",
          ": : :\n",
        ),
        { maxLength: 12 },
      )
      .map((parts) => parts.join(""));
    fc.assert(
      fc.property(fc.oneof(yamlish, fc.string({ maxLength: 60 })), (text) => {
        try {
          const p = parsePolicy(text, { source: "fuzz.yaml" });
          expect(p.rules.length).toBeGreaterThan(0);
        } catch (e) {
          expect(e).toBeInstanceOf(PolicyError);
          const err = e as PolicyError;
          expect(err.issues.length).toBeGreaterThan(0);
          for (const issue of err.issues) {
            expect(issue.line).toBeGreaterThanOrEqual(1);
            expect(issue.column).toBeGreaterThanOrEqual(1);
          }
          expect(err.message).toMatch(/^fuzz\.yaml:\d+:\d+: /);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("attributesFromRequest never throws and resolves consistently", () => {
    const segment = fc.constantFrom(
      "api",
      "apis",
      "v1",
      "apps",
      "namespaces",
      "ns",
      "pods",
      "watch",
      "proxy",
      "status",
      "x",
      "",
      "%2F",
      "a%20b",
    );
    const url = fc
      .tuple(
        fc.array(segment, { maxLength: 8 }),
        fc.constantFrom(
          "",
          "?watch=1",
          "?fieldSelector=metadata.name%3Dfoo",
          "?watch=false&limit=x",
          "?%zz",
        ),
      )
      .map(([segs, q]) => `/${segs.join("/")}${q}`);
    const method = fc.constantFrom(
      "GET",
      "HEAD",
      "POST",
      "PUT",
      "PATCH",
      "DELETE",
      "OPTIONS",
      "get",
    );
    fc.assert(
      fc.property(method, url, (m, u) => {
        const a = attributesFromRequest({ method: m, url: u });
        if (!a.isResourceRequest) {
          expect(a.verb).toBe(m.toLowerCase());
          expect(a.resource).toBe("");
        }
        if (a.name === "" && a.isResourceRequest && a.resource !== "") {
          expect(["get", "delete"]).not.toContain(a.verb);
        }
        const d = createPolicyEvaluator({
          rules: [{ level: "Metadata", verbs: ["list"] }],
        }).evaluate(a);
        expect(d.ruleIndex === 0).toBe(a.verb === "list");
      }),
      { numRuns: 500 },
    );
  });
});
