export { PRIORITIES } from "./collector";
export { OPERATORS } from "./condition-parser";
export { type ItemKind, RulesError, type RulesPosition, type RulesWarning } from "./errors";
export { FIELDS, type FieldSpec } from "./fields";
export { DEFAULT_RULES_FILE, loadRules, type RulesSource } from "./load";
export {
  type Alert,
  K8S_AUDIT_SOURCE,
  type LoadOptions,
  RuleSet,
  type RuleSetStats,
  type RuleSummary,
  type ThresholdAlert,
  UnreadableEventError,
} from "./rule-set";
export {
  type KeySnapshot,
  type ThresholdSnapshot,
  ThresholdState,
  type ThresholdStateOptions,
  type ThresholdStats,
  type WindowsSnapshot,
} from "./threshold";

/** Package version, kept in step with package.json by the release. */
export const VERSION = "0.0.0";
