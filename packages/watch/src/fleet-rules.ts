import type { RuleSummary, RulesSource } from "@kaudit/rules";

/**
 * The two partition families of a fleet: `user` (subjects `<prefix>.<p>`, partitioned by
 * `kaudit.user.name`) and `ip` (`<prefix>.ip.<p>`, by the first source IP).
 */
export type Family = "user" | "ip";

/** Threshold keys the user family holds whole: every event of one key is in one partition. */
const USER_KEYS = new Set(["kaudit.user.name"]);
/** …and the ip family: `ka.sourceips` lists start with the partition's IP, so they are whole too. */
const IP_KEYS = new Set(["kaudit.source_ip", "ka.sourceips"]);

/** Which family evaluates which rule. */
export interface FleetRulePlan {
  /** Rules evaluated on the user family: all but the source-IP thresholds. */
  user: string[];
  /** Threshold rules keyed by the source IP: evaluated on the ip family only. */
  ip: string[];
  /**
   * Threshold rules keyed by neither (`ka.user.name`, `ka.target.namespace`, nothing): evaluated
   * on the user family, where their counts are exact only for a detector that owns every
   * partition.
   */
  inexact: { rule: string; by: string[] }[];
}

/**
 * Splits rules over the two families, so each event alerts once per rule: a threshold keyed by
 * `kaudit.user.name` (with any other fields) is evaluated where all events of a user are (the
 * user family), one keyed by `kaudit.source_ip` or `ka.sourceips` where all events of an IP are
 * (the ip family); every other rule on the user family.
 */
export function planFleetRules(rules: readonly RuleSummary[]): FleetRulePlan {
  const plan: FleetRulePlan = { user: [], ip: [], inexact: [] };
  for (const r of rules) {
    const by = r.threshold?.by;
    if (by === undefined || by.some((k) => USER_KEYS.has(k))) plan.user.push(r.name);
    else if (by.some((k) => IP_KEYS.has(k))) plan.ip.push(r.name);
    else {
      plan.user.push(r.name);
      plan.inexact.push({ rule: r.name, by: [...by] });
    }
  }
  return plan;
}

/**
 * A rules file that turns off, for `family`, the rules the other family evaluates (Falco's
 * `override: { enabled: replace }`), appended after the user's files.
 */
export function familyOverride(plan: FleetRulePlan, family: Family): RulesSource {
  const off = family === "user" ? plan.ip : plan.user;
  const text = off
    .map(
      (name) =>
        `- rule: ${JSON.stringify(name)}\n  enabled: false\n  override:\n    enabled: replace\n`,
    )
    .join("");
  return { name: `<kaudit fleet: ${family} family>`, text: text || "[]\n" };
}
