/**
 * @kaudit/policy: load, validate, evaluate, explain and re-apply Kubernetes audit policies the
 * way kube-apiserver does. Every export is documented where it is declared.
 */
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
  loadPolicyFile,
  type ParsedPolicy,
  type ParsePolicyOptions,
  parsePolicy,
  type SafeParsePolicyResult,
  safeParsePolicy,
} from "./parse";
export {
  attributesFromEvent,
  attributesFromRequest,
  isLongRunning,
  type RequestLike,
} from "./request-info";
export { dns1123SubdomainErrors, validatePolicy } from "./validate";
