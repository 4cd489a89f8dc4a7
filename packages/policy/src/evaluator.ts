import type {
  Level,
  Policy,
  PolicyDecision,
  PolicyEvaluator,
  PolicyRule,
  RequestAttributes,
  Stage,
} from "@kaudit/api";
import { aggregate, PolicyError } from "./errors";
import { validatePolicy } from "./validate";

/** Why one rule did or did not match a request, as reported by `explain`. */
export interface RuleExplanation {
  /** The rule's index in `policy.rules`. */
  ruleIndex: number;
  /** Whether the rule matched (only the last explained rule can have matched). */
  matched: boolean;
  /**
   * The field that decided: for a miss the first field that failed (`users`, `userGroups`,
   * `verbs`, `namespaces`, `resources`, `nonResourceURLs`), for a match `*` when the rule has no
   * selectors at all, else the last field checked.
   */
  field: string;
  /** A sentence saying what was compared, e.g. `verb "get" is not in ["watch","list"]`. */
  reason: string;
}

/** The result of `explain`: the decision and, for every rule up to the match, why. */
export interface PolicyExplanation {
  /** The same decision `evaluate` returns. */
  decision: PolicyDecision;
  /** One entry per rule that was consulted, in order; the last one matched unless none did. */
  rules: RuleExplanation[];
}

/** A compiled policy: `evaluate` is the hot path, `explain` the diagnostic one. */
export interface CompiledPolicyEvaluator extends PolicyEvaluator {
  /** Decides how a request is audited: the first matching rule wins, no match means `None`. */
  evaluate(attrs: RequestAttributes): PolicyDecision;
  /** The decision plus, for every rule up to the match, why it matched or what failed. */
  explain(attrs: RequestAttributes): PolicyExplanation;
  /** The policy as compiled (rules with the policy's omitStages unioned in). */
  readonly policy: Policy;
}

/** Options for {@link createPolicyEvaluator}. */
export interface EvaluatorOptions {
  /** Validate the policy first and throw a PolicyError on problems (default true). */
  validate?: boolean;
}

interface CompiledGroupResources {
  /** No resources listed: every resource of the group (resourceNames ignored). */
  anyResource: boolean;
  /** `*`: every resource and subresource. */
  star: boolean;
  /** resource -> subresources matched exactly (`""` = the bare resource). */
  exact: Map<string, Set<string>>;
  /** Every listed resource string, for the rare resource names that contain a `/` (`%2F`). */
  exactFull: Set<string>;
  /** `pods/*`: the resource with or without any subresource. */
  resourceWildcard: Set<string>;
  /** `*\/scale`: that subresource of any resource. */
  subresourceWildcard: Set<string>;
  /** resourceNames, or null when empty. */
  names: Set<string> | null;
}

interface CompiledRule {
  index: number;
  users: Set<string> | null;
  groups: Set<string> | null;
  verbs: Set<string> | null;
  /** 0: everything, 1: resource requests only, 2: non-resource requests only. */
  kind: 0 | 1 | 2;
  namespaces: Set<string> | null;
  /** null when `resources` is empty (every resource). */
  byGroup: Map<string, CompiledGroupResources[]> | null;
  starGroup: CompiledGroupResources[];
  urlAll: boolean;
  urlExact: Set<string>;
  urlPrefixes: string[];
  decision: PolicyDecision;
}

const EMPTY: readonly never[] = Object.freeze([]);

function nonEmpty<T>(v: readonly T[] | undefined | null): v is readonly T[] {
  return Array.isArray(v) && v.length > 0;
}

function setOrNull(v: readonly string[] | undefined): Set<string> | null {
  return nonEmpty(v) ? new Set(v) : null;
}

function compileGroupResources(
  gr: NonNullable<PolicyRule["resources"]>[number],
): CompiledGroupResources {
  const c: CompiledGroupResources = {
    anyResource: !nonEmpty(gr.resources),
    star: false,
    exact: new Map(),
    exactFull: new Set(gr.resources ?? []),
    resourceWildcard: new Set(),
    subresourceWildcard: new Set(),
    names: setOrNull(gr.resourceNames),
  };
  for (const res of gr.resources ?? []) {
    if (res === "*") c.star = true;
    if (res.startsWith("*/")) c.subresourceWildcard.add(res.slice(2));
    if (res.endsWith("/*")) c.resourceWildcard.add(res.slice(0, -2));
    // `res == resource/subresource`: split at the first `/` as the combined string is built.
    const slash = res.indexOf("/");
    const resource = slash < 0 ? res : res.slice(0, slash);
    const sub = slash < 0 ? "" : res.slice(slash + 1);
    // A combined string never has an empty subresource after the slash ("pods/" matches nothing).
    if (slash >= 0 && sub === "") continue;
    let subs = c.exact.get(resource);
    if (!subs) {
      subs = new Set();
      c.exact.set(resource, subs);
    }
    subs.add(sub);
  }
  return c;
}

