/**
 * audit.k8s.io/v1 wire types, field for field and in kube-apiserver's field order
 * (k8s.io/apiserver pkg/apis/audit/v1/types.go). Property order here is the JSON order the
 * encoder writes, so keep it when editing.
 */

/**
 * A time with microsecond precision, as kube's metav1.MicroTime: RFC 3339 in UTC with exactly
 * six fractional digits, e.g. `2026-11-22T10:04:05.123456Z`.
 * @pattern ^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$
 */
export type MicroTime = string;

/**
 * A time with second precision, as kube's metav1.Time (RFC 3339), used by v1beta1 and
 * v1alpha1 events and object metadata.
 */
export type Time = string;

/**
 * How much of a request is recorded. `None` records nothing; `Metadata` records request
 * metadata (user, verb, resource, timestamps) but no bodies; `Request` adds the request body;
 * `RequestResponse` adds the response body too.
 */
export type Level = "None" | "Metadata" | "Request" | "RequestResponse";

/**
 * Where in handling a request an event was emitted. `RequestReceived`: as soon as the audit
 * handler got the request, before it is delegated. `ResponseStarted`: once the response headers
 * are sent, before the body; only for long-running requests such as watch. `ResponseComplete`:
 * the response body has been completed. `Panic`: the handler panicked.
 */
export type Stage = "RequestReceived" | "ResponseStarted" | "ResponseComplete" | "Panic";

/** Information about the user behind a request (k8s.io/api/authentication/v1 UserInfo). */
export interface UserInfo {
  /** The name that uniquely identifies this user among all active users. */
  username?: string;
  /** A unique value that identifies this user across time; a reused name gets a new UID. */
  uid?: string;
  /** The names of groups this user is a part of. */
  groups?: string[];
  /** Any additional information provided by the authenticator. */
  extra?: Record<string, string[]>;
}

/** Set when a constrained impersonation (KEP-5284) authorised the request. */
export interface AuthenticationMetadata {
  /** The impersonation constraint that was used, e.g. `impersonate:user-info`. */
  impersonationConstraint?: string;
}

/** Identifies the object a resource request acts on (audit.k8s.io/v1 ObjectReference). */
export interface ObjectReference {
  /** The resource, e.g. `pods`. */
  resource?: string;
  /** The object's namespace; empty for cluster-scoped objects and all-namespace requests. */
  namespace?: string;
  /** The object's name; empty for list, create (before the body is read) and collection requests. */
  name?: string;
  /** The object's UID, when known. */
  uid?: string;
  /** The API group of the resource; `""` is the core group. */
  apiGroup?: string;
  /** The version of the API group, e.g. `v1`. */
  apiVersion?: string;
  /** The object's resourceVersion, when known. */
  resourceVersion?: string;
  /** The subresource, e.g. `status`, `log`, `exec`. */
  subresource?: string;
}

/** A single cause of a Status error (metav1.StatusCause). */
export interface StatusCause {
  /** A machine-readable description of the cause, e.g. `FieldValueInvalid`. */
  reason?: string;
  /** A human-readable description of the cause. */
  message?: string;
  /** The field of the resource that caused the error, e.g. `spec.containers[0].name`. */
  field?: string;
}

/** Extra data about a Status (metav1.StatusDetails). */
export interface StatusDetails {
  /** The name attribute of the resource the status is about. */
  name?: string;
  /** The group attribute of the resource the status is about. */
  group?: string;
  /** The kind attribute of the resource the status is about. */
  kind?: string;
  /** The UID of the resource the status is about. */
  uid?: string;
  /** The causes of the error. */
  causes?: StatusCause[];
  /** How many seconds the client should wait before retrying, if set. */
  retryAfterSeconds?: number;
}

/** List metadata; an event's `responseStatus.metadata` is always `{}` on the wire. */
export interface ListMeta {
  selfLink?: string;
  resourceVersion?: string;
  continue?: string;
  remainingItemCount?: number;
}

/** The subset of metav1.Status an audit event carries as `responseStatus`. */
export interface Status {
  /** Normally absent in audit events. */
  kind?: string;
  /** Normally absent in audit events. */
  apiVersion?: string;
  /** Always written as `{}` by kube-apiserver. */
  metadata?: ListMeta;
  /** `Success` or `Failure`, when the response was a Status object. */
  status?: string;
  /** A human-readable description of the status. */
  message?: string;
  /** A machine-readable reason, e.g. `NotFound`, `Forbidden`. */
  reason?: string;
  /** Extra data about the reason. */
  details?: StatusDetails;
  /** The HTTP status code of the response. */
  code?: number;
}

/** Object metadata as carried by v1alpha1/v1beta1 events and Policy objects (ignored). */
export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: Time | null;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

/**
 * Any JSON value: a request or response body kept as sent (kube's runtime.Unknown).
 */
export type JSONValue =
  | string
  | number
  | boolean
  | null
  | JSONValue[]
  | { [key: string]: JSONValue };

/**
 * A body embedded verbatim as `requestObject` or `responseObject`. kube-apiserver keeps these as
 * `runtime.Unknown` (the raw JSON bytes, written as they are), so any JSON value can appear:
 * usually an object, but the array of a JSON patch (`kubectl patch --type=json`), or a string,
 * number, boolean or `null` when that is what the body was.
 */
export type RawObject = { [key: string]: unknown } | unknown[] | string | number | boolean | null;

