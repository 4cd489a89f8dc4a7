/**
 * @kaudit/policy: load, validate, evaluate, explain and re-apply Kubernetes audit policies the
 * way kube-apiserver does. Every export is documented where it is declared.
 */

// kube's RequestInfo resolution lives in @kaudit/api beside RequestAttributes (the legacy
// converter needs it too); re-exported here, where policy users look for it.
export {
  attributesFromEvent,
  attributesFromRequest,
  isLongRunning,
  type RequestLike,
} from "@kaudit/api";
export { applyDecision, stripManagedFields } from "./apply";
export { formatIssue, PolicyError } from "./errors";
export {
  type CompiledPolicyEvaluator,
  createPolicyEvaluator,
  type EvaluatorOptions,
  type PolicyExplanation,
  type RuleExplanation,
} from "./evaluator";
export {
  DEFAULT_MAX_POLICY_BYTES,
  DEFAULT_MAX_POLICY_DEPTH,
  loadPolicyFile,
  type ParsedPolicy,
  type ParsePolicyOptions,
  parsePolicy,
  type SafeParsePolicyResult,
  safeParsePolicy,
} from "./parse";
export { dns1123SubdomainErrors, validatePolicy } from "./validate";
export { checkYAMLDepth, type YAMLDepthError } from "./yaml-depth";
