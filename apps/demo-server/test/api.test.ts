import { join } from "node:path";
import type { Event } from "@kaudit/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  call,
  eventually,
  FIXTURES,
  kubectlBackground,
  requests,
  type Stack,
  startStack,
} from "./helpers";

const last = (g: Event[]) => g[g.length - 1] as Event;

/** The API surface kubectl and clients rely on, checked over real HTTPS. */
describe("API surface", () => {
  let stack: Stack;
  const admin = () => ({ token: stack.adminToken });
  const json = async (method: string, path: string, body?: unknown, contentType?: string) => {
    const r = await call(stack.server, method, path, {
      ...admin(),
      ...(body !== undefined ? { body: JSON.stringify(body), contentType } : {}),
      headers: { Accept: "application/json" },
    });
    return {
      status: r.status,
      body: JSON.parse(r.body) as Record<string, unknown>,
      headers: r.headers,
    };
  };

  beforeAll(async () => {
    stack = await startStack({
      flags: { "audit-policy-file": join(FIXTURES, "test-policy.yaml") },
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("discovery: kubectl api-resources lists the served kinds", async () => {
    const r = await stack.kubectl(["api-resources", "--no-headers"]);
    expect(r.code).toBe(0);
    const names = r.stdout
      .trim()
      .split("\n")
      .map((l) => l.split(/\s+/)[0])
      .sort();
    expect(names).toEqual([
      "configmaps",
      "deployments",
      "events",
      "namespaces",
      "pods",
      "replicasets",
      "secrets",
      "selfsubjectaccessreviews",
      "selfsubjectreviews",
      "selfsubjectrulesreviews",
      "serviceaccounts",
      "services",
    ]);
    expect(r.stdout).toMatch(/^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m);
  });

  it("/version, /healthz, anonymous /livez, and /api for anonymous is 403", async () => {
    expect((await json("GET", "/version")).body).toMatchObject({ major: "1", minor: "32" });
    expect((await call(stack.server, "GET", "/healthz", admin())).body).toBe("ok");
    expect((await call(stack.server, "GET", "/livez")).status).toBe(200);
    const anon = await call(stack.server, "GET", "/api");
    expect(anon.status).toBe(403);
    expect(JSON.parse(anon.body).message).toBe(
      'forbidden: User "system:anonymous" cannot get path "/api": No policy matched.',
    );
  });

  it("generateName, dryRun and Table output", async () => {
    const dry = await json("POST", "/api/v1/namespaces/default/configmaps?dryRun=All", {
      metadata: { name: "dry" },
    });
    expect(dry.status).toBe(201);
    expect((await json("GET", "/api/v1/namespaces/default/configmaps/dry")).status).toBe(404);
    const gen = await json("POST", "/api/v1/namespaces/default/configmaps", {
      metadata: { generateName: "cfg-", labels: { app: "x" } },
      data: { a: "1", b: "2" },
    });
    const name = (gen.body.metadata as { name: string }).name;
    expect(name).toMatch(/^cfg-[a-z0-9]{5}$/);
    const t = await call(stack.server, "GET", "/api/v1/namespaces/default/configmaps?limit=500", {
      ...admin(),
      headers: { Accept: "application/json;as=Table;v=v1;g=meta.k8s.io,application/json" },
    });
    const table = JSON.parse(t.body);
    expect(t.headers["content-type"]).toBe("application/json;as=Table;v=v1;g=meta.k8s.io");
    expect(table.kind).toBe("Table");
    expect(table.columnDefinitions.map((c: { name: string }) => c.name)).toEqual([
      "Name",
      "Data",
      "Age",
    ]);
    expect(table.rows[0].cells.slice(0, 2)).toEqual([name, 2]);
    expect(table.rows[0].object.kind).toBe("PartialObjectMetadata");
  });

  it("status subresource: only status changes; deletecollection honours the label selector", async () => {
    await json("POST", "/apis/apps/v1/namespaces/default/deployments", {
      metadata: { name: "d", labels: { tier: "a" } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "d" } },
        template: {
          metadata: { labels: { app: "d" } },
          spec: { containers: [{ name: "c", image: "i" }] },
        },
      },
    });
    const patched = await json(
      "PATCH",
      "/apis/apps/v1/namespaces/default/deployments/d/status",
      { spec: { replicas: 9 }, status: { readyReplicas: 0 } },
      "application/merge-patch+json",
    );
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ spec: { replicas: 1 }, status: { readyReplicas: 0 } });
    await json("POST", "/apis/apps/v1/namespaces/default/deployments", {
      metadata: { name: "e", labels: { tier: "b" } },
      spec: {
        selector: { matchLabels: { app: "e" } },
        template: {
          metadata: { labels: { app: "e" } },
          spec: { containers: [{ name: "c", image: "i" }] },
        },
      },
    });
    const dc = await json(
      "DELETE",
      "/apis/apps/v1/namespaces/default/deployments?labelSelector=tier%3Da",
    );
    expect((dc.body.items as { metadata: { name: string } }[]).map((i) => i.metadata.name)).toEqual(
      ["d"],
    );
    const left = await json("GET", "/apis/apps/v1/namespaces/default/deployments");
    expect(
      (left.body.items as { metadata: { name: string } }[]).map((i) => i.metadata.name),
    ).toEqual(["e"]);
    expect((await json("DELETE", "/api/v1/namespaces")).status).toBe(405);
  });

  it("watch replays from a resourceVersion; the /watch/ path form works", async () => {
    const a = await json("POST", "/api/v1/namespaces/default/configmaps", {
      metadata: { name: "w1" },
    });
    const rv = (a.body.metadata as { resourceVersion: string }).resourceVersion;
    await json(
      "PATCH",
      "/api/v1/namespaces/default/configmaps/w1",
      { data: { x: "1" } },
      "application/merge-patch+json",
    );
    await json("DELETE", "/api/v1/namespaces/default/configmaps/w1");
    const r = await call(
      stack.server,
      "GET",
      `/api/v1/watch/namespaces/default/configmaps?resourceVersion=${rv}&timeoutSeconds=1`,
      admin(),
    );
    const lines = r.body
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string; object: { metadata: { name: string } } });
    expect(lines.map((l) => `${l.type} ${l.object.metadata.name}`)).toEqual([
      "MODIFIED w1",
      "DELETED w1",
    ]);
  });

  it("kubectl logs -f is a long-running request (ResponseStarted) and streams lines", async () => {
    await stack.kubectl(["run", "p", "--image=busybox"]);
    const logs = kubectlBackground(stack, ["logs", "-f", "p"]);
    // until four lines have come (on a busy machine kubectl itself may take a while to start)
    await eventually(
      () => (logs.output().match(/line \d+: hello from the kaudit demo/g)?.length ?? 0) >= 4,
      15_000,
    );
    const out = await logs.stop();
    expect(out.match(/line \d+: hello from the kaudit demo/g)?.length).toBeGreaterThanOrEqual(4);
    // the log may be written asynchronously: wait for the request's last stage
    const [g] = (await eventually(() => {
      const found = requests(stack.auditLog(), (e) => e.objectRef?.subresource === "log");
      return found[0]?.some((e) => e.stage === "ResponseComplete") ? found : undefined;
    })) ?? [undefined];
    expect((g as Event[]).map((e) => e.stage)).toEqual([
      "RequestReceived",
      "ResponseStarted",
      "ResponseComplete",
    ]);
    expect(last(g as Event[]).objectRef).toMatchObject({
      resource: "pods",
      name: "p",
      subresource: "log",
    });
  });

  it("kubectl scale goes through deployments/scale (autoscaling/v1 Scale)", async () => {
    // created as JSON here; kubectl-typed.test.ts creates deployments the kubectl way (protobuf)
    const created = await json("POST", "/apis/apps/v1/namespaces/default/deployments", {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "s", labels: { app: "s" } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "s" } },
        template: {
          metadata: { labels: { app: "s" } },
          spec: { containers: [{ name: "nginx", image: "nginx" }] },
        },
      },
    });
    expect(created.status).toBe(201);
    const r = await stack.kubectl(["scale", "deployment", "s", "--replicas=4"]);
    expect(r.stdout).toContain("deployment.apps/s scaled");
    const scale = await json("GET", "/apis/apps/v1/namespaces/default/deployments/s/scale");
    expect(scale.body).toMatchObject({
      kind: "Scale",
      spec: { replicas: 4 },
      status: { replicas: 4, selector: "app=s" },
    });
    const bad = await json(
      "PATCH",
      "/apis/apps/v1/namespaces/default/deployments/s/scale",
      { spec: { replicas: -1 } },
      "application/merge-patch+json",
    );
    expect(bad.status).toBe(422);
    const [g] = (await eventually(() => {
      const found = requests(
        stack.auditLog(),
        (e) =>
          e.objectRef?.subresource === "scale" &&
          e.verb === "patch" &&
          e.stage === "ResponseComplete",
      );
      return found.length > 0 ? found : undefined;
    })) ?? [undefined];
    expect(last(g as Event[]).requestObject).toEqual({ spec: { replicas: 4 } });
    expect(last(g as Event[]).responseObject).toMatchObject({
      kind: "Scale",
      spec: { replicas: 4 },
    });
  });

  it("/metrics exposes request counts and the audit counters", async () => {
    const r = await call(stack.server, "GET", "/metrics", admin());
    expect(r.status).toBe(200);
    expect(r.body).toMatch(
      /^apiserver_request_total\{verb="CREATE",resource="configmaps",code="201"\} \d+$/m,
    );
    expect(r.body).toMatch(/^apiserver_audit_event_total \d+$/m);
  });
});

describe("pod events", () => {
  it("a new pod gets the scheduler's and kubelet's events; kubectl describe shows them in order", async () => {
    const stack = await startStack();
    try {
      await stack.kubectl(["run", "web", "--image=nginx:1.27"]);
      const d = await stack.kubectl(["describe", "pod", "web"]);
      const reasons = [...d.stdout.matchAll(/^\s+Normal\s+(\w+)\s/gm)].map((m) => m[1]);
      expect(reasons).toEqual(["Scheduled", "Pulled", "Created", "Started"]);
      const ev = await stack.kubectl([
        "get",
        "events",
        "--field-selector=reason=Started",
        "--no-headers",
      ]);
      expect(ev.stdout).toMatch(/Normal\s+Started\s+pod\/web\s+Started container web/);
      await stack.server.shutdown();
      // the GCE policy drops events (level None)
      expect(stack.auditLog().some((e) => e.objectRef?.resource === "events")).toBe(false);
      expect(stack.auditLog().some((e) => e.objectRef?.resource === "pods")).toBe(true);
    } finally {
      await stack.stop();
    }
  });
});
