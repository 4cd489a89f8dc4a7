import type { Event, PolicyDecision, RawObject } from "@kaudit/api";
import { PolicyError } from "./errors";

function stripObject(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...obj };
  const meta = obj.metadata;
  if (
    meta !== null &&
    typeof meta === "object" &&
    !Array.isArray(meta) &&
    "managedFields" in meta
  ) {
    const { managedFields: _drop, ...rest } = meta as Record<string, unknown>;
    out.metadata = rest;
  }
  return out;
}

/**
 * A copy of a Kubernetes object without `metadata.managedFields`, as kube-apiserver's
 * OmitManagedFields does for audit bodies: the object itself, every item of a list (`items`),
 * and every row object of a `Table` (`rows[].object`). Objects without metadata (a Status) come
 * back as an equal copy; the input is never mutated.
 */
export function stripManagedFields<T>(obj: T): T {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) return obj;
  const out = stripObject(obj as Record<string, unknown>);
  if (Array.isArray(out.items)) {
    out.items = out.items.map((item) =>
      item !== null && typeof item === "object" && !Array.isArray(item)
        ? stripObject(item as Record<string, unknown>)
        : item,
    );
  }
  if (out.kind === "Table" && Array.isArray(out.rows)) {
    out.rows = out.rows.map((row) => {
      if (row === null || typeof row !== "object" || Array.isArray(row)) return row;
      const r = row as Record<string, unknown>;
      const object = r.object;
      if (object === null || typeof object !== "object" || Array.isArray(object)) return { ...r };
      return { ...r, object: stripObject(object as Record<string, unknown>) };
    });
  }
  return out as T;
}

/**
 * The event as the decision would have logged it, the basis for dry-running a policy over a
 * recorded log (kube's deleted EnforcePolicy, pkg/audit/policy/enforce.go): an omitted stage or
 * level `None` drops the event (undefined); otherwise the level is relabelled (also upwards;
 * bodies the original did not record cannot be recovered), `Metadata` drops both bodies,
 * `Request` drops the response body, and managedFields are stripped from the remaining bodies
 * when the decision asks for it. Returns a new object; the input is never mutated.
 *
 * @throws {PolicyError} for a level that is not one of the four (`level unknown: <level>`).
 */
export function applyDecision(event: Event, decision: PolicyDecision): Event | undefined {
  if (decision.omitStages.includes(event.stage)) return undefined;
  const out: Event = { ...event, level: decision.level };
  switch (decision.level) {
    case "None":
      return undefined;
    case "Metadata":
      delete out.requestObject;
      delete out.responseObject;
      return out;
    case "Request":
      delete out.responseObject;
      break;
    case "RequestResponse":
      break;
    default:
      throw new PolicyError(`level unknown: ${String(decision.level)}`, {
        issues: [{ path: "level", message: `level unknown: ${String(decision.level)}` }],
      });
  }
  if (decision.omitManagedFields) {
    if (out.requestObject !== undefined)
      out.requestObject = stripManagedFields(out.requestObject) as RawObject;
    if (out.responseObject !== undefined)
      out.responseObject = stripManagedFields(out.responseObject) as RawObject;
  }
  return out;
}
