/**
 * A straightforward rule-by-rule evaluator written from the spec (§4, kube's checker.go), used as
 * the baseline: by the property tests (the compiled evaluator must agree with it) and by the
 * benchmark (the compiled evaluator must beat it). Deliberately simple: arrays and includes,
 * combined resource strings built per call, a new decision object per call.
 */
import type { Policy, PolicyDecision, PolicyRule, RequestAttributes, Stage } from "@kaudit/api";

const has = (list: readonly string[] | undefined): list is readonly string[] =>
  list !== undefined && list.length > 0;

function matchesNonResource(rule: PolicyRule, attrs: RequestAttributes): boolean {
  if (attrs.isResourceRequest) return false;
  for (const spec of rule.nonResourceURLs ?? []) {
    if (spec === "*") return true;
    if (spec === attrs.path) return true;
    if (spec.endsWith("*") && attrs.path.startsWith(spec.replace(/\*+$/, ""))) return true;
  }
  return false;
}

function matchesResource(rule: PolicyRule, attrs: RequestAttributes): boolean {
  if (!attrs.isResourceRequest) return false;
  if (has(rule.namespaces) && !rule.namespaces.includes(attrs.namespace)) return false;
  if (!rule.resources || rule.resources.length === 0) return true;
  const combined =
    attrs.subresource === "" ? attrs.resource : `${attrs.resource}/${attrs.subresource}`;
  for (const gr of rule.resources) {
    const group = gr.group ?? "";
    if (group !== attrs.apiGroup && group !== "*") continue;
    if (!has(gr.resources)) return true;
    for (const res of gr.resources) {
      if (!has(gr.resourceNames) || gr.resourceNames.includes(attrs.name)) {
        if (res === combined || res === "*") return true;
        if (attrs.subresource !== "" && res === `*/${attrs.subresource}`) return true;
        if (res.endsWith("/*") && attrs.resource === res.slice(0, -2)) return true;
      }
    }
  }
  return false;
}

function ruleMatches(rule: PolicyRule, attrs: RequestAttributes): boolean {
  if (has(rule.users)) {
    if (!attrs.user || !rule.users.includes(attrs.user.name)) return false;
  }
  if (has(rule.userGroups)) {
    if (!attrs.user) return false;
    if (!(attrs.user.groups ?? []).some((g) => rule.userGroups!.includes(g))) return false;
  }
  if (has(rule.verbs) && !rule.verbs.includes(attrs.verb)) return false;
  if (has(rule.namespaces) || has(rule.resources as string[] | undefined))
    return matchesResource(rule, attrs);
  if (has(rule.nonResourceURLs)) return matchesNonResource(rule, attrs);
  return true;
}

/** The naive evaluator: `evaluate(attrs)` walks the rules in order. */
export function createNaiveEvaluator(policy: Policy): {
  evaluate(attrs: RequestAttributes): PolicyDecision;
} {
  // NewPolicyRuleEvaluator: union the policy's omitStages into every rule.
  const rules = policy.rules.map((rule) => ({
    ...rule,
    omitStages: [
      ...new Set([...(policy.omitStages ?? []), ...(rule.omitStages ?? [])]),
    ].sort() as Stage[],
  }));
  return {
    evaluate(attrs) {
      for (let i = 0; i < rules.length; i++) {
        const rule = rules[i]!;
        if (ruleMatches(rule, attrs)) {
          return {
            level: rule.level,
            omitStages: rule.omitStages,
            omitManagedFields: rule.omitManagedFields ?? policy.omitManagedFields ?? false,
            ruleIndex: i,
          };
        }
      }
      return {
        level: "None",
        omitStages: [...new Set(policy.omitStages ?? [])].sort() as Stage[],
        omitManagedFields: policy.omitManagedFields ?? false,
        ruleIndex: -1,
      };
    },
  };
}
