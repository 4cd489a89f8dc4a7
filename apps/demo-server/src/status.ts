import { KauditError } from "@kaudit/api";
import { qualifiedResource } from "./resources";

/** A `metav1.StatusCause`. */
export interface Cause {
  reason?: string;
  message?: string;
  field?: string;
}

/** A `metav1.Status` failure as kube-apiserver's `apierrors` build them. */
export interface StatusBody {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, never>;
  status: "Failure";
  message: string;
  reason: string;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    causes?: Cause[];
    retryAfterSeconds?: number;
  };
  code: number;
}

/** An API error carrying the Status the client gets. */
export class StatusError extends KauditError {
  /** The HTTP code. */
  readonly code: number;
  /** The Status body. */
  readonly status: StatusBody;
  constructor(code: number, reason: string, message: string, details?: StatusBody["details"]) {
    super(message, { name: "StatusError" });
    this.code = code;
    this.status = {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message,
      reason,
      ...(details ? { details } : {}),
      code,
    };
  }
}

type Res = { group: string; resource: string };

function details(res: Res, name: string | undefined): StatusBody["details"] {
  const d: NonNullable<StatusBody["details"]> = {};
  if (name) d.name = name;
  if (res.group) d.group = res.group;
  d.kind = res.resource;
  return d;
}

/** `apierrors.NewNotFound`. */
export function notFound(res: Res, name: string): StatusError {
  return new StatusError(
    404,
    "NotFound",
    `${qualifiedResource(res)} "${name}" not found`,
    details(res, name),
  );
}

/** `apierrors.NewAlreadyExists`. */
export function alreadyExists(res: Res, name: string): StatusError {
  return new StatusError(
    409,
    "AlreadyExists",
    `${qualifiedResource(res)} "${name}" already exists`,
    details(res, name),
  );
}

/** `apierrors.NewConflict` for a stale resourceVersion. */
export function conflict(res: Res, name: string): StatusError {
  return new StatusError(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${qualifiedResource(res)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    details(res, name),
  );
}

/** `apierrors.NewInvalid`: `Kind "name" is invalid: [field: msg, ...]`. */
export function invalid(
  kind: string,
  group: string,
  name: string,
  causes: { field: string; message: string; type?: string }[],
): StatusError {
  const msgs = causes.map((c) => `${c.field}: ${c.message}`);
  const joined = msgs.length === 1 ? msgs[0] : `[${msgs.join(", ")}]`;
  const d: NonNullable<StatusBody["details"]> = { name };
  if (group) d.group = group;
  d.kind = kind;
  d.causes = causes.map((c) => ({
    reason: c.type ?? "FieldValueInvalid",
    message: c.message,
    field: c.field,
  }));
  return new StatusError(422, "Invalid", `${kind} "${name}" is invalid: ${joined}`, d);
}

/** `apierrors.NewBadRequest`. */
export function badRequest(message: string): StatusError {
  return new StatusError(400, "BadRequest", message);
}

/** `apierrors.NewMethodNotSupported`. */
export function methodNotSupported(res: Res, action: string): StatusError {
  return new StatusError(
    405,
    "MethodNotAllowed",
    `${action} is not supported on resources of kind "${qualifiedResource(res)}"`,
    details(res, undefined),
  );
}

/** The 404 kube answers for a path no handler serves. */
export function pathNotFound(): StatusError {
  return new StatusError(404, "NotFound", "the server could not find the requested resource", {});
}

/** `apierrors.NewRequestEntityTooLargeError`. */
export function tooLarge(limit: number): StatusError {
  return new StatusError(
    413,
    "RequestEntityTooLarge",
    `Request entity too large: limit is ${limit}`,
  );
}

/** `apierrors.NewUnsupportedMediaType`. */
export function unsupportedMediaType(ct: string): StatusError {
  return new StatusError(
    415,
    "UnsupportedMediaType",
    `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf, application/apply-patch+yaml, application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got ${JSON.stringify(ct)})`,
  );
}

/** `apierrors.NewForbidden` as `responsewriters.Forbidden` words it. */
export function forbidden(
  res: { group: string; resource: string; name?: string },
  message: string,
): StatusError {
  const d: NonNullable<StatusBody["details"]> = {};
  if (res.name) d.name = res.name;
  if (res.group) d.group = res.group;
  d.kind = res.resource;
  return new StatusError(403, "Forbidden", message, res.resource ? d : {});
}
