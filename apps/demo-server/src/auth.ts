import type { IncomingMessage } from "node:http";
import { KauditError, type UserAttributes } from "@kaudit/api";
import type { TokenUser } from "@kaudit/sources";
import { nameErrors } from "./store";

/** A configuration file the demo cannot use; the message names `file:line`. */
export class DemoConfigError extends KauditError {
  constructor(message: string) {
    super(message, { name: "DemoConfigError" });
  }
}

/** kube's `user.AllAuthenticated`. */
export const ALL_AUTHENTICATED = "system:authenticated";
/** kube's `user.AllUnauthenticated`. */
export const ALL_UNAUTHENTICATED = "system:unauthenticated";
/** kube's `user.Anonymous`. */
export const ANONYMOUS = "system:anonymous";
/** kube's `user.SystemPrivilegedGroup`. */
export const MASTERS = "system:masters";

/**
 * One user of a static token file: `@kaudit/sources`' reader of kube's `--token-auth-file`
 * (Go's CSV rules, kube's warnings for empty and repeated tokens) serves the demo too.
 */
export type { TokenUser } from "@kaudit/sources";

/** Thrown by the authenticator: the middleware turns it into the 401 kube sends. */
export class AuthenticationError extends KauditError {
  constructor(message: string) {
    super(message, { name: "AuthenticationError" });
  }
}

/**
 * Builds an authenticator: bearer tokens from the token map; no credentials ⇒ anonymous
 * (`system:anonymous`, group `system:unauthenticated`) when allowed, else 401.
 * Authenticated users also get `system:authenticated`, as kube's group adder does.
 */
export function createAuthenticator(
  tokens: Map<string, TokenUser>,
  opts: { anonymous: boolean },
): (req: IncomingMessage) => UserAttributes {
  return (req) => {
    const auth = req.headers.authorization;
    if (typeof auth === "string" && auth.trim() !== "") {
      const parts = auth.trim().split(" ");
      if (parts.length < 2 || (parts[0] as string).toLowerCase() !== "bearer")
        throw new AuthenticationError("unsupported authorization scheme");
      const token = (parts[1] as string).trim();
      const u = tokens.get(token);
      if (!u) throw new AuthenticationError("invalid bearer token");
      const groups = [...(u.groups ?? [])];
      if (!groups.includes(ALL_AUTHENTICATED)) groups.push(ALL_AUTHENTICATED);
      const out: UserAttributes = { name: u.name, groups };
      if (u.uid) out.uid = u.uid;
      return out;
    }
    if (!opts.anonymous) throw new AuthenticationError("no credentials");
    return { name: ANONYMOUS, groups: [ALL_UNAUTHENTICATED] };
  };
}

/** The attributes authorisation looks at (kube `authorizer.Attributes`). */
export interface AuthzAttributes {
  user: UserAttributes;
  verb: string;
  isResourceRequest: boolean;
  path: string;
  apiGroup: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
}

/** One ABAC policy line's spec (`abac.authorization.kubernetes.io/v1beta1`). */
export interface AbacSpec {
  user?: string;
  group?: string;
  readonly?: boolean;
  apiGroup?: string;
  resource?: string;
  namespace?: string;
  nonResourcePath?: string;
}

/** Parses an ABAC policy file: one JSON `Policy` object per line (blank and `#` lines skipped). */
export function parseAbacFile(text: string, source = "policy file"): AbacSpec[] {
  const out: AbacSpec[] = [];
  text.split(/\r?\n/).forEach((line, idx) => {
    const where = `${source}:${idx + 1}`;
    const t = line.trim();
    if (t === "" || t.startsWith("#")) return;
    let obj: unknown;
    try {
      obj = JSON.parse(t);
    } catch (e) {
      throw new DemoConfigError(`${where}: invalid JSON: ${(e as Error).message}`);
    }
    const o = obj as { apiVersion?: unknown; kind?: unknown; spec?: unknown };
    if (typeof o !== "object" || o === null || o.kind !== "Policy")
      throw new DemoConfigError(`${where}: expected kind "Policy"`);
    if (o.apiVersion !== "abac.authorization.kubernetes.io/v1beta1")
      throw new DemoConfigError(
        `${where}: apiVersion: expected "abac.authorization.kubernetes.io/v1beta1", got ${JSON.stringify(o.apiVersion)}`,
      );
    if (typeof o.spec !== "object" || o.spec === null)
      throw new DemoConfigError(`${where}: spec: required`);
    const spec = o.spec as Record<string, unknown>;
    for (const k of ["user", "group", "apiGroup", "resource", "namespace", "nonResourcePath"]) {
      if (spec[k] !== undefined && typeof spec[k] !== "string")
        throw new DemoConfigError(`${where}: spec.${k}: expected a string`);
    }
    if (spec.readonly !== undefined && typeof spec.readonly !== "boolean")
      throw new DemoConfigError(`${where}: spec.readonly: expected a boolean`);
    if (spec.user === undefined && spec.group === undefined)
      throw new DemoConfigError(`${where}: spec: one of user or group is required`);
    out.push(spec as AbacSpec);
  });
  return out;
}

