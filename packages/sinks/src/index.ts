/**
 * @kaudit/sinks — where kube-apiserver-style audit events go: a rotating log file, a webhook,
 * and the buffered / truncate / union / ignoreErrors wrappers, wired by createAuditBackend.
 */

export {
  /** The allowed modes. */
  AUDIT_MODES,
  /** The sink createAuditBackend returns. */
  AuditBackend,
  type AuditBackendOptions,
  type AuditMode,
  /** Invalid createAuditBackend options. */
  AuditOptionsError,
  type AuditPlugins,
  type BackendChainOptions,
  /** Builds the reference's backend chain from flag-named options. */
  createAuditBackend,
  type LogBackendOptions,
  type NatsBackendOptions,
  /** Validates createAuditBackend options, returning every problem. */
  validateAuditBackendOptions,
  type WebhookBackendOptions,
} from "./backend";
export {
  type BackoffOptions,
  /** The sleeps of k8s wait.Backoff (initial × factorⁿ with jitter). */
  backoffDelays,
  /** Parses a `Retry-After` header (seconds or an HTTP date) into ms. */
  parseRetryAfter,
} from "./backoff";
export {
  type BufferedOptions,
  /** The class behind buffered(). */
  BufferedSink,
  /** The batching wrapper (buffered<…>). */
  buffered,
} from "./buffered";
export {
  type Kubeconfig,
  type KubeconfigCluster,
  /** A kubeconfig that cannot be used. */
  KubeconfigError,
  type KubeconfigUser,
  /** Reads a kubeconfig like client-go. */
  loadKubeconfig,
  type WebhookTarget,
} from "./kubeconfig";
export {
  /** The log backend (a rotating file, or standard output). */
  createLogSink,
  /** The class behind createLogSink(). */
  LogSink,
  type LogSinkOptions,
  type LogSinkStats,
} from "./log-sink";
export {
  type AuditCounter,
  type AuditMetrics,
  /** The reference's audit counters on a prom-client registry. */
  auditMetrics,
  type MetricsRegistry,
} from "./metrics";
export {
  /** The JetStream backend. */
  createNatsSink,
  /** A fleet's routes: the user and the source-IP partition families. */
  fleetRoutes,
  /** The source-IP key of a fleet's partitions (`kaudit.source_ip`). */
  fleetSourceIPKey,
  /** The user key of a fleet's partitions (`kaudit.user.name`). */
  fleetUserKey,
  type NatsRoute,
  /** The class behind createNatsSink(). */
  NatsSink,
  /** A JetStream publish that failed after its retries. */
  NatsSinkError,
  type NatsSinkOptions,
  type NatsSinkStats,
  type NatsTlsOptions,
  /** `Nats-Msg-Id` of an event: auditID:stage. */
  natsMsgId,
  /** `<prefix>.<partition>` subjects by a hash of a key (the user by default). */
  partitionedSubject,
  /** The partition (FNV-1a) of a key. */
  partitionOf,
} from "./nats-sink";
export {
  type ReportingOptions,
  type ReportingSink,
  /** The error type of reported failures. */
  SinkError,
  type SinkReport,
} from "./report";
export {
  /** The path lumberjack renames a rotated file to. */
  backupName,
} from "./rotate";
export {
  /** `audit.k8s.io/truncated`. */
  ANNOTATION_TRUNCATED,
  type TruncateOptions,
  /** The class behind truncate(). */
  TruncateSink,
  /** The truncating wrapper (truncate<…>). */
  truncate,
} from "./truncate";
export {
  /** The class behind ignoreErrors(). */
  IgnoreErrorsSink,
  /** The blocking-mode wrapper (ignoreErrors<…>). */
  ignoreErrors,
  /** The class behind union(). */
  UnionSink,
  /** Several sinks as one (union[…]). */
  union,
} from "./union";
export {
  /** The webhook backend. */
  createWebhookSink,
  /** A failed webhook delivery. */
  WebhookError,
  /** The class behind createWebhookSink(). */
  WebhookSink,
  type WebhookSinkOptions,
} from "./webhook-sink";
