/**
 * @kaudit/sources — where audit events come from: files of every format, a follower of
 * kube-apiserver's rotating log, and kube's audit webhook receiver.
 */

/** Package version, kept in step with package.json by the release. */
export const VERSION = "0.0.0";

export {
  /** The error type of source failures. */
  SourceError,
  type SourceReport,
  type SourceStats,
} from "./source-stats";
export {
  /** Parses kube's static token CSV. */
  parseTokenFile,
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