const READONLY = new Set(["get", "list", "watch"]);

function subjectMatches(p: AbacSpec, u: UserAttributes): boolean {
  let matched = false;
  if (p.user) {
    if (p.user === "*") matched = true;
    else {
      matched = p.user === u.name;
      if (!matched) return false;
    }
  }
  if (p.group) {
    if (p.group === "*") matched = true;
    else {
      matched = (u.groups ?? []).includes(p.group);
      if (!matched) return false;
    }
  }
  return matched;
}

function abacMatches(p: AbacSpec, a: AuthzAttributes): boolean {
  if (!subjectMatches(p, a.user)) return false;
  if (p.readonly && !READONLY.has(a.verb)) return false;
  if (a.isResourceRequest) {
    return (
      (p.namespace === "*" || p.namespace === a.namespace) &&
      (p.resource === "*" || p.resource === a.resource) &&
      (p.apiGroup === "*" || p.apiGroup === a.apiGroup)
    );
  }
  const np = p.nonResourcePath;
  if (!np) return false;
  if (np === "*" || np === a.path) return true;
  return np.endsWith("*") && a.path.startsWith(np.slice(0, -1));
}

/** An authorisation decision with kube's reason text. */
export interface Decision {
  allowed: boolean;
  reason: string;
}

/** What kube's `system:basic-user` ClusterRole lets every authenticated user create. */
const BASIC_USER = [
  { group: "authentication.k8s.io", resource: "selfsubjectreviews" },
  { group: "authorization.k8s.io", resource: "selfsubjectaccessreviews" },
  { group: "authorization.k8s.io", resource: "selfsubjectrulesreviews" },
];

const DISCOVERY = [
  "/api",
  "/api/*",
  "/apis",
  "/apis/*",
  "/openapi",
  "/openapi/*",
  "/version",
  "/version/",
  "/healthz",
  "/livez",
  "/readyz",
];
const PUBLIC_INFO = ["/healthz", "/livez", "/readyz", "/version", "/version/"];

function pathIn(path: string, list: string[]): boolean {
  return list.some((p) => (p.endsWith("*") ? path.startsWith(p.slice(0, -1)) : p === path));
}

/**
 * kube-apiserver's authoriser union as the demo configures it: `system:masters` ⇒ allow
 * (privileged-group authoriser, empty reason); the default RBAC bindings for discovery
 * (`system:discovery` to authenticated users, `system:public-info-viewer` to everyone) and for
 * self access reviews (`system:basic-user`); then
 * the ABAC rules, whose "no match" reason is kube's `No policy matched.`.
 */
export function createAuthorizer(rules: AbacSpec[]): (a: AuthzAttributes) => Decision {
  return (a) => {
    const groups = a.user.groups ?? [];
    if (groups.includes(MASTERS)) return { allowed: true, reason: "" };
    if (!a.isResourceRequest && a.verb === "get") {
      if (pathIn(a.path, PUBLIC_INFO))
        return {
          allowed: true,
          reason: `RBAC: allowed by ClusterRoleBinding "system:public-info-viewer" of ClusterRole "system:public-info-viewer" to Group "${groups.includes(ALL_AUTHENTICATED) ? ALL_AUTHENTICATED : ALL_UNAUTHENTICATED}"`,
        };
      if (groups.includes(ALL_AUTHENTICATED) && pathIn(a.path, DISCOVERY))
        return {
          allowed: true,
          reason: `RBAC: allowed by ClusterRoleBinding "system:discovery" of ClusterRole "system:discovery" to Group "${ALL_AUTHENTICATED}"`,
        };
    }
    if (
      a.isResourceRequest &&
      a.verb === "create" &&
      BASIC_USER.some((r) => r.group === a.apiGroup && r.resource === a.resource) &&
      groups.includes(ALL_AUTHENTICATED)
    )
      return {
        allowed: true,
        reason: `RBAC: allowed by ClusterRoleBinding "system:basic-user" of ClusterRole "system:basic-user" to Group "${ALL_AUTHENTICATED}"`,
      };
    for (const p of rules) if (abacMatches(p, a)) return { allowed: true, reason: "" };
    return { allowed: false, reason: "No policy matched." };
  };
}