/** Sorted bytewise, as kube's InvertStages and sets.List return stages. */
function sortStages(stages: Iterable<Stage>): readonly Stage[] {
  return Object.freeze([...new Set(stages)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
}

function compileRule(rule: PolicyRule, index: number, policy: Policy): CompiledRule {
  const hasResources = nonEmpty(rule.resources);
  const hasNamespaces = nonEmpty(rule.namespaces);
  const hasURLs = nonEmpty(rule.nonResourceURLs);
  const byGroup = hasResources ? new Map<string, CompiledGroupResources[]>() : null;
  const starGroup: CompiledGroupResources[] = [];
  for (const gr of rule.resources ?? []) {
    const c = compileGroupResources(gr ?? {});
    const group = gr?.group ?? "";
    if (group === "*") starGroup.push(c);
    else {
      let list = byGroup!.get(group);
      if (!list) {
        list = [];
        byGroup!.set(group, list);
      }
      list.push(c);
    }
  }
  const urls = rule.nonResourceURLs ?? [];
  const urlPrefixes: string[] = [];
  for (const u of urls) if (u.endsWith("*")) urlPrefixes.push(u.replace(/\*+$/, ""));
  return {
    index,
    users: setOrNull(rule.users),
    groups: setOrNull(rule.userGroups),
    verbs: setOrNull(rule.verbs),
    kind: hasResources || hasNamespaces ? 1 : hasURLs ? 2 : 0,
    namespaces: setOrNull(rule.namespaces),
    byGroup,
    starGroup,
    urlAll: urls.includes("*"),
    urlExact: new Set(urls),
    urlPrefixes,
    decision: Object.freeze({
      level: rule.level,
      omitStages: sortStages([...(policy.omitStages ?? []), ...(rule.omitStages ?? [])]),
      omitManagedFields: rule.omitManagedFields ?? policy.omitManagedFields ?? false,
      ruleIndex: index,
    }),
  };
}

function groupResourcesMatch(c: CompiledGroupResources, attrs: RequestAttributes): boolean {
  if (c.anyResource) return true;
  if (c.names !== null && !c.names.has(attrs.name)) return false;
  if (c.star) return true;
  const sub = attrs.subresource;
  const resource = attrs.resource;
  if (resource.indexOf("/") < 0) {
    if (c.exact.get(resource)?.has(sub)) return true;
  } else if (c.exactFull.has(sub === "" ? resource : `${resource}/${sub}`)) return true;
  if (sub !== "" && c.subresourceWildcard.has(sub)) return true;
  return c.resourceWildcard.has(resource);
}

function resourcesMatch(rule: CompiledRule, attrs: RequestAttributes): boolean {
  if (rule.byGroup === null) return true;
  const list = rule.byGroup.get(attrs.apiGroup);
  if (list !== undefined) {
    for (let i = 0; i < list.length; i++) if (groupResourcesMatch(list[i]!, attrs)) return true;
  }
  const star = rule.starGroup;
  for (let i = 0; i < star.length; i++) if (groupResourcesMatch(star[i]!, attrs)) return true;
  return false;
}

function urlsMatch(rule: CompiledRule, path: string): boolean {
  if (rule.urlAll || rule.urlExact.has(path)) return true;
  const prefixes = rule.urlPrefixes;
  for (let i = 0; i < prefixes.length; i++) if (path.startsWith(prefixes[i]!)) return true;
  return false;
}

function userMatches(rule: CompiledRule, attrs: RequestAttributes): boolean {
  const user = attrs.user;
  if (rule.users !== null && (user === undefined || !rule.users.has(user.name))) return false;
  if (rule.groups !== null) {
    if (user === undefined) return false;
    const groups = user.groups;
    if (groups === undefined) return false;
    let any = false;
    for (let i = 0; i < groups.length; i++) {
      if (rule.groups.has(groups[i]!)) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  return true;
}

/** Everything but verb (already used to pick the candidates) and resource indexing. */
function ruleMatches(rule: CompiledRule, attrs: RequestAttributes): boolean {
  if ((rule.users !== null || rule.groups !== null) && !userMatches(rule, attrs)) return false;
  if (rule.kind === 1) {
    if (!attrs.isResourceRequest) return false;
    if (rule.namespaces !== null && !rule.namespaces.has(attrs.namespace)) return false;
    return resourcesMatch(rule, attrs);
  }
  if (rule.kind === 2) return !attrs.isResourceRequest && urlsMatch(rule, attrs.path);
  return true;
}

/**
 * Whether a rule can only match resources it names: then it is indexed under those names;
 * otherwise (no resources, `*`, `*\/x`, a group with every resource) it is a candidate for every
 * resource.
 */
function namedResources(rule: CompiledRule): Set<string> | null {
  if (rule.kind !== 1 || rule.byGroup === null) return null;
  const names = new Set<string>();
  const all = [...[...rule.byGroup.values()].flat(), ...rule.starGroup];
  for (const c of all) {
    if (c.anyResource || c.star || c.subresourceWildcard.size > 0) return null;
    // Index under every prefix a request's resource could have: `a/b/c` may be resource `a`
    // with subresource `b/c` or (through `%2F`) resource `a/b` with subresource `c`.
    for (const r of c.exactFull) {
      names.add(r);
      for (let i = r.indexOf("/"); i >= 0; i = r.indexOf("/", i + 1)) names.add(r.slice(0, i));
    }
    for (const r of c.resourceWildcard) names.add(r);
  }
  return names;
}

interface VerbIndex {
  /** Non-resource request candidates. */
  nonResource: CompiledRule[];
  /** Resource request candidates for resources no rule names. */
  otherResource: CompiledRule[];
  /** Resource request candidates per named resource. */
  byResource: Map<string, CompiledRule[]>;
}

/**
 * Compiles a policy into an evaluator that behaves exactly as kube-apiserver's
 * policyRuleEvaluator (pkg/audit/policy/checker.go): rules are tried in order, the first match
 * wins, the policy's omitStages are unioned into every rule, a rule's omitManagedFields
 * overrides the policy's, and no match means level `None`. Rules are pre-indexed by verb and
 * resource, lists become sets, and every decision is a frozen object built once, so `evaluate`
 * allocates nothing. The policy is validated first (a PolicyError is thrown for problems) and
 * not mutated.
 *
 * @example
 * const { evaluate } = createPolicyEvaluator(parsePolicy(text));
 * evaluate(attributesFromRequest({ method: "GET", url: "/api/v1/pods", user })).level;
 */
export function createPolicyEvaluator(
  policy: Policy,
  options: EvaluatorOptions = {},
): CompiledPolicyEvaluator {
  if (options.validate !== false) {
    const issues = validatePolicy(policy);
    if (issues.length > 0) {
      throw new PolicyError(aggregate(issues.map((i) => i.message)), { issues });
    }
  }
  const rules = (policy.rules ?? []).map((r, i) => compileRule(r, i, policy));
  const noMatch: PolicyDecision = Object.freeze({
    level: "None" as Level,
    omitStages: policy.omitStages === undefined ? EMPTY : sortStages(policy.omitStages),
    omitManagedFields: policy.omitManagedFields ?? false,
    ruleIndex: -1,
  });

  const named = rules.map(namedResources);
  const allResourceNames = new Set<string>();
  for (const n of named) if (n) for (const r of n) allResourceNames.add(r);

  const buildIndex = (verb: string | null): VerbIndex => {
    const forVerb = rules.filter((r) => r.verbs === null || (verb !== null && r.verbs.has(verb)));
    const byResource = new Map<string, CompiledRule[]>();
    for (const res of allResourceNames) {
      byResource.set(
        res,
        forVerb.filter(
          (r) => r.kind !== 2 && (named[r.index] === null || named[r.index]!.has(res)),
        ),
      );
    }
    return {
      nonResource: forVerb.filter((r) => r.kind !== 1),
      otherResource: forVerb.filter((r) => r.kind !== 2 && named[r.index] === null),
      byResource,
    };
  };
  const verbs = new Set<string>();
  for (const r of rules) if (r.verbs) for (const v of r.verbs) verbs.add(v);
  const byVerb = new Map<string, VerbIndex>();
  for (const v of verbs) byVerb.set(v, buildIndex(v));
  const otherVerb = buildIndex(null);

  const evaluate = (attrs: RequestAttributes): PolicyDecision => {
    const index = byVerb.get(attrs.verb) ?? otherVerb;
    const candidates = attrs.isResourceRequest
      ? (index.byResource.get(attrs.resource) ?? index.otherResource)
      : index.nonResource;
    for (let i = 0; i < candidates.length; i++) {
      const rule = candidates[i]!;
      if (ruleMatches(rule, attrs)) return rule.decision;
    }
    return noMatch;
  };

  const explain = (attrs: RequestAttributes): PolicyExplanation => {
    const out: RuleExplanation[] = [];
    const src = policy.rules ?? [];
    for (let i = 0; i < src.length; i++) {
      const e = explainRule(src[i]!, i, attrs);
      out.push(e);
      if (e.matched) return { decision: rules[i]!.decision, rules: out };
    }
    return { decision: noMatch, rules: out };
  };

  return { evaluate, explain, policy };
}

const q = (s: string) => JSON.stringify(s);
const ql = (l: readonly string[]) => JSON.stringify(l);

/** The rule-by-rule check of §4, saying which field failed against what value. */
function explainRule(
  rule: PolicyRule,
  ruleIndex: number,
  attrs: RequestAttributes,
): RuleExplanation {
  const miss = (field: string, reason: string): RuleExplanation => ({
    ruleIndex,
    matched: false,
    field,
    reason,
  });
  const hit = (field: string, reason: string): RuleExplanation => ({
    ruleIndex,
    matched: true,
    field,
    reason,
  });
  const user = attrs.user;
  if (nonEmpty(rule.users)) {
    if (user === undefined)
      return miss("users", `request is unauthenticated; users ${ql(rule.users)} never match it`);
    if (!rule.users.includes(user.name))
      return miss("users", `user ${q(user.name)} is not in ${ql(rule.users)}`);
  }
  if (nonEmpty(rule.userGroups)) {
    if (user === undefined)
      return miss(
        "userGroups",
        `request is unauthenticated; userGroups ${ql(rule.userGroups)} never match it`,
      );
    const groups = user.groups ?? [];
    if (!groups.some((g) => rule.userGroups!.includes(g)))
      return miss(
        "userGroups",
        `none of the user's groups ${ql(groups)} is in ${ql(rule.userGroups)}`,
      );
  }
  if (nonEmpty(rule.verbs) && !rule.verbs.includes(attrs.verb))
    return miss("verbs", `verb ${q(attrs.verb)} is not in ${ql(rule.verbs)}`);
  if (nonEmpty(rule.namespaces) || nonEmpty(rule.resources)) {
    if (!attrs.isResourceRequest)
      return miss(
        nonEmpty(rule.resources) ? "resources" : "namespaces",
        `non-resource request ${q(attrs.path)} never matches a rule with resources or namespaces`,
      );
    if (nonEmpty(rule.namespaces) && !rule.namespaces.includes(attrs.namespace))
      return miss("namespaces", `namespace ${q(attrs.namespace)} is not in ${ql(rule.namespaces)}`);
    if (!nonEmpty(rule.resources))
      return hit("namespaces", `namespace ${q(attrs.namespace)} is listed`);
    const combined =
      attrs.subresource === "" ? attrs.resource : `${attrs.resource}/${attrs.subresource}`;
    const what = `${q(combined)} in group ${q(attrs.apiGroup)}${attrs.name === "" ? "" : ` named ${q(attrs.name)}`}`;
    for (let j = 0; j < rule.resources.length; j++) {
      const gr = rule.resources[j] ?? {};
      const group = gr.group ?? "";
      if (group !== attrs.apiGroup && group !== "*") continue;
      if (!nonEmpty(gr.resources))
        return hit(
          `resources[${j}]`,
          `group ${q(group)} lists no resources, so every resource of it matches`,
        );
      if (nonEmpty(gr.resourceNames) && !gr.resourceNames.includes(attrs.name)) continue;
      for (const res of gr.resources) {
        if (
          res === combined ||
          res === "*" ||
          (attrs.subresource !== "" && res === `*/${attrs.subresource}`) ||
          (res.endsWith("/*") && attrs.resource === res.slice(0, -2))
        ) {
          return hit(`resources[${j}]`, `${what} matches ${q(res)}`);
        }
      }
    }
    return miss("resources", `${what} matches none of ${JSON.stringify(rule.resources)}`);
  }
  if (nonEmpty(rule.nonResourceURLs)) {
    if (attrs.isResourceRequest)
      return miss(
        "nonResourceURLs",
        `resource request never matches a rule with only nonResourceURLs`,
      );
    for (const spec of rule.nonResourceURLs) {
      if (spec === "*" || spec === attrs.path)
        return hit("nonResourceURLs", `path ${q(attrs.path)} matches ${q(spec)}`);
      if (spec.endsWith("*") && attrs.path.startsWith(spec.replace(/\*+$/, "")))
        return hit("nonResourceURLs", `path ${q(attrs.path)} matches ${q(spec)}`);
    }
    return miss(
      "nonResourceURLs",
      `path ${q(attrs.path)} matches none of ${ql(rule.nonResourceURLs)}`,
    );
  }
  const selectors = nonEmpty(rule.users) || nonEmpty(rule.userGroups) || nonEmpty(rule.verbs);
  return hit(
    selectors
      ? nonEmpty(rule.verbs)
        ? "verbs"
        : nonEmpty(rule.userGroups)
          ? "userGroups"
          : "users"
      : "*",
    selectors
      ? "user and verb selectors match; the rule has no resource or URL selectors"
      : "the rule has no selectors and matches every request",
  );
}
