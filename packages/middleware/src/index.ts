/**
 * @kaudit/middleware — kube-apiserver's audit filter (WithAuditInit, WithAudit,
 * WithFailedAuthenticationAudit) for node:http, Connect/Express and Fastify.
 */

export {
  /** Annotation key set when a request body is left out of `requestObject`. */
  ANNOTATION_REQUEST_OBJECT_OMITTED,
  /** Annotation key set when a response body is left out of `responseObject`. */
  ANNOTATION_RESPONSE_OBJECT_OMITTED,
} from "./body-capture";
export {
  /** Express error middleware recording Panic events. */
  auditErrorHandler,
  /** The audit filter as Connect/Express middleware. */
  auditMiddleware,
  type ConnectErrorMiddleware,
  type ConnectMiddleware,
} from "./express";
export {
  type FastifyAuditPlugin,
  type FastifyInstanceLike,
  /** The audit filter as a (global) Fastify plugin. */
  fastifyAudit,
} from "./fastify";
export {
  /** Go's time.Duration.String() for nanoseconds. */
  formatGoDuration,
} from "./go-duration";
export {
  /** apimachinery's SourceIPs over raw header values and the peer address. */
  computeSourceIPs,
} from "./ip";
export {
  type NodeHandler,
  /** Wraps a node:http request handler (or `upgrade` listener) with the audit filter. */
  withAudit,
} from "./node";
export {
  type AuditOptions,
  /** Thrown for invalid options, naming every bad field. */
  AuditOptionsError,
} from "./options";
export {
  /** Adds an audit annotation to the request's event (first value wins). */
  addAuditAnnotation,
  /** Adds time spent in a kube latency layer. */
  addAuditLatency,
  /** The request's audit ID. */
  getAuditID,
  /** Records the request object (audit.LogRequestObject). */
  logRequestObject,
  /** Records the response object (audit.LogResponseObject). */
  logResponseObject,
  /** Records the impersonated user (audit.LogImpersonatedUser). */
  setImpersonatedUser,
} from "./request-api";
