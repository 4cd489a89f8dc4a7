import { readFileSync } from "node:fs";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import type { Event } from "@kaudit/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeKubeProtobuf, encodeKubeProtobuf, MAGIC } from "../src/proto/envelope";
import { call, requests, type Stack, startStack } from "./helpers";

const last = (g: Event[]) => g[g.length - 1] as Event;
const SECRET_VALUE = "s3cr3t-never-logged";

/** The ResponseComplete event of the one request matching `pred`. */
function only(events: Event[], pred: (e: Event) => boolean): Event {
  const groups = requests(events, pred);
  expect(groups.length).toBe(1);
  return last(groups[0] as Event[]);
}

/**
 * kubectl's typed commands send protobuf bodies; the demo runs with its default (GCE) policy,
 * which logs configmaps and secrets at Metadata and other writes at RequestResponse.
 */
describe("kubectl's typed commands against kaudit-demo (default GCE policy)", () => {
  let stack: Stack;
  let events: Event[] = [];
  const out: Record<string, { code: number; text: string }> = {};

  beforeAll(async () => {
    stack = await startStack();
    const run = async (name: string, args: string[], token?: string) => {
      const r = await stack.kubectl(args, token ? { token } : {});
      out[name] = { code: r.code, text: r.stdout + r.stderr };
    };
    await run("cm", ["create", "configmap", "demo", "--from-literal=a=b"]);
    await run("secret", ["create", "secret", "generic", "s1", `--from-literal=p=${SECRET_VALUE}`]);
    await run("ns", ["create", "namespace", "team-a"]);
    await run("deploy", ["create", "deployment", "web", "--image=nginx", "--replicas=2"]);
    await run("svc", ["create", "service", "clusterip", "backend", "--tcp=80:8080"]);
    await run("sa", ["create", "serviceaccount", "robot", "-n", "team-a"]);
    await run("expose", ["expose", "deployment", "web", "--port=80", "--target-port=8080"]);
    await run("scale", ["scale", "deployment", "web", "--replicas=3"]);
    await run("canAdmin", ["auth", "can-i", "delete", "secrets", "-n", "team-a"]);
    await run("canDevRead", ["auth", "can-i", "list", "pods"], stack.developerToken);
    await run("canDevWrite", ["auth", "can-i", "create", "deployments"], stack.developerToken);
    await run("list", ["auth", "can-i", "--list"], stack.developerToken);
    await run("whoami", ["auth", "whoami"]);
    await run("whoamiAs", ["auth", "whoami", "--as=jane", "--as-group=ops"]);
    await run("all", ["get", "all", "-A"]);
    await run("describe", ["describe", "deployment", "web"]);
    await run("resources", ["api-resources", "--no-headers"]);
    await stack.server.shutdown();
    events = stack.auditLog();
  }, 90_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it("kubectl prints what it prints against kube-apiserver", () => {
    expect(out.cm).toEqual({ code: 0, text: "configmap/demo created\n" });
    expect(out.secret).toEqual({ code: 0, text: "secret/s1 created\n" });
    expect(out.ns).toEqual({ code: 0, text: "namespace/team-a created\n" });
    expect(out.deploy).toEqual({ code: 0, text: "deployment.apps/web created\n" });
    expect(out.svc).toEqual({ code: 0, text: "service/backend created\n" });
    expect(out.sa).toEqual({ code: 0, text: "serviceaccount/robot created\n" });
    expect(out.expose).toEqual({ code: 0, text: "service/web exposed\n" });
    expect(out.scale).toEqual({ code: 0, text: "deployment.apps/web scaled\n" });
    expect(out.canAdmin).toEqual({ code: 0, text: "yes\n" });
    expect(out.canDevRead).toEqual({ code: 0, text: "yes\n" });
    expect(out.canDevWrite).toEqual({ code: 1, text: "no - No policy matched.\n" });
    expect(out.list?.code).toBe(0);
    expect(out.list?.text).toMatch(/^Resources\s+Non-Resource URLs\s+Resource Names\s+Verbs\n/);
    expect(out.list?.text).toMatch(/^\*\.\*\s+\[\]\s+\[\]\s+\[get list watch\]$/m);
    expect(out.list?.text).toMatch(
      /^selfsubjectaccessreviews\.authorization\.k8s\.io\s+\[\]\s+\[\]\s+\[create\]$/m,
    );
    expect(out.whoami?.text).toMatch(
      /^ATTRIBUTE\s+VALUE\nUsername\s+admin\nUID\s+uid-admin\nGroups\s+\[system:masters system:authenticated\]\n$/,
    );
    expect(out.whoamiAs?.text).toMatch(/^Username\s+jane$/m);
    expect(out.whoamiAs?.text).toMatch(/^Groups\s+\[ops system:authenticated\]$/m);
    expect(out.all?.code).toBe(0);
    expect(out.all?.text).toMatch(/^default\s+service\/backend\s+ClusterIP\s/m);
    expect(out.all?.text).toMatch(/^default\s+service\/web\s+ClusterIP\s/m);
    expect(out.all?.text).toMatch(/^default\s+deployment\.apps\/web\s+3\/3\s+3\s+3\s/m);
    expect(out.describe?.code).toBe(0);
    expect(out.describe?.text).toMatch(/^Replicas:\s+3 desired \| 3 updated \| 3 total/m);
    for (const r of [
      "serviceaccounts",
      "selfsubjectreviews",
      "selfsubjectrulesreviews",
      "replicasets",
    ])
      expect(out.resources?.text).toMatch(new RegExp(`^${r}\\s`, "m"));
  });

  it("configmap and secret creates: Metadata, objectRef named from the decoded body, no body", () => {
    for (const [resource, name] of [
      ["configmaps", "demo"],
      ["secrets", "s1"],
    ]) {
      const e = only(events, (x) => x.verb === "create" && x.objectRef?.resource === resource);
      expect(e.level).toBe("Metadata");
      expect(e.objectRef).toEqual({ resource, namespace: "default", name, apiVersion: "v1" });
      expect(e.responseStatus?.code).toBe(201);
      expect(e.requestObject).toBeUndefined();
      expect(e.responseObject).toBeUndefined();
      expect(e.annotations?.["kaudit.io/request-object-omitted"]).toBeUndefined();
    }
    const raw = readFileSync(stack.server.auditLogPath, "utf8");
    expect(raw).not.toContain(SECRET_VALUE);
    expect(raw).not.toContain(Buffer.from(SECRET_VALUE).toString("base64"));
  });

  it("namespace, deployment, services, serviceaccount: RequestResponse with the decoded object as requestObject", () => {
    const ns = only(events, (x) => x.verb === "create" && x.objectRef?.resource === "namespaces");
    expect(ns.level).toBe("RequestResponse");
    expect(ns.objectRef).toEqual({ resource: "namespaces", name: "team-a", apiVersion: "v1" });
    expect(ns.requestObject).toEqual({
      kind: "Namespace",
      apiVersion: "v1",
      metadata: { name: "team-a", creationTimestamp: null },
      spec: {},
      status: {},
    });
    const dep = only(events, (x) => x.verb === "create" && x.objectRef?.resource === "deployments");
    expect(dep.objectRef).toEqual({
      resource: "deployments",
      namespace: "default",
      name: "web",
      apiGroup: "apps",
      apiVersion: "v1",
    });
    expect(dep.responseStatus?.code).toBe(201);
    // exactly the JSON kube-apiserver logs for `kubectl create deployment` (Go field order too)
    expect(JSON.stringify(dep.requestObject)).toBe(
      JSON.stringify({
        kind: "Deployment",
        apiVersion: "apps/v1",
        metadata: { name: "web", creationTimestamp: null, labels: { app: "web" } },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: "web" } },
          template: {
            metadata: { creationTimestamp: null, labels: { app: "web" } },
            spec: { containers: [{ name: "nginx", image: "nginx", resources: {} }] },
          },
          strategy: {},
        },
        status: {},
      }),
    );
    expect(dep.responseObject).toMatchObject({ kind: "Deployment", spec: { replicas: 2 } });
    const svc = only(events, (x) => x.verb === "create" && x.objectRef?.name === "backend");
    expect(svc.requestObject).toMatchObject({
      kind: "Service",
      spec: {
        ports: [{ name: "80-8080", protocol: "TCP", port: 80, targetPort: 8080 }],
        type: "ClusterIP",
      },
    });
    const sa = only(
      events,
      (x) => x.verb === "create" && x.objectRef?.resource === "serviceaccounts",
    );
    expect(sa.objectRef).toEqual({
      resource: "serviceaccounts",
      namespace: "team-a",
      name: "robot",
      apiVersion: "v1",
    });
    expect(sa.requestObject).toEqual({
      kind: "ServiceAccount",
      apiVersion: "v1",
      metadata: { name: "robot", namespace: "team-a", creationTimestamp: null },
    });
    // `kubectl expose` builds the service itself and sends it as JSON
    const exposed = only(
      events,
      (x) =>
        x.verb === "create" && x.objectRef?.name === "web" && x.objectRef.resource === "services",
    );
    expect(exposed.requestObject).toMatchObject({
      kind: "Service",
      spec: { selector: { app: "web" } },
    });
  });

  it("scale: a patch of deployments/scale", () => {
    const e = only(events, (x) => x.verb === "patch" && x.objectRef?.subresource === "scale");
    expect(e.objectRef).toEqual({
      resource: "deployments",
      namespace: "default",
      name: "web",
      apiGroup: "apps",
      apiVersion: "v1",
      subresource: "scale",
    });
    expect(e.requestObject).toEqual({ spec: { replicas: 3 } });
    expect(e.responseStatus?.code).toBe(200);
  });

  it("can-i, can-i --list and whoami: creates under authorization.k8s.io / authentication.k8s.io", () => {
    const reviews = (resource: string) =>
      requests(events, (x) => x.verb === "create" && x.objectRef?.resource === resource).map(last);
    const ssar = reviews("selfsubjectaccessreviews");
    expect(ssar.length).toBe(3);
    for (const e of ssar) {
      expect(e.objectRef).toEqual({
        resource: "selfsubjectaccessreviews",
        apiGroup: "authorization.k8s.io",
        apiVersion: "v1",
      });
      expect(e.responseStatus?.code).toBe(201);
      expect(e.level).toBe("RequestResponse");
    }
    const denied = ssar.find(
      (e) =>
        e.user.username === "developer" && JSON.stringify(e.requestObject).includes('"create"'),
    ) as Event;
    expect(denied.requestObject).toEqual({
      kind: "SelfSubjectAccessReview",
      apiVersion: "authorization.k8s.io/v1",
      metadata: { creationTimestamp: null },
      spec: {
        resourceAttributes: {
          namespace: "default",
          verb: "create",
          group: "apps",
          resource: "deployments",
        },
      },
      status: { allowed: false },
    });
    expect(denied.responseObject).toMatchObject({
      status: { allowed: false, reason: "No policy matched." },
    });
    // the developer may create reviews: kube's system:basic-user binding says so
    expect(denied.annotations?.["authorization.k8s.io/reason"]).toContain("system:basic-user");
    const [ssrr] = reviews("selfsubjectrulesreviews");
    expect(ssrr?.objectRef).toEqual({
      resource: "selfsubjectrulesreviews",
      apiGroup: "authorization.k8s.io",
      apiVersion: "v1",
    });
    expect(ssrr?.requestObject).toMatchObject({ spec: { namespace: "default" } });
    const ssr = reviews("selfsubjectreviews");
    expect(ssr.length).toBe(2);
    expect(ssr[0]?.objectRef).toEqual({
      resource: "selfsubjectreviews",
      apiGroup: "authentication.k8s.io",
      apiVersion: "v1",
    });
    expect(ssr[0]?.responseObject).toMatchObject({ status: { userInfo: { username: "admin" } } });
    expect(ssr[1]?.impersonatedUser).toEqual({
      username: "jane",
      groups: ["ops", "system:authenticated"],
    });
    expect(ssr[1]?.responseObject).toMatchObject({ status: { userInfo: { username: "jane" } } });
  });
});

