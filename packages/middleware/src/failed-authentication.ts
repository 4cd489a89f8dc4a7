import type { IncomingMessage } from "node:http";
import type { PolicyEvaluator, RequestAttributes } from "@kaudit/api";
import type { AuditContext } from "./audit-context";
import { type Exchange, statusBody } from "./exchange";
import { firstHeader } from "./ip";

// k8s.io/apiserver's filters/authn_audit.go (WithFailedAuthenticationAudit): a request whose
// authentication failed gets one ResponseStarted event with the 401 and the methods it tried.

/** The message kube records: which authentication methods the request attempted. */
function authMethods(req: IncomingMessage): string {
  const methods: string[] = [];
  const auth = firstHeader(req, "authorization") ?? "";
  if (/^basic /i.test(auth)) {
    const decoded = Buffer.from(auth.slice(6), "base64").toString("latin1");
    if (decoded.includes(":") && /^[A-Za-z0-9+/]*={0,2}$/.test(auth.slice(6)))
      methods.push("basic");
  }
  const parts = auth.trim().split(" ");
  if (parts.length > 1 && (parts[0] as string).toLowerCase() === "bearer") methods.push("bearer");
  const url = req.url ?? "";
  const q = url.indexOf("?");
  if (q >= 0) {
    const token = new URLSearchParams(url.slice(q + 1)).get("access_token");
    if (token && token.trim().length > 0) methods.push("access_token");
  }
  const sock = req.socket as { getPeerCertificate?: () => { raw?: unknown } };
  if (typeof sock.getPeerCertificate === "function") {
    const cert = sock.getPeerCertificate();
    if (cert?.raw) methods.push("x509");
  }
  return methods.length > 0
    ? `Authentication failed, attempted: ${methods.join(", ")}`
    : "Authentication failed, no credentials provided";
}

/**
 * Answers 401 and, unless the policy says None, audits the request with a single ResponseStarted
 * event. `attributes` resolves the policy attributes (no user); when it throws, `internalError`
 * answers instead.
 */
export function failedAuthentication(
  ctx: AuditContext,
  ex: Exchange,
  policy: PolicyEvaluator,
  attributes: () => RequestAttributes,
  internalError: () => void,
): void {
  const req = ex.req;
  let attrs: RequestAttributes;
  try {
    attrs = attributes();
  } catch {
    internalError();
    return;
  }
  const decision = policy.evaluate(attrs);
  if (decision.level === "None") {
    ctx.disable();
  } else {
    const event = ctx.init(decision, attrs, undefined);
    ctx.dropRequestTap();
    event.responseStatus = { metadata: {}, message: authMethods(req) };
    ctx.failedAuth = true;
    ex.observe(ctx);
  }
  ex.respond(
    401,
    { "Content-Type": "application/json" },
    statusBody(401, "Unauthorized", "Unauthorized"),
  );
}