/** `responsewriters.forbiddenMessage` (+ `: reason`). */
export function forbiddenMessage(a: AuthzAttributes, reason: string): string {
  const who = `User "${a.user.name}"`;
  let msg: string;
  if (!a.isResourceRequest) msg = `${who} cannot ${a.verb} path "${a.path}"`;
  else {
    const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
    msg = a.namespace
      ? `${who} cannot ${a.verb} resource "${resource}" in API group "${a.apiGroup}" in the namespace "${a.namespace}"`
      : `${who} cannot ${a.verb} resource "${resource}" in API group "${a.apiGroup}" at the cluster scope`;
  }
  if (reason) msg += `: ${reason}`;
  return msg;
}

/** A `SubjectRulesReviewStatus` as kube's authoriser union reports it. */
export interface RulesReview {
  resourceRules: { verbs: string[]; apiGroups?: string[]; resources?: string[] }[];
  nonResourceRules: { verbs: string[]; nonResourceURLs?: string[] }[];
  incomplete: boolean;
}

/**
 * The rules behind {@link createAuthorizer}, for `SelfSubjectRulesReview` (`kubectl auth can-i
 * --list`): the union's `RulesFor` — `*` for `system:masters`, the default RBAC roles
 * (`system:basic-user`, `system:discovery`, `system:public-info-viewer`), then each ABAC policy
 * whose subject matches and whose namespace is `*` or the one asked about (kube's ABAC
 * `RulesFor`: read-only policies give get/list/watch, others `*`).
 */
export function createRulesResolver(
  rules: AbacSpec[],
): (user: UserAttributes, namespace: string) => RulesReview {
  return (user, namespace) => {
    const groups = user.groups ?? [];
    const out: RulesReview = { resourceRules: [], nonResourceRules: [], incomplete: false };
    if (groups.includes(MASTERS)) {
      out.resourceRules.push({ verbs: ["*"], apiGroups: ["*"], resources: ["*"] });
      out.nonResourceRules.push({ verbs: ["*"], nonResourceURLs: ["*"] });
    }
    if (groups.includes(ALL_AUTHENTICATED)) {
      for (const r of BASIC_USER)
        out.resourceRules.push({
          verbs: ["create"],
          apiGroups: [r.group],
          resources: [r.resource],
        });
      out.nonResourceRules.push({ verbs: ["get"], nonResourceURLs: [...DISCOVERY] });
    }
    out.nonResourceRules.push({ verbs: ["get"], nonResourceURLs: [...PUBLIC_INFO] });
    for (const p of rules) {
      if (!subjectMatches(p, user)) continue;
      if (p.namespace !== "*" && (p.namespace ?? "") !== namespace) continue;
      const verbs = p.readonly ? ["get", "list", "watch"] : ["*"];
      if (p.resource)
        out.resourceRules.push({ verbs, apiGroups: [p.apiGroup ?? ""], resources: [p.resource] });
      if (p.nonResourcePath)
        out.nonResourceRules.push({ verbs, nonResourceURLs: [p.nonResourcePath] });
    }
    return out;
  };
}

const SA_PREFIX = "system:serviceaccount:";

/**
 * kube's `serviceaccount.SplitUsername`: the namespace and name of a service-account username,
 * only when it is exactly `system:serviceaccount:<namespace>:<name>` with a DNS-1123 label as
 * namespace and a DNS-1123 subdomain as name; undefined otherwise (impersonation then treats the
 * name as a user, so `impersonate serviceaccounts` in namespace dev does not cover
 * `system:serviceaccount:dev` or `system:serviceaccount:dev:a:b`).
 */
export function splitServiceAccountUsername(
  username: string,
): { namespace: string; name: string } | undefined {
  if (!username.startsWith(SA_PREFIX)) return undefined;
  const parts = username.slice(SA_PREFIX.length).split(":");
  if (parts.length !== 2) return undefined;
  const [namespace, name] = parts as [string, string];
  if (nameErrors(namespace, "label").length > 0) return undefined;
  if (nameErrors(name, "subdomain").length > 0) return undefined;
  return { namespace, name };
}