/** Raw requests: what kubectl never sends but a protobuf client might. */
describe("protobuf edges over HTTPS", () => {
  let stack: Stack;
  let events: Event[] = [];
  const results: Record<
    string,
    { status: number; headers: Record<string, unknown>; body: Buffer }
  > = {};

  /** `call` with a binary body; the answer's bytes as `body`. */
  async function send(
    method: string,
    path: string,
    body: Uint8Array | undefined,
    headers: Record<string, string>,
  ) {
    const r = await call(stack.server, method, path, {
      token: stack.adminToken,
      ...(body ? { body: Buffer.from(body) } : {}),
      // Node sends a DELETE body without a length unless told
      headers: { ...(body ? { "Content-Length": String(body.length) } : {}), ...headers },
    });
    return { status: r.status, headers: r.headers, body: r.raw };
  }

  beforeAll(async () => {
    stack = await startStack();
    const pb = { "Content-Type": "application/vnd.kubernetes.protobuf" };
    // a Deployment whose spec carries field 99, which no table knows
    const good = encodeKubeProtobuf({
      kind: "Deployment",
      apiVersion: "apps/v1",
      metadata: { name: "odd" },
      spec: { replicas: 1 },
    });
    const spec = new BinaryWriter()
      .tag(1, WireType.Varint)
      .int32(1)
      .tag(99, WireType.Varint)
      .int32(7)
      .finish();
    const meta = new BinaryWriter().tag(1, WireType.LengthDelimited).string("odd").finish();
    const raw = new BinaryWriter()
      .tag(1, WireType.LengthDelimited)
      .bytes(meta)
      .tag(2, WireType.LengthDelimited)
      .bytes(spec)
      .finish();
    const tm = new BinaryWriter()
      .tag(1, WireType.LengthDelimited)
      .string("apps/v1")
      .tag(2, WireType.LengthDelimited)
      .string("Deployment")
      .finish();
    const unknown = new BinaryWriter()
      .raw(MAGIC)
      .tag(1, WireType.LengthDelimited)
      .bytes(tm)
      .tag(2, WireType.LengthDelimited)
      .bytes(raw)
      .finish();
    results.unknown = await send(
      "POST",
      "/apis/apps/v1/namespaces/default/deployments",
      unknown,
      pb,
    );
    results.garbage = await send(
      "POST",
      "/api/v1/namespaces/default/configmaps",
      Buffer.from("k8s\0\x0a\x99"),
      pb,
    );
    results.wrongKind = await send("POST", "/api/v1/namespaces/default/configmaps", good, pb);
    results.created = await send("POST", "/apis/apps/v1/namespaces/default/deployments", good, {
      ...pb,
      Accept: "application/vnd.kubernetes.protobuf",
    });
    results.getJSON = await send(
      "GET",
      "/apis/apps/v1/namespaces/default/deployments/odd",
      undefined,
      {
        Accept: "application/vnd.kubernetes.protobuf, application/json",
      },
    );
    results.listPB = await send("GET", "/apis/apps/v1/namespaces/default/deployments", undefined, {
      Accept: "application/vnd.kubernetes.protobuf",
    });
    results.missingPB = await send("GET", "/api/v1/namespaces/default/configmaps/nope", undefined, {
      Accept: "application/vnd.kubernetes.protobuf",
    });
    results.html = await send("GET", "/api/v1/namespaces/default/configmaps", undefined, {
      Accept: "text/html",
    });
    results.watchPB = await send(
      "GET",
      "/api/v1/namespaces/default/configmaps?watch=true",
      undefined,
      {
        Accept: "application/vnd.kubernetes.protobuf",
      },
    );
    const del = encodeKubeProtobuf({
      kind: "DeleteOptions",
      apiVersion: "meta.k8s.io/v1",
      propagationPolicy: "Foreground",
    });
    results.deleted = await send(
      "DELETE",
      "/apis/apps/v1/namespaces/default/deployments/odd",
      del,
      pb,
    );
    await stack.server.shutdown();
    events = stack.auditLog();
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it("an unknown field number is a 415 naming the kind, message and field number, audited", () => {
    const r = results.unknown as { status: number; body: Buffer };
    expect(r.status).toBe(415);
    const st = JSON.parse(r.body.toString());
    expect(st).toMatchObject({
      kind: "Status",
      status: "Failure",
      reason: "UnsupportedMediaType",
      code: 415,
      details: {
        kind: "Deployment",
        causes: [
          {
            reason: "FieldValueNotSupported",
            message: "field number 99 of apps.v1.DeploymentSpec is not known to this server",
            field: "spec",
          },
        ],
      },
    });
    expect(st.message).toBe(
      "the protobuf body cannot be decoded without loss: Deployment: spec: field number 99 of apps.v1.DeploymentSpec is not known to this server",
    );
    const e = only(events, (x) => x.verb === "create" && x.responseStatus?.code === 415);
    expect(e.objectRef).toMatchObject({ resource: "deployments", apiGroup: "apps" });
    expect(e.requestObject).toBeUndefined();
  });

  it("malformed bodies and the wrong kind are 400 BadRequest", () => {
    expect(results.garbage?.status).toBe(400);
    expect(JSON.parse(results.garbage?.body.toString() ?? "").message).toMatch(
      /^the object provided is unrecognized \(must be of type ConfigMap\): runtime.Unknown: malformed protobuf/,
    );
    expect(results.wrongKind?.status).toBe(400);
    expect(JSON.parse(results.wrongKind?.body.toString() ?? "").message).toBe(
      "the API version in the data (apps/v1) does not match the expected API version (v1)",
    );
  });

  it("a client that accepts only protobuf gets protobuf (objects, lists, Status); JSON otherwise", () => {
    expect(results.created?.status).toBe(201);
    expect(results.created?.headers["content-type"]).toBe("application/vnd.kubernetes.protobuf");
    expect(decodeKubeProtobuf(results.created?.body as Buffer)).toMatchObject({
      kind: "Deployment",
      metadata: { name: "odd", namespace: "default" },
      status: { replicas: 1 },
    });
    expect(results.getJSON?.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(results.getJSON?.body.toString() ?? "")).toMatchObject({
      kind: "Deployment",
    });
    expect(decodeKubeProtobuf(results.listPB?.body as Buffer)).toMatchObject({
      kind: "DeploymentList",
      items: [{ metadata: { name: "odd" } }],
    });
    expect(results.missingPB?.status).toBe(404);
    expect(decodeKubeProtobuf(results.missingPB?.body as Buffer)).toMatchObject({
      kind: "Status",
      reason: "NotFound",
      code: 404,
    });
    // the audit event still records the response as JSON
    const created = only(events, (x) => x.verb === "create" && x.responseStatus?.code === 201);
    expect(created.responseObject).toMatchObject({ kind: "Deployment", metadata: { name: "odd" } });
    expect(created.requestObject).toMatchObject({ kind: "Deployment", spec: { replicas: 1 } });
  });

  it("406 for what the demo cannot answer in an accepted type", () => {
    for (const r of [results.html, results.watchPB]) {
      expect(r?.status).toBe(406);
      expect(JSON.parse(r?.body.toString() ?? "")).toMatchObject({
        reason: "NotAcceptable",
        code: 406,
      });
    }
  });

  it("protobuf DeleteOptions are decoded and audited as kube logs them", () => {
    expect(results.deleted?.status).toBe(200);
    const e = only(events, (x) => x.verb === "delete");
    expect(e.requestObject).toEqual({
      kind: "DeleteOptions",
      apiVersion: "meta.k8s.io/v1",
      propagationPolicy: "Foreground",
    });
  });
});
