// Also checks the events apps/demo-server/README.md shows ("What the audit log says").
import { join } from "node:path";
import type { Event } from "@kaudit/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  eventually,
  FIXTURES,
  kubectlBackground,
  requests,
  type Stack,
  sleep,
  startStack,
} from "./helpers";

const ADMIN = {
  username: "admin",
  uid: "uid-admin",
  groups: ["system:masters", "system:authenticated"],
};

const stages = (g: Event[]) => g.map((e) => e.stage);
const last = (g: Event[]) => g[g.length - 1] as Event;

describe("kubectl against kaudit-demo (test policy, log + webhook)", () => {
  let stack: Stack;
  let events: Event[] = [];
  let webhook: Event[] = [];
  const out: Record<string, string> = {};

  beforeAll(async () => {
    stack = await startStack({
      webhook: true,
      flags: { "audit-policy-file": join(FIXTURES, "test-policy.yaml") },
    });
    const k = stack.kubectl;
    const run = async (name: string, args: string[], o?: { token?: string }) => {
      const r = await k(args, o);
      out[name] = r.stdout + r.stderr;
      return r;
    };
    expect((await run("create", ["create", "-f", join(FIXTURES, "objects.yaml")])).code).toBe(0);
    expect((await run("get", ["get", "pods"])).code).toBe(0);
    expect((await run("yaml", ["get", "pod", "web", "-o", "yaml"])).code).toBe(0);
    const watch = kubectlBackground(stack, ["get", "pods", "-w"]);
    await sleep(1200);
    expect((await run("label", ["label", "pod", "web", "tier=frontend"])).code).toBe(0);
    await sleep(800);
    out.watch = await watch.stop();
    await run("as", ["--as=jane", "get", "pods"]);
    expect(
      (
        await run("asMaster", [
          "--as=jane",
          "--as-group=system:masters",
          "get",
          "configmap",
          "demo",
        ])
      ).code,
    ).toBe(0);
    await run("devImpersonate", ["--as=jane", "get", "pods"], { token: stack.developerToken });
    await run("devDelete", ["delete", "configmap", "demo"], { token: stack.developerToken });
    expect((await run("delete", ["delete", "pod", "web"])).code).toBe(0);
    // the watch ended when kubectl was stopped; give the closing events a moment
    await sleep(200);
    await stack.server.shutdown();
    events = stack.auditLog();
    webhook = stack.webhookEvents();
  }, 80_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it("kubectl printed what kube-apiserver would make it print", () => {
    expect(out.create).toContain("configmap/demo created");
    expect(out.create).toContain("pod/web created");
    expect(out.get).toMatch(
      /NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\nweb\s+1\/1\s+Running\s+0\s+\d+s/,
    );
    expect(out.yaml).toMatch(/^apiVersion: v1\nkind: Pod\n/);
    expect(out.yaml).toContain("  name: web\n");
    expect(out.label).toContain("pod/web labeled");
    expect(out.watch).toMatch(/^NAME\s+READY\s+STATUS/);
    // the initial row and the row after the label change
    expect(out.watch.match(/^web\s+1\/1\s+Running/gm)?.length).toBeGreaterThanOrEqual(2);
    expect(out.as).toContain(
      'Error from server (Forbidden): pods is forbidden: User "jane" cannot list resource "pods" in API group "" in the namespace "default": No policy matched.',
    );
    expect(out.devImpersonate).toContain(
      'users "jane" is forbidden: User "developer" cannot impersonate resource "users" in API group "" at the cluster scope: No policy matched.',
    );
    expect(out.devDelete).toContain(
      'configmaps "demo" is forbidden: User "developer" cannot delete resource "configmaps" in API group "" in the namespace "default": No policy matched.',
    );
    expect(out.delete).toContain('pod "web" deleted');
  });

  it("create -f: RequestReceived + ResponseComplete, objectRef with name, bodies at RequestResponse", () => {
    const [cm] = requests(
      events,
      (e) => e.verb === "create" && e.objectRef?.resource === "configmaps",
    );
    expect(cm).toBeDefined();
    const g = cm as Event[];
    expect(stages(g)).toEqual(["RequestReceived", "ResponseComplete"]);
    const done = last(g);
    expect(done.level).toBe("RequestResponse");
    expect(done.user).toEqual(ADMIN);
    expect(done.objectRef).toMatchObject({
      resource: "configmaps",
      namespace: "default",
      name: "demo",
      apiVersion: "v1",
    });
    expect(done.responseStatus).toEqual({ metadata: {}, code: 201 });
    expect(done.requestObject).toMatchObject({ kind: "ConfigMap", data: { greeting: "hello" } });
    expect(done.responseObject).toMatchObject({
      kind: "ConfigMap",
      metadata: { name: "demo", namespace: "default" },
    });
    expect((done.responseObject as { metadata: { uid?: string } }).metadata.uid).toMatch(
      /^[0-9a-f-]{36}$/,
    );
    expect(done.annotations).toEqual({
      "authorization.k8s.io/decision": "allow",
      "authorization.k8s.io/reason": "",
    });
    expect(g[0]?.stageTimestamp).toBe(g[0]?.requestReceivedTimestamp);
    expect(done.requestURI).toMatch(
      /^\/api\/v1\/namespaces\/default\/configmaps\?fieldManager=kubectl-create/,
    );
  });

  it("get / get -o yaml: Request level, no bodies", () => {
    const lists = requests(
      events,
      (e) => e.verb === "list" && e.objectRef?.resource === "pods" && !e.impersonatedUser,
    );
    expect(lists.length).toBeGreaterThanOrEqual(1);
    const l = last(lists[0] as Event[]);
    expect(l.level).toBe("Request");
    expect(l.responseObject).toBeUndefined();
    expect(l.responseStatus?.code).toBe(200);
    const [get] = requests(events, (e) => e.verb === "get" && e.objectRef?.name === "web");
    expect(stages(get as Event[])).toEqual(["RequestReceived", "ResponseComplete"]);
    expect(last(get as Event[]).objectRef).toEqual({
      resource: "pods",
      namespace: "default",
      name: "web",
      apiVersion: "v1",
    });
  });

  it("label: a patch with the merge patch as requestObject and the labelled pod as responseObject", () => {
    const [p] = requests(events, (e) => e.verb === "patch" && e.objectRef?.name === "web");
    const done = last(p as Event[]);
    expect(stages(p as Event[])).toEqual(["RequestReceived", "ResponseComplete"]);
    expect(done.requestObject).toEqual({ metadata: { labels: { tier: "frontend" } } });
    expect(done.responseObject).toMatchObject({
      metadata: { labels: { app: "web", tier: "frontend" } },
    });
    expect(done.responseStatus?.code).toBe(200);
  });

  it("get -w: a long-running watch with RequestReceived, ResponseStarted, ResponseComplete", () => {
    const watches = requests(events, (e) => e.verb === "watch" && e.objectRef?.resource === "pods");
    expect(watches.length).toBeGreaterThanOrEqual(1);
    const w = watches[0] as Event[];
    expect(stages(w)).toEqual(["RequestReceived", "ResponseStarted", "ResponseComplete"]);
    expect(w[1]?.responseStatus).toEqual({ metadata: {}, code: 200 });
    expect(last(w).responseObject).toBeUndefined();
    expect(last(w).requestURI).toMatch(/watch=true/);
  });

  it("--as: impersonatedUser on every stage after RequestReceived, 403 with the forbid annotation", () => {
    const [as] = requests(
      events,
      (e) => e.impersonatedUser?.username === "jane" && e.verb === "list",
    );
    const g = as as Event[];
    expect(g[0]?.impersonatedUser).toBeUndefined();
    const done = last(g);
    expect(done.user).toEqual(ADMIN);
    expect(done.impersonatedUser).toEqual({ username: "jane", groups: ["system:authenticated"] });
    expect(done.responseStatus).toMatchObject({
      status: "Failure",
      reason: "Forbidden",
      code: 403,
    });
    expect(done.annotations).toEqual({
      "authorization.k8s.io/decision": "forbid",
      "authorization.k8s.io/reason": "No policy matched.",
    });
    const [ok] = requests(
      events,
      (e) => e.impersonatedUser?.groups?.includes("system:masters") === true,
    );
    expect(last(ok as Event[]).impersonatedUser).toEqual({
      username: "jane",
      groups: ["system:masters", "system:authenticated"],
    });
    expect(last(ok as Event[]).responseStatus?.code).toBe(200);
  });

  it("a user who may not impersonate gets 403 without authorization annotations", () => {
    const [g] = requests(events, (e) => e.user.username === "developer" && e.verb === "list");
    const done = last(g as Event[]);
    expect(done.responseStatus?.code).toBe(403);
    expect(done.impersonatedUser).toBeUndefined();
    expect(done.annotations?.["authorization.k8s.io/decision"]).toBeUndefined();
  });

  it("forbidden verb: ABAC read-only user deleting gets 403 Forbidden, audited", () => {
    const [g] = requests(events, (e) => e.user.username === "developer" && e.verb === "delete");
    const done = last(g as Event[]);
    expect(done.objectRef).toMatchObject({ resource: "configmaps", name: "demo" });
    expect(done.responseStatus).toMatchObject({ reason: "Forbidden", code: 403 });
    expect(done.annotations?.["authorization.k8s.io/decision"]).toBe("forbid");
  });

  it("delete: the deleted pod as responseObject", () => {
    const [g] = requests(events, (e) => e.verb === "delete" && e.objectRef?.name === "web");
    const done = last(g as Event[]);
    expect(done.responseStatus?.code).toBe(200);
    expect(done.responseObject).toMatchObject({ kind: "Pod", metadata: { name: "web" } });
    expect(done.requestObject).toEqual({
      kind: "DeleteOptions",
      apiVersion: "v1",
      propagationPolicy: "Background",
    });
  });

  it("discovery and openapi requests are dropped by the policy (level None)", () => {
    expect(
      events.some((e) => e.requestURI.startsWith("/openapi") || e.requestURI.startsWith("/api?")),
    ).toBe(false);
  });

  it("the webhook receiver got exactly the events of the log", async () => {
    await eventually(() => webhook.length >= events.length);
    const key = (e: Event) => `${e.auditID}/${e.stage}`;
    expect(webhook.map(key).sort()).toEqual(events.map(key).sort());
    const byKey = new Map(webhook.map((e) => [key(e), e]));
    // EventList items carry no kind/apiVersion (as in kube); the receiver writes each event as
    // a whole v1 line, so its file and the log hold the same lines
    for (const e of events) expect(byKey.get(key(e))).toEqual(e);
  });
});
