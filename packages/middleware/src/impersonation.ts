import type { IncomingMessage } from "node:http";
import type { UserAttributes, UserInfo } from "@kaudit/api";
import type { AuditContext } from "./audit-context";
import { type Exchange, statusBody } from "./exchange";
import { allHeaderValues, firstHeader } from "./ip";
import { setOwn } from "./request-event";
import { bytesStringToUtf8, pathUnescape } from "./text";
import { isThenable } from "./thenable";

// Impersonation, as k8s.io/apiserver's filters/impersonation.go reads and refuses it; the
// decision itself is the application's (`authorizeImpersonation`).

/** Decides whether `user` may impersonate `requested` (the `authorizeImpersonation` option). */
export type AuthorizeImpersonation = (
  req: IncomingMessage,
  requested: UserInfo,
  user: UserAttributes | undefined,
) => boolean | Promise<boolean>;

const EXTRA_PREFIX = "impersonate-extra-";
const AUTHN_V1 = "authentication.k8s.io/v1";

/** What the Impersonate-* headers ask for: a user, nothing, or kube's error for a request without a user. */
export type ImpersonationRequest =
  | { user: UserInfo; error?: undefined }
  | { user?: undefined; error: string };

/** Go's `%v` of a v1.ObjectReference (its seven string fields, space-separated, in braces). */
function objectReference(kind: string, name: string, apiVersion = "", fieldPath = ""): string {
  return `{${[kind, "", name, "", apiVersion, "", fieldPath].join(" ")}}`;
}

/**
 * kube's buildImpersonationRequests over the Impersonate-* headers (values are Node's latin1
 * strings; the result holds what Go would write for those bytes). An empty `Impersonate-User` or
 * `Impersonate-Uid` counts as absent; groups, extras or a uid without a user are kube's error
 * (`requested [...] without impersonating a user`). Extra keys are lower-cased and
 * percent-decoded (kept as sent when malformed), and kept as own keys whatever their name
 * (`__proto__` included). Undefined when the request asks for nothing.
 */
export function requestedImpersonation(req: IncomingMessage): ImpersonationRequest | undefined {
  const name = firstHeader(req, "impersonate-user");
  const groups = allHeaderValues(req, "impersonate-group");
  const uid = firstHeader(req, "impersonate-uid");
  const refs: string[] = [];
  let extra: Record<string, string[]> | undefined;
  for (const header of Object.keys(req.headers)) {
    if (!header.startsWith(EXTRA_PREFIX)) continue;
    extra ??= {};
    const raw = header.slice(EXTRA_PREFIX.length);
    const key = pathUnescape(raw) ?? raw;
    const values = (allHeaderValues(req, header) ?? []).map(bytesStringToUtf8);
    setOwn(extra, key, values);
    for (const v of values) refs.push(objectReference("UserExtra", v, AUTHN_V1, key));
  }
  const hasUser = name !== undefined && name !== "";
  const hasUID = uid !== undefined && uid !== "";
  const hasGroups = groups !== undefined && groups.length > 0;
  if (!hasUser && !hasGroups && !hasUID && extra === undefined) return undefined;
  const user: UserInfo = {};
  if (hasUser) user.username = bytesStringToUtf8(name);
  if (hasUID) user.uid = bytesStringToUtf8(uid);
  if (hasGroups) user.groups = groups.map(bytesStringToUtf8);
  if (extra) user.extra = extra;
  if (!hasUser) {
    const all = [
      ...(user.groups ?? []).map((g) => objectReference("Group", g)),
      ...refs,
      ...(hasUID ? [objectReference("UID", user.uid as string, AUTHN_V1)] : []),
    ];
    return { error: `requested [${all.join(" ")}] without impersonating a user` };
  }
  return { user };
}

/** kube's 403 for an impersonation the user may not do. */
function forbidden(ex: Exchange, requested: UserInfo, user: UserAttributes | undefined): void {
  const who = user?.name ?? "system:anonymous";
  const kind = requested.username !== undefined ? "users" : "groups";
  const target = requested.username ?? requested.groups?.[0] ?? "";
  ex.respond(
    403,
    { "Content-Type": "application/json" },
    statusBody(
      403,
      "Forbidden",
      `${kind} "${target}" is forbidden: User "${who}" cannot impersonate resource "${kind}" in API group "" at the cluster scope`,
    ),
  );
}

/**
 * WithImpersonation: a request asking to impersonate is authorised first — refused with 403, or
 * recorded as `impersonatedUser` and passed on to `next`. `failed` handles a throwing hook;
 * headers kube cannot make a user of get its 500 through `internalError`.
 */
export function impersonate(
  ctx: AuditContext,
  ex: Exchange,
  user: UserAttributes | undefined,
  authorize: AuthorizeImpersonation,
  next: () => unknown,
  failed: (err: unknown) => never,
  internalError: (what: string) => void,
): unknown {
  const request = requestedImpersonation(ex.req);
  if (!request) return next();
  if (request.error !== undefined) {
    internalError(request.error);
    return undefined;
  }
  const requested = request.user;
  const t0 = performance.now();
  let allowed: boolean | Promise<boolean>;
  try {
    allowed = authorize(ex.req, requested, user);
  } catch (err) {
    return failed(err);
  }
  const after = (yes: boolean): unknown => {
    ctx.addLatency("impersonation", performance.now() - t0);
    if (!yes) {
      forbidden(ex, requested, user);
      return undefined;
    }
    ctx.setImpersonatedUser(requested);
    return next();
  };
  if (isThenable<boolean>(allowed)) return Promise.resolve(allowed).then(after, failed);
  return after(allowed);
}
