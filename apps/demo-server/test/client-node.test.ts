import type { Event } from "@kaudit/api";
import {
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  Watch,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, requests, type Stack, sleep, startStack } from "./helpers";

const last = (g: Event[]) => g[g.length - 1] as Event;

/** The same flow through @kubernetes/client-node, with the bundled GCE policy (the default). */
describe("@kubernetes/client-node against kaudit-demo (default GCE policy)", () => {
  let stack: Stack;
  let events: Event[] = [];
  const seen: string[] = [];

  beforeAll(async () => {
    stack = await startStack({ webhook: true });
    const kc = new KubeConfig();
    kc.loadFromFile(stack.server.files.kubeconfigFile);
    const core = kc.makeApiClient(CoreV1Api);
    const apps = kc.makeApiClient(AppsV1Api);

    const watch = new Watch(kc);
    const ctl = await watch.watch(
      "/api/v1/namespaces/default/configmaps",
      {},
      (type: string, obj: { metadata?: { name?: string } }) =>
        seen.push(`${type} ${obj.metadata?.name}`),
      () => {},
    );
    await core.createNamespacedConfigMap({
      namespace: "default",
      body: {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "settings" },
        data: { a: "1" },
      },
    });
    await core.createNamespacedSecret({
      namespace: "default",
      body: {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "creds" },
        stringData: { password: "hunter2" },
      },
    });
    await apps.createNamespacedDeployment({
      namespace: "default",
      body: {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "web" },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: "web" } },
          template: {
            metadata: { labels: { app: "web" } },
            spec: { containers: [{ name: "web", image: "nginx" }] },
          },
        },
      },
    });
    await core.patchNamespacedConfigMap(
      { name: "settings", namespace: "default", body: { data: { b: "2" } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    const list = await core.listNamespacedConfigMap({ namespace: "default" });
    expect(list.items.map((i) => i.metadata?.name)).toEqual(["settings"]);
    await core.deleteNamespacedConfigMap({ name: "settings", namespace: "default" });
    await eventually(() => seen.length >= 3);
    ctl.abort();
    await sleep(200);
    await stack.server.shutdown();
    events = stack.auditLog();
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it("the watch saw ADDED, MODIFIED, DELETED", () => {
    expect(seen).toEqual(["ADDED settings", "MODIFIED settings", "DELETED settings"]);
  });

  it("the GCE policy omits RequestReceived and logs writes at RequestResponse", () => {
    const [g] = requests(
      events,
      (e) => e.verb === "create" && e.objectRef?.resource === "deployments",
    );
    expect((g as Event[]).map((e) => e.stage)).toEqual(["ResponseComplete"]);
    const done = last(g as Event[]);
    expect(done.level).toBe("RequestResponse");
    expect(done.objectRef).toEqual({
      resource: "deployments",
      namespace: "default",
      name: "web",
      apiGroup: "apps",
      apiVersion: "v1",
    });
    expect(done.requestObject).toMatchObject({ kind: "Deployment", spec: { replicas: 2 } });
    expect(done.responseObject).toMatchObject({ kind: "Deployment", status: { readyReplicas: 2 } });
    expect(done.userAgent).toMatch(/node/i);
  });

  it("configmaps and secrets stay at Metadata: no bodies", () => {
    for (const resource of ["configmaps", "secrets"]) {
      const [g] = requests(
        events,
        (e) => e.verb === "create" && e.objectRef?.resource === resource,
      );
      const done = last(g as Event[]);
      expect(done.level).toBe("Metadata");
      expect(done.requestObject).toBeUndefined();
      expect(done.responseObject).toBeUndefined();
      expect(done.objectRef?.name).toBe(resource === "secrets" ? "creds" : "settings");
    }
    expect(JSON.stringify(events)).not.toContain("hunter2");
  });

  it("the watch: ResponseStarted then ResponseComplete (RequestReceived omitted by the policy)", () => {
    const [g] = requests(events, (e) => e.verb === "watch");
    expect((g as Event[]).map((e) => e.stage)).toEqual(["ResponseStarted", "ResponseComplete"]);
    expect((g as Event[])[0]?.level).toBe("Metadata");
  });

  it("the webhook received every event", async () => {
    await eventually(() => stack.webhookEvents().length >= events.length);
    const key = (e: Event) => `${e.auditID}/${e.stage}`;
    expect(stack.webhookEvents().map(key).sort()).toEqual(events.map(key).sort());
  });
});
