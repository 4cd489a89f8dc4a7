import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseCondition } from "./condition-parser";
import { DEFAULT_RULES_FILE, loadRules } from "./index";
import { requiredValues } from "./prefilter";

const FIX = join(import.meta.dirname, "__fixtures__");

const MACROS: Record<string, string> = {
  pod: "ka.target.resource=pods and not ka.target.subresource exists",
  role: "ka.target.resource=roles",
  clusterrole: "ka.target.resource=clusterroles",
  kmodify: "(ka.verb in (create,update,patch))",
};
const LISTS = new Map([["workloads", ["deployments", "daemonsets"]]]);
const req = (cond: string, field = "ka.target.resource") => {
  const r = requiredValues(
    parseCondition(cond),
    field,
    (n) => (MACROS[n] ? parseCondition(MACROS[n]!) : undefined),
    LISTS,
  );
  return r === undefined ? undefined : [...r].sort();
};

describe("what a condition requires of a field", () => {
  it.each([
    ["ka.target.resource=pods", ["pods"]],
    ["pod and ka.verb=create", ["pods"]],
    ["(role or clusterrole) and kmodify", ["clusterroles", "roles"]],
    ["ka.target.resource in (workloads, pods)", ["daemonsets", "deployments", "pods"]],
    ['ka.target.resource in ("workloads")', ["workloads"]],
    ["ka.target.resource=pods and ka.target.resource in (pods, secrets)", ["pods"]],
    ["not ka.target.resource=pods", undefined],
    ["pod or ka.verb=get", undefined],
    ["ka.target.resource startswith pod", undefined],
    ["ka.target.resource[0] = pods", undefined],
    ["ka.verb=get", undefined],
  ] as [string, string[] | undefined][])("%s → %j", (cond, expected) => {
    expect(req(cond)).toEqual(expected);
  });

  it("reads verbs through macros", () => {
    expect(req("(role or clusterrole) and kmodify", "ka.verb")).toEqual([
      "create",
      "patch",
      "update",
    ]);
  });

  it("the index gives the same alerts as evaluating every rule (all corpus events, varied)", () => {
    const files = [join(FIX, "k8s_audit_rules.yaml"), DEFAULT_RULES_FILE];
    const indexed = loadRules(files);
    const plain = loadRules(files, { index: false });
    const events: Record<string, unknown>[] = [];
    for (const f of readdirSync(join(FIX, "falco-trace-files"))) {
      const text = readFileSync(join(FIX, "falco-trace-files", f), "utf8").trim();
      for (const l of f === "create_configmap_sensitive_values.json" ? text.split("\n") : [text])
        events.push(JSON.parse(l));
    }
    for (const f of readdirSync(join(FIX, "events"))) {
      for (const l of readFileSync(join(FIX, "events", f), "utf8").split("\n"))
        if (l.trim()) events.push(JSON.parse(l));
    }
    let alerts = 0;
    for (const base of events) {
      for (const verb of [undefined, "get", "create", "delete", "patch"]) {
        const ev = structuredClone(base) as Record<string, unknown>;
        if (verb !== undefined) ev.verb = verb;
        let a: string[];
        let b: string[];
        try {
          a = indexed.evaluate(ev).map((x) => x.rule);
          b = plain.evaluate(structuredClone(ev)).map((x) => x.rule);
        } catch {
          continue;
        }
        expect(a).toEqual(b);
        alerts += a.length;
      }
    }
    expect(alerts).toBeGreaterThan(200);
  });
});
