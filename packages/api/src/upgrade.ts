import { API_VERSION, GROUP } from "./levels";
import type { Event, ObjectReference, Policy } from "./types";

const OLD_VERSIONS = new Set([`${GROUP}/v1alpha1`, `${GROUP}/v1beta1`]);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function copyKey(
  out: Record<string | symbol, unknown>,
  key: string | symbol,
  value: unknown,
): void {
  Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Options for {@link upgradeEvent}. */
export interface UpgradeEventOptions {
  /**
   * The apiVersion to assume when the event has none: an EventList's items carry none and take
   * the list's. Without it, an event with no apiVersion is read as v1beta1, the version most
   * such logs (re-serialised by tools) were written in.
   */
  apiVersion?: string;
}

/**
 * Converts an event of any version still found in logs to audit.k8s.io/v1, the way the
 * reference's conversions did (pkg/apis/audit/v1alpha1|v1beta1 conversion, removed in k8s 1.24):
 * - `requestReceivedTimestamp` missing ⇒ the v1beta1 `timestamp`; `stageTimestamp` missing ⇒
 *   `metadata.creationTimestamp`; both leftovers are then dropped. (We also apply these
 *   fallbacks to v1 events that still carry them — logs rewritten from v1beta1, such as
 *   audit2rbac's — where kube-apiserver's decoder would just ignore them and lose the time.)
 * - v1alpha1 `objectRef.apiVersion` holds `group/version`: split at the last `/` into
 *   `apiGroup` and `apiVersion` (`"/v1"` ⇒ core `v1`).
 * - kind/apiVersion become `Event` / `audit.k8s.io/v1`.
 * Returns a new object; the input is not changed. Anything that is not an object is returned
 * as is, for the validators to reject with a path and a message.
 */
export function upgradeEvent(obj: unknown, options: UpgradeEventOptions = {}): Event {
  if (!isObject(obj)) return obj as Event;
  const version =
    typeof obj.apiVersion === "string" && obj.apiVersion ? obj.apiVersion : options.apiVersion;
  const metadata = obj.metadata;
  const timestamp = obj.timestamp;
  // A key-by-key copy: the rest-destructuring it replaces (`{ metadata, timestamp, ...rest }`)
  // cost 3x as much and left an object that encodeEvent and the validator read more slowly.
  const out: Record<string, unknown> = {};
  const keys = Object.keys(obj);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (k === "metadata" || k === "timestamp") continue;
    // An own `__proto__` key (JSON.parse makes them) stays a key; assigning it would set the prototype.
    if (k === "__proto__") copyKey(out, k, obj[k]);
    else out[k] = obj[k];
  }
  for (const sym of Object.getOwnPropertySymbols(obj)) {
    if (Object.prototype.propertyIsEnumerable.call(obj, sym)) copyKey(out, sym, obj[sym as never]);
  }
  // A wrong kind is kept for the validators to report.
  out.kind = obj.kind ?? "Event";
  out.apiVersion = API_VERSION;
  if (out.requestReceivedTimestamp === undefined || out.requestReceivedTimestamp === null) {
    if (typeof timestamp === "string") out.requestReceivedTimestamp = timestamp;
  }
  if (out.stageTimestamp === undefined || out.stageTimestamp === null) {
    const created = isObject(metadata) ? metadata.creationTimestamp : undefined;
    if (typeof created === "string") out.stageTimestamp = created;
  }
  const ref = obj.objectRef;
  const alpha = version === `${GROUP}/v1alpha1` || version === undefined || version === "";
  if (
    isObject(ref) &&
    alpha &&
    ref.apiGroup === undefined &&
    typeof ref.apiVersion === "string" &&
    ref.apiVersion.includes("/")
  ) {
    const gv = ref.apiVersion;
    const cut = gv.lastIndexOf("/");
    const split: ObjectReference = { ...(ref as ObjectReference), apiVersion: gv.slice(cut + 1) };
    const group = gv.slice(0, cut);
    if (group) split.apiGroup = group;
    else delete split.apiGroup;
    out.objectRef = split;
  }
  return out as unknown as Event;
}

/** True for the audit.k8s.io versions removed in Kubernetes 1.24 (v1alpha1, v1beta1). */
export function isDeprecatedAuditVersion(apiVersion: unknown): boolean {
  return typeof apiVersion === "string" && OLD_VERSIONS.has(apiVersion);
}

/**
 * Converts an audit.k8s.io/v1alpha1 or v1beta1 policy to v1. The three versions share the
 * same JSON, so only apiVersion changes; a v1 policy (or anything else) is returned as is.
 * kube-apiserver rejects the old versions since 1.24; @kaudit/policy accepts them with a warning.
 */
export function upgradePolicy(obj: unknown): Policy {
  if (!isObject(obj) || !isDeprecatedAuditVersion(obj.apiVersion)) return obj as unknown as Policy;
  return { ...obj, apiVersion: API_VERSION } as unknown as Policy;
}
