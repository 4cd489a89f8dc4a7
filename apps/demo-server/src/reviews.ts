import type { UserAttributes } from "@kaudit/api";
import type { AuthzAttributes, Decision, RulesReview } from "./auth";
import { StatusError } from "./status";

/** What the review endpoints ask of the server. */
export interface ReviewDeps {
  authorize: (a: AuthzAttributes) => Decision;
  rulesFor?: (user: UserAttributes, namespace: string) => RulesReview;
}

type Body = Record<string, unknown>;

function rec(v: unknown): Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : {};
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

/**
 * kube's review REST storage returns the object it was sent with `status` filled in; the
 * metadata keeps what came in (a zero `creationTimestamp` is written as null).
 */
function answer(body: Body, kind: string, apiVersion: string, status: Body): Body {
  const out: Body = {
    kind,
    apiVersion,
    metadata: { creationTimestamp: null, ...rec(body.metadata) },
  };
  if (body.spec !== undefined) out.spec = body.spec;
  out.status = status;
  return out;
}

/** `kubectl auth can-i`: the authoriser's answer for the requesting (impersonated) user. */
export function selfSubjectAccessReview(body: Body, user: UserAttributes, deps: ReviewDeps): Body {
  const spec = rec(body.spec);
  const ra = spec.resourceAttributes === undefined ? undefined : rec(spec.resourceAttributes);
  const nra =
    spec.nonResourceAttributes === undefined ? undefined : rec(spec.nonResourceAttributes);
  if ((ra && nra) || (!ra && !nra))
    throw new StatusError(
      422,
      "Invalid",
      `SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: ${ra ? '"{...}"' : '"null"'}: exactly one of nonResourceAttributes or resourceAttributes must be specified`,
      {
        group: "authorization.k8s.io",
        kind: "SelfSubjectAccessReview",
        causes: [
          {
            reason: "FieldValueInvalid",
            message: `Invalid value: ${ra ? '"{...}"' : '"null"'}: exactly one of nonResourceAttributes or resourceAttributes must be specified`,
            field: "spec.resourceAttributes",
          },
        ],
      },
    );
  const d = deps.authorize(
    ra
      ? {
          user,
          verb: str(ra.verb),
          isResourceRequest: true,
          path: "",
          apiGroup: str(ra.group),
          namespace: str(ra.namespace),
          resource: str(ra.resource),
          subresource: str(ra.subresource),
          name: str(ra.name),
        }
      : {
          user,
          verb: str(nra?.verb),
          isResourceRequest: false,
          path: str(nra?.path),
          apiGroup: "",
          namespace: "",
          resource: "",
          subresource: "",
          name: "",
        },
  );
  const status: Body = { allowed: d.allowed };
  if (d.reason) status.reason = d.reason;
  return answer(body, "SelfSubjectAccessReview", "authorization.k8s.io/v1", status);
}

/** `kubectl auth can-i --list`: the rules the authoriser grants the user in a namespace. */
export function selfSubjectRulesReview(body: Body, user: UserAttributes, deps: ReviewDeps): Body {
  const namespace = str(rec(body.spec).namespace);
  const rules = deps.rulesFor?.(user, namespace) ?? {
    resourceRules: [],
    nonResourceRules: [],
    incomplete: true,
  };
  const status: Body = {
    resourceRules: rules.resourceRules,
    nonResourceRules: rules.nonResourceRules,
    incomplete: rules.incomplete,
  };
  if (!deps.rulesFor) status.evaluationError = "the server has no rules resolver";
  return answer(body, "SelfSubjectRulesReview", "authorization.k8s.io/v1", status);
}

/** `kubectl auth whoami`: the user the request was authenticated (or impersonated) as. */
export function selfSubjectReview(body: Body, user: UserAttributes): Body {
  const userInfo: Body = {};
  if (user.name) userInfo.username = user.name;
  if (user.uid) userInfo.uid = user.uid;
  if (user.groups && user.groups.length > 0) userInfo.groups = user.groups;
  if (user.extra && Object.keys(user.extra).length > 0) userInfo.extra = user.extra;
  const out = answer(body, "SelfSubjectReview", "authentication.k8s.io/v1", { userInfo });
  delete out.spec;
  return out;
}

/**
 * Answers a create of one of the review kinds (they are not stored), or undefined for any other
 * kind.
 */
export function answerReview(
  kind: string,
  body: Body,
  user: UserAttributes,
  deps: ReviewDeps,
): Body | undefined {
  switch (kind) {
    case "SelfSubjectAccessReview":
      return selfSubjectAccessReview(body, user, deps);
    case "SelfSubjectRulesReview":
      return selfSubjectRulesReview(body, user, deps);
    case "SelfSubjectReview":
      return selfSubjectReview(body, user);
    default:
      return undefined;
  }
}
