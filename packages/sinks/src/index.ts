/**
 * @kaudit/sinks — where kube-apiserver-style audit events go: a rotating log file, a webhook,
 * and the buffered / truncate / union / ignoreErrors wrappers, wired by createAuditBackend.
 */

export {
  /** Builds the reference's backend chain from flag-named options. */
  createAuditBackend,
  /** Validates createAuditBackend options, returning every problem. */
  validateAuditBackendOptions,
  /** The sink createAuditBackend returns. */
  AuditBackend,
  /** Invalid createAuditBackend options. */
  AuditOptionsError,
  /** The allowed modes. */
  AUDIT_MODES,
  type AuditBackendOptions,
  type AuditMode,
  type AuditPlugins,
  type BackendChainOptions,
  type LogBackendOptions,
  type WebhookBackendOptions,
} from "./backend";
export {
  /** The batching wrapper (buffered<…>). */
  buffered,
  /** The class behind buffered(). */
  BufferedSink,
  type BufferedOptions,
} from "./buffered";
export {
  /** Reads a kubeconfig like client-go. */
  loadKubeconfig,
  /** A kubeconfig that cannot be used. */
  KubeconfigError,
  type Kubeconfig,
  type KubeconfigCluster,
  type KubeconfigUser,
  type WebhookTarget,
} from "./kubeconfig";
export {
  /** The reference's audit counters on a prom-client registry. */
  auditMetrics,
  type AuditCounter,
  type AuditMetrics,
  type MetricsRegistry,
} from "./metrics";
export {
  /** The error type of reported failures. */
  SinkError,
  type ReportingOptions,
  type ReportingSink,
  type SinkReport,
} from "./report";
export {
  /** The truncating wrapper (truncate<…>). */
  truncate,
  /** The class behind truncate(). */
  TruncateSink,
  /** `audit.k8s.io/truncated`. */
  ANNOTATION_TRUNCATED,
  type TruncateOptions,
} from "./truncate";
export {
  /** Several sinks as one (union[…]). */
  union,
  /** The class behind union(). */
  UnionSink,
  /** The blocking-mode wrapper (ignoreErrors<…>). */
  ignoreErrors,
  /** The class behind ignoreErrors(). */
  IgnoreErrorsSink,
} from "./union";
export {
  /** The webhook backend. */
  createWebhookSink,
  /** The class behind createWebhookSink(). */
  WebhookSink,
  /** A failed webhook delivery. */
  WebhookError,
  type WebhookSinkOptions,
} from "./webhook-sink";
