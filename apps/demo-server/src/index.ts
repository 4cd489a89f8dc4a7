/**
 * kaudit-demo — a small Kubernetes-style API server that kubectl and @kubernetes/client-node can
 * drive, audited end to end through @kaudit/middleware and @kaudit/sinks.
 */

/** The API handler (discovery, CRUD, watch, subresources, impersonation, authorisation). */
export { type ApiHandler, type ApiHandlerOptions, createApiHandler } from "./api-handler";
/** Authentication and authorisation: static token file, ABAC policy file. */
export {
  type AbacSpec,
  createAuthenticator,
  createAuthorizer,
  DemoConfigError,
  parseAbacFile,
} from "./auth";
/** Certificates and kubeconfigs. */
export { generateMutualTLS, generateServingCert, kubeconfigYAML } from "./bootstrap";
/** The command line. */
export { main } from "./cli";
/** Flags (kube-apiserver names) and their mapping to createAuditBackend options. */
export { auditBackendOptions, FLAGS, loadConfigFile, parseGoDuration } from "./options";
/** The bundled webhook receiver. */
export { type Receiver, startReceiver } from "./receiver";
/** Starting the server. */
export { bundledPolicyPath, type DemoServer, type StartOptions, startDemoServer } from "./server";
/** The in-memory store. */
export { Store } from "./store";
