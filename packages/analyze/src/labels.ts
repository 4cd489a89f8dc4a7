import type { Event } from "@kaudit/api";

/** The user a request acted as: `alice`, `system:admin as alice` when impersonating, `<anonymous>`. */
export function userLabel(e: Event): string {
  const name = e.user?.username ?? "";
  const who = name === "" ? "<anonymous>" : name;
  const as = e.impersonatedUser?.username;
  return as !== undefined && as !== "" ? `${who} as ${as}` : who;
}

/** `pods`, `pods/log`, `deployments.apps`, or `(non-resource) /healthz` for non-resource URLs. */
export function resourceLabel(e: Event): string {
  const ref = e.objectRef;
  if (ref?.resource) {
    return `${ref.resource}${ref.subresource ? `/${ref.subresource}` : ""}${ref.apiGroup ? `.${ref.apiGroup}` : ""}`;
  }
  const uri = e.requestURI ?? "";
  const q = uri.indexOf("?");
  return `(non-resource) ${q >= 0 ? uri.slice(0, q) : uri}`;
}

/** The response classes the report charts, in order. */
export const CODE_CLASSES = ["2xx", "3xx", "4xx", "5xx", "other"] as const;
/** One of {@link CODE_CLASSES}. */
export type CodeClass = (typeof CODE_CLASSES)[number];

/** `2xx`…`5xx` for an HTTP code, `other` for 1xx (101 upgrades), none, or a Panic. */
export function codeClass(code: number | undefined): CodeClass {
  if (code === undefined || code < 200 || code >= 600) return "other";
  return `${Math.floor(code / 100)}xx` as CodeClass;
}
