import type { IncomingMessage } from "node:http";
import type { UserAttributes, UserInfo } from "@kaudit/api";
import type { AuditContext } from "./audit-context";
import { type Exchange, statusBody } from "./exchange";
import { allHeaderValues, firstHeader } from "./ip";
import { isThenable } from "./thenable";

// Impersonation, as k8s.io/apiserver's filters/impersonation.go reads and refuses it; the
// decision itself is the application's (`authorizeImpersonation`).

/** Decides whether `user` may impersonate `requested` (the `authorizeImpersonation` option). */
export type AuthorizeImpersonation = (
  req: IncomingMessage,
  requested: UserInfo,
  user: UserAttributes | undefined,
) => boolean | Promise<boolean>;

/** The Impersonate-* headers of a request as a UserInfo, or undefined when none asks for it. */
export function requestedImpersonation(req: IncomingMessage): UserInfo | undefined {
  const name = firstHeader(req, "impersonate-user");
  const groups = allHeaderValues(req, "impersonate-group");
  const uid = firstHeader(req, "impersonate-uid");
  let extra: Record<string, string[]> | undefined;
  for (const key of Object.keys(req.headers)) {
    if (key.startsWith("impersonate-extra-")) {
      extra ??= {};
      let k = key.slice("impersonate-extra-".length);
      try {
        k = decodeURIComponent(k);
      } catch {
        /* keep as sent */
      }
      extra[k] = allHeaderValues(req, key) ?? [];
    }
  }
  if (name === undefined && groups === undefined && uid === undefined && extra === undefined)
    return undefined;
  const out: UserInfo = {};
  if (name !== undefined) out.username = name;
  if (uid !== undefined) out.uid = uid;
  if (groups && groups.length > 0) out.groups = groups;
  if (extra) out.extra = extra;
  return out;
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
 * recorded as `impersonatedUser` and passed on to `next`. `failed` handles a throwing hook.
 */
export function impersonate(
  ctx: AuditContext,
  ex: Exchange,
  user: UserAttributes | undefined,
  authorize: AuthorizeImpersonation,
  next: () => unknown,
  failed: (err: unknown) => never,
): unknown {
  const requested = requestedImpersonation(ex.req);
  if (!requested) return next();
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
