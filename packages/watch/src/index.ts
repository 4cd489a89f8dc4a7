/**
 * @kaudit/watch — live audit monitoring: the pipeline behind `kaudit watch` (inputs → rules →
 * outputs), alert outputs (Alertmanager v2, a JSON webhook, JSON lines) with bounded queues and
 * counted drops, and Prometheus metrics of what was read, with /metrics, /healthz and /readyz.
 */

export {
  type AlertmanagerAlert,
  type AlertmanagerMapping,
  /** Labels of an alert as Alertmanager gets them. */
  alertLabels,
  /** A Falco field name as a label name. */
  labelName,
  /** A field value as a label value. */
  labelValue,
  type ThresholdInfo,
  /** An alert in Alertmanager's v2 shape. */
  toAlertmanagerAlert,
  type WatchAlert,
} from "./alert";
export {
  type AlertmanagerOutputOptions,
  /** The `/api/v2/alerts` URL of an Alertmanager base URL. */
  alertmanagerAlertsURL,
  /** Alerts to Alertmanager's v2 API. */
  createAlertmanagerOutput,
} from "./alertmanager-output";
export {
  /** Parses `host:port`. */
  parseHostPort,
  /** Parses a `kaudit watch --config` file. */
  parseWatchConfig,
  /** The keys a config file may hold. */
  WATCH_CONFIG_KEYS,
  type WatchConfig,
  /** A config file or address that cannot be used. */
  WatchConfigError,
} from "./config";
export {
  /** Metrics of the fleet tiers. */
  FleetMetrics,
} from "./fleet-metrics";
export {
  type Family,
  type FleetRulePlan,
  /** A rules file turning off the other family's rules. */
  familyOverride,
  /** Splits rules over the user and ip families. */
  planFleetRules,
} from "./fleet-rules";
export {
  /** A follower's metrics (drops, rotations, position). */
  followerMetrics,
  /** A followLog follower of @kaudit/sources as a watcher input. */
  followInput,
} from "./follow-input";
export {
  /** The queueing, retrying HTTP output behind the Alertmanager and webhook outputs. */
  HttpAlertOutput,
  type HttpOutputOptions,
} from "./http-output";
export {
  /** Alerts as JSON lines to a file or standard output. */
  createJsonLinesOutput,
  type JsonLinesOutputOptions,
} from "./json-lines-output";
export {
  /** A label whose distinct values are capped. */
  BoundedLabel,
  /** `200` → `2xx`. */
  codeClass,
  /** Builds the metrics. */
  createWatchMetrics,
  /** kube-apiserver's request-duration buckets. */
  LATENCY_BUCKETS,
  /** The metrics of kaudit watch. */
  WatchMetrics,
  type WatchMetricsOptions,
} from "./metrics";
export {
  /** Connects to NATS like the fleet tiers do. */
  connectNats,
  type NatsAccess,
} from "./nats-connect";
export {
  /** A stable identity of an alert. */
  alertId,
  /** The detector tier. */
  NatsDetector,
  type NatsDetectorOptions,
  type NatsDetectorStats,
  /** `0-3,7` → partitions. */
  parseAssignment,
  /** Starts a detector. */
  startNatsDetector,
} from "./nats-input";
export {
  /** Creates the fleet's stream when missing, never changes one. */
  ensureFleetStream,
  type FleetStream,
  /** A stream that cannot hold the fleet's subjects. */
  FleetStreamError,
  type FleetStreamSettings,
  /** The collector tier. */
  NatsCollector,
  type NatsCollectorOptions,
  type NatsCollectorStats,
  /** Starts a collector. */
  startNatsCollector,
} from "./nats-output";
export type {
  AlertOutput,
  DropReason,
  OutputDrop,
  OutputFailure,
  OutputStats,
} from "./output";
export {
  /** A failed HTTP delivery. */
  DeliveryError,
  type HttpClientOptions,
} from "./post-json";
export {
  /** The webhook receiver of @kaudit/sources as a watcher input. */
  receiverInput,
  /** A receiver's metrics (answers by code, drops). */
  receiverMetrics,
} from "./receiver-input";
export {
  type StatusServer,
  type StatusServerOptions,
  /** Serves /metrics, /healthz and /readyz. */
  startStatusServer,
} from "./status-server";
export {
  type AlertEvaluator,
  /** Builds the pipeline. */
  createWatcher,
  type InputItem,
  type InputProblem,
  /** The pipeline: inputs → rules → outputs. */
  Watcher,
  type WatcherOptions,
  type WatcherStats,
  type WatchInput,
} from "./watcher";
/** Alerts to any HTTP endpoint as JSON. */
export { createWebhookOutput, type WebhookOutputOptions } from "./webhook-output";
