/**
 * @kaudit/sources — where audit events come from: files of every format, a follower of
 * kube-apiserver's rotating log, and kube's audit webhook receiver.
 */

/** Package version, kept in step with package.json by the release. */
export const VERSION = "0.0.0";

export { SourceReadError, type SourceReadErrorKind } from "./errors";
export type { FileRef } from "./file-identity";
export {
  type FollowItem,
  type FollowLogOptions,
  type FollowPosition,
  type FollowStats,
  /** Follows kube-apiserver's rotating audit log. */
  followLog,
  /** The class behind followLog(). */
  LogFollower,
} from "./follow-log";
export { gkeToEvent, isGkeLogEntry, parseResourceName } from "./gke";
export { createLocator, jsonErrorColumn, jsonErrorMessage, type Locator, pathKeys } from "./locate";
export { formatProblem, type Problem } from "./problem";
export { errnoText, type Input, inputName, type ReadBytesOptions, readBytes } from "./read-bytes";
export {
  type EventReader,
  READ_LIMITS,
  type ReadCounts,
  type ReadEventsOptions,
  type RecordReader,
  readEvents,
  readRecords,
} from "./read-events";
export {
  type NatsEvent,
  NatsReader,
  type NatsSource,
  /** The audit event of a JetStream message's text. */
  natsEventOf,
  type ReadNatsOptions,
  /** Reads events from NATS JetStream (durable pull consumer, ack after hand-off). */
  readNats,
} from "./read-nats";
export {
  type EventSource,
  kindOf,
  type ListRecord,
  type RawRecord,
  type ReadResult,
  type RecordResult,
  type RecordShape,
  type SkipReason,
  type SourceFormat,
  shapeOf,
} from "./records";
export {
  /** The error type of source failures. */
  SourceError,
  type SourceReport,
  type SourceStats,
} from "./source-stats";
export {
  /** Reads and parses kube's static token CSV. */
  loadTokenFile,
  /** Parses kube's static token CSV. */
  parseTokenFile,
  type TokenFileOptions,
  type TokenUser,
} from "./token-file";
export {
  /** Starts kube-apiserver's audit webhook endpoint. */
  createWebhookReceiver,
  type ReceivedBatch,
  /** The class behind createWebhookReceiver(). */
  WebhookReceiver,
  type WebhookReceiverOptions,
  type WebhookReceiverStats,
} from "./webhook-receiver";
export { parseYamlValue, type YamlLimits, type YamlResult } from "./yaml-value";
