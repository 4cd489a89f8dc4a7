export {
  ANNOTATION_REQUEST_OBJECT_OMITTED,
  ANNOTATION_RESPONSE_OBJECT_OMITTED,
  type AuditOptions,
  AuditOptionsError,
} from "./core";
export {
  auditErrorHandler,
  auditMiddleware,
  type ConnectErrorMiddleware,
  type ConnectMiddleware,
} from "./express";
export { type FastifyAuditPlugin, type FastifyInstanceLike, fastifyAudit } from "./fastify";
export { formatGoDuration } from "./go-duration";
export { computeSourceIPs } from "./ip";
export { type NodeHandler, withAudit } from "./node";
export {
  addAuditAnnotation,
  addAuditLatency,
  getAuditID,
  logRequestObject,
  logResponseObject,
  setImpersonatedUser,
} from "./request-api";
