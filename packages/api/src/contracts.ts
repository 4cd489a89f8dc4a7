import type { Event, Level, Stage } from "./types";

/**
 * Where audit events go: a log file, a webhook, or a wrapper around other sinks
 * (k8s.io/apiserver pkg/audit/types.go Sink and Backend).
 *
 * Contract:
 * - `processEvents` receives events it does **not** own. The caller keeps mutating the same
 *   event object for later stages of the request, so a sink must neither mutate the events nor
 *   keep references to them past the call: a sink that retains events (a queue, a batch) copies
 *   or encodes them before it returns.
 * - It returns `true` when every event was accepted (written, queued, or deliberately dropped
 *   by a wrapper whose job is dropping, which then counts and reports the drop), and `false` when
 *   an event could not be handled. `false` is how `blocking-strict` fails a request, so it must
 *   mean a real failure. A sink may return a Promise when delivery is awaited (blocking modes);
 *   it must not reject: failures are reported as `false` and through the sink's own error reporting.
 * - It must not throw for bad events; an event it cannot encode is a failure of that event.
 * - `shutdown()` stops accepting events, delivers (or spools) everything already accepted and
 *   resolves when done; calling it twice is harmless. Events offered after shutdown are a
 *   counted failure, never silently lost.
 * - `toString()` names the sink the way kube-apiserver does, wrappers composing their delegates'
 *   names: `log`, `webhook`, `buffered<webhook>`, `truncate<buffered<webhook>>`,
 *   `union[ignoreErrors<log>,buffered<webhook>]`.
 */
export interface Sink {
  /** Accepts events; see the contract on {@link Sink}. */
  processEvents(events: readonly Event[]): boolean | Promise<boolean>;
  /** Flushes what was accepted and releases resources. */
  shutdown(): Promise<void>;
  /** The sink's name in kube-apiserver's notation. */
  toString(): string;
}

/** The authenticated user of a request (k8s.io/apiserver user.Info). */
export interface UserAttributes {
  /** The user name, e.g. `system:serviceaccount:kube-system:default`. */
  name: string;
  /** The user's UID, if the authenticator provides one. */
  uid?: string;
  /** The user's groups, in the order the authenticator gave them. */
  groups?: readonly string[];
  /** Extra authenticator data. */
  extra?: Readonly<Record<string, readonly string[]>>;
}

/**
 * What a policy is evaluated against: the authorizer attributes of a request
 * (k8s.io/apiserver pkg/authorization/authorizer Attributes, as built by
 * GetAuthorizerAttributes from the request info).
 *
 * Rules: `user` is absent for an unauthenticated request (then no rule with users or userGroups
 * matches; `system:anonymous` is a user). For a resource request `verb` is the Kubernetes verb
 * (`get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`, `proxy`) and
 * `path` is still the URL path; for a non-resource request `verb` is the lower-cased HTTP method
 * and only `path` is meaningful. `namespace` is `""` for cluster-scoped and all-namespace
 * requests. `apiGroup` is `""` for the core group.
 */
export interface RequestAttributes {
  /** The authenticated user, or undefined for an unauthenticated request. */
  user?: UserAttributes;
  /** The Kubernetes verb (resource requests) or lower-cased HTTP method (non-resource). */
  verb: string;
  /** True for `/api/...` and `/apis/...` requests that name a resource. */
  isResourceRequest: boolean;
  /** The URL path without the query. */
  path: string;
  /** The API group; `""` for the core group. */
  apiGroup: string;
  /** The API version, e.g. `v1`. */
  apiVersion: string;
  /** The namespace; `""` for cluster-scoped and all-namespace requests. */
  namespace: string;
  /** The resource, e.g. `pods`. */
  resource: string;
  /** The subresource, e.g. `status`; `""` when none. */
  subresource: string;
  /** The object name; `""` for list, create and collection requests. */
  name: string;
}

/** What a policy decides for a request (kube's RequestAuditConfig, plus the rule that decided). */
export interface PolicyDecision {
  /** The level to record the request at; `None` records nothing. */
  level: Level;
  /** Stages not to emit, sorted. */
  omitStages: readonly Stage[];
  /** Whether managedFields are stripped from logged bodies. */
  omitManagedFields: boolean;
  /** The index of the rule that matched, or -1 when none did. */
  ruleIndex: number;
}

/** Anything that can decide the audit level of a request: a compiled policy, or your own. */
export interface PolicyEvaluator {
  /** Decides how a request with these attributes is audited. Must not throw. */
  evaluate(attrs: RequestAttributes): PolicyDecision;
}
