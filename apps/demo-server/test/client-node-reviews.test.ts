import type { Event } from "@kaudit/api";
import {
  AppsV1Api,
  AuthenticationV1Api,
  AuthorizationV1Api,
  CoreV1Api,
  KubeConfig,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requests, type Stack, startStack } from "./helpers";

const last = (g: Event[]) => g[g.length - 1] as Event;

/**
 * The flows kubectl sends as protobuf, through @kubernetes/client-node. client-node 1.4.0 has no
 * protobuf codec (it always sends and asks for JSON), so these are JSON bodies that must be
 * answered and audited exactly like kubectl's protobuf ones.
 */
describe("@kubernetes/client-node: reviews, service accounts, scale (default GCE policy)", () => {
  let stack: Stack;
  let events: Event[] = [];
  const got: Record<string, unknown> = {};

  beforeAll(async () => {
    stack = await startStack();
    const kc = new KubeConfig();
    kc.loadFromFile(stack.server.files.kubeconfigFile);
    const dev = new KubeConfig();
    dev.loadFromFile(stack.server.files.kubeconfigFile);
    dev.users = [{ name: "dev", token: stack.developerToken }];
    dev.contexts = [{ ...(dev.contexts[0] as { name: string; cluster: string }), user: "dev" }];
    const authz = kc.makeApiClient(AuthorizationV1Api);
    const devAuthz = dev.makeApiClient(AuthorizationV1Api);
    got.ssarAdmin = await authz.createSelfSubjectAccessReview({
      body: {
        spec: { resourceAttributes: { verb: "delete", resource: "secrets", namespace: "x" } },
      },
    });
    got.ssarDev = await devAuthz.createSelfSubjectAccessReview({
      body: {
        spec: {
          resourceAttributes: {
            verb: "create",
            group: "apps",
            resource: "deployments",
            namespace: "default",
          },
        },
      },
    });
    got.ssrrDev = await devAuthz.createSelfSubjectRulesReview({
      body: { spec: { namespace: "default" } },
    });
    got.ssrDev = await dev.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} });
    await kc.makeApiClient(CoreV1Api).createNamespacedServiceAccount({
      namespace: "default",
      body: { metadata: { name: "robot" } },
    });
    const apps = kc.makeApiClient(AppsV1Api);
    await apps.createNamespacedDeployment({
      namespace: "default",
      body: {
        metadata: { name: "web" },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: "web" } },
          template: {
            metadata: { labels: { app: "web" } },
            spec: { containers: [{ name: "nginx", image: "nginx" }] },
          },
        },
      },
    });
    got.scale = await apps.replaceNamespacedDeploymentScale({
      name: "web",
      namespace: "default",
      body: { metadata: { name: "web", namespace: "default" }, spec: { replicas: 5 } },
    });
    await stack.server.shutdown();
    events = stack.auditLog();
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it("the answers come from the demo's authoriser", () => {
    expect(got.ssarAdmin).toMatchObject({ status: { allowed: true } });
    expect(got.ssarDev).toMatchObject({ status: { allowed: false, reason: "No policy matched." } });
    const rules = (got.ssrrDev as { status: { resourceRules: unknown[]; incomplete: boolean } })
      .status;
    expect(rules.incomplete).toBe(false);
    expect(rules.resourceRules).toContainEqual({
      verbs: ["get", "list", "watch"],
      apiGroups: ["*"],
      resources: ["*"],
    });
    expect(got.ssrDev).toMatchObject({
      kind: "SelfSubjectReview",
      status: {
        userInfo: { username: "developer", groups: ["developers", "system:authenticated"] },
      },
    });
    expect(got.scale).toMatchObject({ kind: "Scale", spec: { replicas: 5 } });
  });

  it("each audited as a create under its group, with request and response at RequestResponse", () => {
    for (const [resource, apiGroup, n] of [
      ["selfsubjectaccessreviews", "authorization.k8s.io", 2],
      ["selfsubjectrulesreviews", "authorization.k8s.io", 1],
      ["selfsubjectreviews", "authentication.k8s.io", 1],
    ] as const) {
      const g = requests(
        events,
        (e) => e.verb === "create" && e.objectRef?.resource === resource,
      ).map(last);
      expect(g.length).toBe(n);
      for (const e of g) {
        expect(e.objectRef).toEqual({ resource, apiGroup, apiVersion: "v1" });
        expect(e.level).toBe("RequestResponse");
        expect(e.responseStatus?.code).toBe(201);
        expect(e.requestObject).toBeDefined();
        expect(e.responseObject).toMatchObject({ kind: expect.stringMatching(/^SelfSubject/) });
      }
    }
    const sa = last(
      requests(events, (e) => e.objectRef?.resource === "serviceaccounts")[0] as Event[],
    );
    expect(sa.objectRef).toEqual({
      resource: "serviceaccounts",
      namespace: "default",
      name: "robot",
      apiVersion: "v1",
    });
    expect(sa.responseStatus?.code).toBe(201);
    const scale = last(requests(events, (e) => e.objectRef?.subresource === "scale")[0] as Event[]);
    expect(scale.verb).toBe("update");
    expect(scale.requestObject).toMatchObject({ spec: { replicas: 5 } });
  });
});
