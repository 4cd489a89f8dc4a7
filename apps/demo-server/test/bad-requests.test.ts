import { join } from "node:path";
import type { Event } from "@kaudit/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, FIXTURES, requests, type Stack, startStack } from "./helpers";

/** Bad requests get kube's Status errors, and every one of them is audited. */
describe("bad requests", () => {
  let stack: Stack;
  let events: Event[] = [];
  const results: Record<
    string,
    { status: number; body: Record<string, unknown>; auditID: string }
  > = {};

  const cases: {
    name: string;
    method: string;
    path: string;
    token?: "admin" | "developer" | "wrong" | "none";
    body?: string | Buffer;
    contentType?: string;
    status: number;
    reason: string;
    message: string | RegExp;
  }[] = [
    {
      name: "malformed JSON",
      method: "POST",
      path: "/api/v1/namespaces/default/configmaps",
      body: '{"apiVersion":"v1","kind":"ConfigMap",',
      status: 400,
      reason: "BadRequest",
      message:
        /^the object provided is unrecognized \(must be of type ConfigMap\): couldn't get version\/kind; json parse error: /,
    },
    {
      name: "unknown kind (no such resource)",
      method: "POST",
      path: "/api/v1/namespaces/default/widgets",
      body: '{"apiVersion":"v1","kind":"Widget","metadata":{"name":"w"}}',
      status: 404,
      reason: "NotFound",
      message: "the server could not find the requested resource",
    },
    {
      name: "kind not matching the resource",
      method: "POST",
      path: "/api/v1/namespaces/default/configmaps",
      body: '{"apiVersion":"v1","kind":"Widget","metadata":{"name":"w"}}',
      status: 400,
      reason: "BadRequest",
      message: /^Widget in version "v1" cannot be handled as a ConfigMap/,
    },
    {
      name: "invalid name",
      method: "POST",
      path: "/api/v1/namespaces/default/configmaps",
      body: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"Bad_Name"}}',
      status: 422,
      reason: "Invalid",
      message:
        /^ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/,
    },
    {
      name: "already exists",
      method: "POST",
      path: "/api/v1/namespaces/default/configmaps",
      body: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"taken"}}',
      status: 409,
      reason: "AlreadyExists",
      message: 'configmaps "taken" already exists',
    },
    {
      name: "stale resourceVersion",
      method: "PUT",
      path: "/api/v1/namespaces/default/configmaps/taken",
      body: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"taken","resourceVersion":"1"}}',
      status: 409,
      reason: "Conflict",
      message:
        'Operation cannot be fulfilled on configmaps "taken": the object has been modified; please apply your changes to the latest version and try again',
    },
    {
      name: "not found",
      method: "GET",
      path: "/apis/apps/v1/namespaces/default/deployments/nope",
      status: 404,
      reason: "NotFound",
      message: 'deployments.apps "nope" not found',
    },
    {
      name: "wrong token",
      method: "GET",
      path: "/api/v1/namespaces/default/pods",
      token: "wrong",
      status: 401,
      reason: "Unauthorized",
      message: "Unauthorized",
    },
    {
      name: "forbidden verb",
      method: "DELETE",
      path: "/api/v1/namespaces/default/configmaps/taken",
      token: "developer",
      status: 403,
      reason: "Forbidden",
      message:
        'configmaps "taken" is forbidden: User "developer" cannot delete resource "configmaps" in API group "" in the namespace "default": No policy matched.',
    },
    {
      name: "anonymous listing pods",
      method: "GET",
      path: "/api/v1/pods",
      token: "none",
      status: 403,
      reason: "Forbidden",
      message:
        'pods is forbidden: User "system:anonymous" cannot list resource "pods" in API group "" at the cluster scope: No policy matched.',
    },
    {
      name: "huge body",
      method: "POST",
      path: "/api/v1/namespaces/default/configmaps",
      body: Buffer.alloc(4 * 1024 * 1024, "a"),
      status: 413,
      reason: "RequestEntityTooLarge",
      message: "Request entity too large: limit is 3145728",
    },
    {
      name: "create without a namespace",
      method: "POST",
      path: "/api/v1/configmaps",
      body: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}',
      status: 405,
      reason: "MethodNotAllowed",
      message: "the server does not allow this method on the requested resource",
    },
    {
      name: "unsupported patch type",
      method: "PATCH",
      path: "/api/v1/namespaces/default/configmaps/taken",
      body: "{}",
      contentType: "text/plain",
      status: 415,
      reason: "UnsupportedMediaType",
      message: /^the body of the request was in an unknown format/,
    },
  ];

  beforeAll(async () => {
    stack = await startStack({
      flags: { "audit-policy-file": join(FIXTURES, "test-policy.yaml") },
    });
    const seed = await call(stack.server, "POST", "/api/v1/namespaces/default/configmaps", {
      token: stack.adminToken,
      body: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"taken"}}',
    });
    expect(seed.status).toBe(201);
    for (const c of cases) {
      const token =
        c.token === "none"
          ? undefined
          : c.token === "wrong"
            ? "not-a-token"
            : c.token === "developer"
              ? stack.developerToken
              : stack.adminToken;
      const r = await call(stack.server, c.method, c.path, {
        token,
        body: c.body,
        contentType: c.contentType,
      });
      results[c.name] = {
        status: r.status,
        body: JSON.parse(r.body),
        auditID: String(r.headers["audit-id"]),
      };
    }
    await stack.server.shutdown();
    events = stack.auditLog();
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it.each(cases)("$name → $status $reason, as a metav1.Status", (c) => {
    const r = results[c.name];
    expect(r?.status).toBe(c.status);
    expect(r?.body).toMatchObject({
      kind: "Status",
      apiVersion: "v1",
      status: "Failure",
      reason: c.reason,
      code: c.status,
    });
    if (typeof c.message === "string") expect(r?.body.message).toBe(c.message);
    else expect(r?.body.message).toMatch(c.message);
  });

  it.each(cases)("$name is audited with the same status", (c) => {
    const r = results[c.name];
    const [g] = requests(events, (e) => e.auditID === r?.auditID);
    expect(g, `no audit events for ${c.name}`).toBeDefined();
    const done = (g as Event[])[(g as Event[]).length - 1] as Event;
    expect(done.responseStatus?.code).toBe(c.status);
    if (c.status === 401) {
      // WithFailedAuthenticationAudit: one ResponseStarted event, no user
      expect((g as Event[]).map((e) => e.stage)).toEqual(["ResponseStarted"]);
      expect(done.user).toEqual({});
    } else {
      expect((g as Event[]).map((e) => e.stage)).toEqual(["RequestReceived", "ResponseComplete"]);
      expect(done.responseStatus).toMatchObject({ status: "Failure", reason: c.reason });
    }
  });

  it("the forbidden request carries the authorization annotations", () => {
    const [g] = requests(events, (e) => e.auditID === results["forbidden verb"]?.auditID);
    const done = (g as Event[])[(g as Event[]).length - 1] as Event;
    expect(done.annotations).toEqual({
      "authorization.k8s.io/decision": "forbid",
      "authorization.k8s.io/reason": "No policy matched.",
    });
    expect(done.user.username).toBe("developer");
  });
});