/** One audit record: a request at one stage of its handling (audit.k8s.io/v1 Event). */
export interface Event {
  /** `Event` for a top-level event; absent on EventList items. */
  kind?: "Event";
  /** `audit.k8s.io/v1`; absent on EventList items. */
  apiVersion?: string;
  /** The audit level at which the event was generated. */
  level: Level;
  /** A unique audit ID, generated for each request (or taken from its `Audit-ID` header). */
  auditID: string;
  /** The stage of request handling when this event instance was generated. */
  stage: Stage;
  /** The request URI as sent by the client: escaped path, then `?` and the raw query. */
  requestURI: string;
  /** The Kubernetes verb for resource requests (`get`, `list`, `watch`, ...), the lower-cased HTTP method otherwise. */
  verb: string;
  /** The authenticated user; `{}` for unauthenticated requests. */
  user: UserInfo;
  /** The user being impersonated, when the request used impersonation. */
  impersonatedUser?: UserInfo;
  /** Details of how the request was authenticated; only set for constrained impersonation. */
  authenticationMetadata?: AuthenticationMetadata;
  /** The source IPs the request came from and through: X-Forwarded-For, X-Real-Ip, then the peer. */
  sourceIPs?: string[];
  /** The user agent string reported by the client; truncated at 1024 bytes. */
  userAgent?: string;
  /** The object the request is about; only for resource requests. */
  objectRef?: ObjectReference;
  /** The response status, filled even when responseObject is not a Status. */
  responseStatus?: Status;
  /**
   * The request body as sent (any JSON value: an object, the array of a JSON patch, …); only at
   * level Request and above.
   */
  requestObject?: RawObject;
  /** The response body (any JSON value); only at level RequestResponse. */
  responseObject?: RawObject;
  /** When the request reached the apiserver. */
  requestReceivedTimestamp?: MicroTime | null;
  /** When the request reached the current stage. */
  stageTimestamp?: MicroTime | null;
  /**
   * Unstructured key-value data stored with the event, set by plugins in the serving chain
   * (authorization decisions, admission, latency, truncation). Keys should be qualified by the
   * component that set them, e.g. `authorization.k8s.io/decision`.
   */
  annotations?: Record<string, string>;
}

/** A list of events, the body a webhook receives (audit.k8s.io/v1 EventList). */
export interface EventList {
  /** `EventList`. */
  kind?: "EventList";
  /** `audit.k8s.io/v1`. */
  apiVersion?: string;
  /** Always `{}` on the wire. */
  metadata?: ListMeta;
  /** The events; items carry no kind or apiVersion. */
  items: Event[];
}

/** A group and the resources of it that a rule selects (audit.k8s.io/v1 GroupResources). */
export interface GroupResources {
  /** The API group; `""` (or absent) is the core group, `*` is every group. */
  group?: string;
  /**
   * Resources of the group: `pods`, `pods/log` (a subresource), `pods/*` (the resource and all its
   * subresources), `*` (everything, subresources included), `*\/scale` (that subresource of any
   * resource). An empty list means every resource of the group.
   */
  resources?: string[];
  /** Object names to match; needs `resources`. An empty list means every name. */
  resourceNames?: string[];
}

/** One rule of an audit policy: which requests it selects and at which level they are logged. */
export interface PolicyRule {
  /** The level requests matching this rule are recorded at. */
  level: Level;
  /** The users (by authenticated name) this rule applies to; empty means every user. */
  users?: string[];
  /** The user groups this rule applies to; a user in any of them matches. Empty means every group. */
  userGroups?: string[];
  /** The verbs this rule applies to; empty means every verb. No wildcard. */
  verbs?: string[];
  /** The resources this rule applies to; empty means every resource. */
  resources?: GroupResources[];
  /** The namespaces this rule applies to; `""` matches cluster-scoped and all-namespace requests. Empty means every namespace. */
  namespaces?: string[];
  /**
   * Non-resource URL paths this rule applies to, e.g. `/healthz`; `*` may be the final character
   * (`/healthz*`). Empty means every path.
   */
  nonResourceURLs?: string[];
  /** Stages for which no event is generated; unioned with the policy's omitStages. */
  omitStages?: Stage[];
  /**
   * Whether managedFields are left out of request and response bodies; when absent, the
   * policy's omitManagedFields applies.
   */
  omitManagedFields?: boolean;
}

/** An audit policy: rules evaluated in order, the first match deciding (audit.k8s.io/v1 Policy). */
export interface Policy {
  /** `Policy`. */
  kind?: "Policy";
  /** `audit.k8s.io/v1`. */
  apiVersion?: string;
  /** Object metadata, kept for interoperability and otherwise ignored. */
  metadata?: ObjectMeta;
  /** The rules; the first one that matches a request sets its level. */
  rules: PolicyRule[];
  /** Stages for which no event is generated for any request. */
  omitStages?: Stage[];
  /** Whether managedFields are left out of bodies, unless a rule says otherwise. */
  omitManagedFields?: boolean;
}

/** A list of policies (audit.k8s.io/v1 PolicyList). */
export interface PolicyList {
  /** `PolicyList`. */
  kind?: "PolicyList";
  /** `audit.k8s.io/v1`. */
  apiVersion?: string;
  /** List metadata. */
  metadata?: ListMeta;
  /** The policies. */
  items: Policy[];
}
