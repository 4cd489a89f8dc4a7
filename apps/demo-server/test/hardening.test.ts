import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TLSSocket, connect as tlsConnect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, FIXTURES, requests, type Stack, startStack } from "./helpers";

/**
 * Issue 12 cases 2, 4 and 7 against a running demo: a deeply nested pod does not poison the store,
 * a malformed Secret's 400 does not quote the body into a Metadata-level event, and service
 * account impersonation follows kube's serviceaccount.SplitUsername.
 */
describe("hardening: store, error texts, impersonation", () => {
  let stack: Stack;
  let dir = "";
  const TOKENS = {
    admin: "admin-token-hardening",
    dev: "dev-token-hardening",
    imp: "imp-token-hardening",
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "kaudit-hardening-"));
    const tokens = join(dir, "tokens.csv");
    writeFileSync(
      tokens,
      `${TOKENS.admin},admin,uid-admin,"system:masters"\n${TOKENS.dev},developer,uid-dev,developers\n${TOKENS.imp},impersonator,uid-imp,\n`,
    );
    // developers may write in default; the impersonator may impersonate service accounts of dev
    const abac = join(dir, "abac.jsonl");
    writeFileSync(
      abac,
      [
        { group: "developers", namespace: "default", resource: "*", apiGroup: "*" },
        { group: "developers", namespace: "*", resource: "*", apiGroup: "*", readonly: true },
        { user: "impersonator", namespace: "dev", resource: "serviceaccounts", apiGroup: "*" },
        { user: "impersonator", nonResourcePath: "*", readonly: true },
        { user: "*", namespace: "*", resource: "*", apiGroup: "*", readonly: true },
      ]
        .map((spec) =>
          JSON.stringify({
            apiVersion: "abac.authorization.kubernetes.io/v1beta1",
            kind: "Policy",
            spec,
          }),
        )
        .join("\n"),
    );
    stack = await startStack({
      flags: {
        "audit-policy-file": join(FIXTURES, "test-policy.yaml"),
        "token-auth-file": tokens,
        "authorization-policy-file": abac,
      },
    });
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  // built as text: JSON.stringify itself overflows at a few thousand levels
  const nested = (n: number) => `${'{"a":'.repeat(n)}"leaf"${"}".repeat(n)}`;
  const pod = (name: string, depth: number) =>
    `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"${name}"},"spec":{"containers":[{"name":"c","image":"nginx"}],"deep":${nested(depth - 2)}}}`;

  it("case 2: a pod nested 2,500 (and 9,990) deep is stored and never makes a later request fail", async () => {
    for (const [name, depth] of [
      ["deep", 2500],
      ["deeper", 9990],
    ] as const) {
      const created = await call(stack.server, "POST", "/api/v1/namespaces/default/pods", {
        token: TOKENS.dev,
        body: pod(name, depth),
      });
      expect(created.status).toBe(201);
    }
    const list = await call(stack.server, "GET", "/api/v1/pods", { token: TOKENS.admin });
    expect(list.status).toBe(200);
    expect(
      JSON.parse(list.body).items.map((p: { metadata: { name: string } }) => p.metadata.name),
    ).toEqual(expect.arrayContaining(["deep", "deeper"]));
    const table = await call(stack.server, "GET", "/api/v1/namespaces/default/pods", {
      token: TOKENS.admin,
      headers: { Accept: "application/json;as=Table;v=v1;g=meta.k8s.io" },
    });
    expect(table.status).toBe(200);
    const watch = await call(
      stack.server,
      "GET",
      "/api/v1/pods?watch=true&resourceVersion=0&timeoutSeconds=1",
      { token: TOKENS.admin },
    );
    expect(watch.status).toBe(200);
    const types = watch.body
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string; object: { metadata: { name: string } } });
    expect(
      types.filter((e) => e.object.metadata.name.startsWith("deep")).map((e) => e.type),
    ).toEqual(["ADDED", "ADDED"]);
    const patched = await call(stack.server, "PATCH", "/api/v1/namespaces/default/pods/deeper", {
      token: TOKENS.dev,
      contentType: "application/merge-patch+json",
      body: `{"metadata":{"labels":{"x":"y"}},"spec":{"deep":${nested(9000)}}}`,
    });
    expect(patched.status).toBe(200);
    for (const name of ["deep", "deeper"]) {
      const del = await call(stack.server, "DELETE", `/api/v1/namespaces/default/pods/${name}`, {
        token: TOKENS.dev,
      });
      expect(del.status).toBe(200);
    }
    // nothing was answered with 500 and nothing was logged as a panic
    const events = stack.auditLog();
    expect(events.filter((e) => (e.responseStatus?.code ?? 0) >= 500)).toEqual([]);
  }, 60_000);

  it("case 2: a body past kube's 10,000 levels gets kube's decoder 400", async () => {
    const r = await call(stack.server, "POST", "/api/v1/namespaces/default/pods", {
      token: TOKENS.dev,
      body: pod("too-deep", 10_001),
    });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).message).toBe(
      "the object provided is unrecognized (must be of type Pod): couldn't get version/kind; json parse error: invalid character '{' exceeded max depth",
    );
    const yaml = await call(stack.server, "POST", "/api/v1/namespaces/default/configmaps", {
      token: TOKENS.dev,
      contentType: "application/yaml",
      body: `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: y}\ndata: ${"[".repeat(100_000)}`,
    });
    expect(yaml.status).toBe(400);
    expect(JSON.parse(yaml.body).message).toBe(
      "the object provided is unrecognized (must be of type ConfigMap): yaml: line 4: exceeded max depth of 300",
    );
  });

  it("case 4: a Secret with a JSON syntax error gets Go's message, and no event quotes the body", async () => {
    const body = '{"kind":"Secret","stringData":{"pw":hunter2}}';
    const r = await call(stack.server, "POST", "/api/v1/namespaces/default/secrets", {
      token: TOKENS.dev,
      body,
    });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).message).toBe(
      "the object provided is unrecognized (must be of type Secret): couldn't get version/kind; json parse error: invalid character 'h' looking for beginning of value",
    );
    const yaml = await call(stack.server, "POST", "/api/v1/namespaces/default/secrets", {
      token: TOKENS.dev,
      contentType: "application/yaml",
      body: "kind: Secret\nstringData:\n  pw: *hunter2\n  \tx: [",
    });
    expect(yaml.status).toBe(400);
    expect(JSON.parse(yaml.body).message).not.toContain("hunter2");
    const auditID = String(r.headers["audit-id"]);
    const events = stack.auditLog();
    const [g] = requests(events, (e) => e.auditID === auditID);
    expect(g?.map((e) => e.level)).toEqual(["Metadata", "Metadata"]);
    const secretEvents = events.filter((e) => e.objectRef?.resource === "secrets");
    expect(secretEvents.length).toBeGreaterThanOrEqual(4);
    for (const e of secretEvents) expect(JSON.stringify(e)).not.toContain("hunter2");
  });

  it("case 7: service-account impersonation only for exactly system:serviceaccount:<ns>:<name>", async () => {
    const as = (user: string) =>
      call(stack.server, "GET", "/api/v1/namespaces/dev/pods", {
        token: TOKENS.imp,
        headers: { "Impersonate-User": user },
      });
    expect((await as("system:serviceaccount:dev:builder")).status).toBe(200);
    for (const user of [
      "system:serviceaccount:dev",
      "system:serviceaccount:dev:builder:admin",
      "system:serviceaccount:dev:a:b:c",
      "system:serviceaccount:dev:Builder",
      "system:serviceaccount:other:builder",
    ]) {
      const r = await as(user);
      expect(r.status, user).toBe(403);
      // not a service account: checked as a user, as kube does
      expect(JSON.parse(r.body).message).toBe(
        user.split(":").length === 4 && !/[A-Z]/.test(user)
          ? `serviceaccounts "builder" is forbidden: User "impersonator" cannot impersonate resource "serviceaccounts" in API group "" in the namespace "other": No policy matched.`
          : `users "${user}" is forbidden: User "impersonator" cannot impersonate resource "users" in API group "" at the cluster scope: No policy matched.`,
      );
    }
  });
});

/** Issue 12 case 3 and issue 20 case 1: what one client can hold is bounded. */
describe("hardening: limits", () => {
  let stack: Stack;
  let dir = "";

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "kaudit-limits-"));
    // developers may write in default (so a developer's create gets as far as reading its body)
    writeFileSync(
      join(dir, "abac.jsonl"),
      JSON.stringify({
        apiVersion: "abac.authorization.kubernetes.io/v1beta1",
        kind: "Policy",
        spec: { group: "developers", namespace: "*", resource: "*", apiGroup: "*" },
      }),
    );
    stack = await startStack({
      flags: {
        "authorization-policy-file": join(dir, "abac.jsonl"),
        "max-watch-buffer-bytes": 256 * 1024,
        "max-mutating-requests-inflight": 1,
        "watch-history-bytes": 512 * 1024,
      },
    });
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A raw TLS connection to the server, for requests a client library would not send. */
  function connect(): Promise<TLSSocket> {
    return new Promise((ok, fail) => {
      const s = tlsConnect({
        host: "127.0.0.1",
        port: stack.server.port,
        ca: readFileSync(stack.server.files.certFile),
        servername: "localhost",
      });
      s.once("secureConnect", () => ok(s));
      s.once("error", fail);
    });
  }
  const until = (s: TLSSocket, re: RegExp, ms = 10_000) =>
    new Promise<string>((ok, fail) => {
      let got = "";
      const t = setTimeout(
        () => fail(new Error(`no ${re} in ${JSON.stringify(got.slice(0, 300))}`)),
        ms,
      );
      s.on("data", (c: Buffer) => {
        got += c.toString("latin1");
        if (re.test(got)) {
          clearTimeout(t);
          ok(got);
        }
      });
    });

  it("a declared 10 GB Content-Length is refused with 413 at once, without reading", async () => {
    const s = await connect();
    const t = performance.now();
    const reply = until(s, /\r\n\r\n[\s\S]*"code":413/);
    s.write(
      `POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${stack.adminToken}\r\nContent-Type: application/json\r\nContent-Length: 10737418240\r\n\r\n{"kind":`,
    );
    const text = await reply;
    expect(performance.now() - t).toBeLessThan(2000);
    expect(text).toMatch(/^HTTP\/1\.1 413 /);
    expect(text).toMatch(/\r\nConnection: close\r\n/i);
    expect(text).toContain("Request entity too large: limit is 3145728");
    s.destroy();
  });

  it("a watch that does not read is closed once its queue is full; the server stays responsive", async () => {
    const s = await connect();
    const headers = until(s, /\r\n\r\n/);
    s.write(
      `GET /api/v1/namespaces/default/configmaps?watch=true HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${stack.adminToken}\r\n\r\n`,
    );
    expect(await headers).toMatch(/^HTTP\/1\.1 200 /);
    s.pause(); // stop reading: the kernel buffers fill, then the server's queue
    const closed = new Promise<void>((ok) => s.once("close", () => ok()));
    const big = "x".repeat(1024 * 1024);
    for (let i = 0; i < 24; i++) {
      const r = await call(stack.server, "POST", "/api/v1/namespaces/default/configmaps", {
        token: stack.adminToken,
        body: JSON.stringify({
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: `big-${i}` },
          data: { v: big },
        }),
      });
      expect(r.status).toBe(201);
    }
    s.resume();
    await closed;
    const metrics = await call(stack.server, "GET", "/metrics", { token: stack.adminToken });
    expect(metrics.body).toMatch(
      /^apiserver_terminated_watchers_total\{resource="configmaps"\} 1$/m,
    );
    // lists of them are streamed and complete
    const list = await call(stack.server, "GET", "/api/v1/namespaces/default/configmaps", {
      token: stack.adminToken,
    });
    expect(
      JSON.parse(list.body).items.filter((o: { metadata: { name: string } }) =>
        o.metadata.name.startsWith("big-"),
      ),
    ).toHaveLength(24);
  }, 60_000);

  it("a watch from a resourceVersion older than the history gets kube's 410 Expired ERROR event", async () => {
    const r = await call(
      stack.server,
      "GET",
      "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=1",
      {
        token: stack.adminToken,
      },
    );
    expect(r.status).toBe(200);
    const [event] = r.body
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(event).toMatchObject({
      type: "ERROR",
      object: { kind: "Status", status: "Failure", reason: "Expired", code: 410 },
    });
    expect(event.object.message).toMatch(/^too old resource version: 1 \(\d+\)$/);
  });

  it("deletecollection streams the deleted objects with the final resourceVersion", async () => {
    const r = await call(stack.server, "DELETE", "/api/v1/namespaces/default/configmaps", {
      token: stack.adminToken,
    });
    expect(r.status).toBe(200);
    const list = JSON.parse(r.body);
    expect(list.kind).toBe("ConfigMapList");
    expect(
      list.items.filter((o: { metadata: { name: string } }) => o.metadata.name.startsWith("big-")),
    ).toHaveLength(24);
    expect(list.metadata.resourceVersion).toBe(stack.server.store.resourceVersion);
    expect(list.items.at(-1).metadata.resourceVersion).toBe(stack.server.store.resourceVersion);
  });

  it("--max-mutating-requests-inflight: beyond it 429 with Retry-After, except for system:masters", async () => {
    // a create whose body never finishes holds the one mutating slot
    const s = await connect();
    s.write(
      `POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${stack.developerToken}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{`,
    );
    await new Promise((r) => setTimeout(r, 300));
    const dev = await call(stack.server, "POST", "/api/v1/namespaces/default/configmaps", {
      token: stack.developerToken,
      body: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}',
    });
    expect(dev.status).toBe(429);
    expect(dev.headers["retry-after"]).toBe("1");
    expect(dev.body).toBe("Too many requests, please try again later.\n");
    const admin = await call(stack.server, "POST", "/api/v1/namespaces/default/configmaps", {
      token: stack.adminToken,
      body: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"by-admin"}}',
    });
    expect(admin.status).toBe(201);
    s.destroy();
    await new Promise((r) => setTimeout(r, 300));
    const again = await call(
      stack.server,
      "GET",
      "/api/v1/namespaces/default/configmaps/by-admin",
      {
        token: stack.developerToken,
      },
    );
    expect(again.status).toBe(200);
    const events = stack.auditLog().filter((e) => e.responseStatus?.code === 429);
    expect(events.length).toBeGreaterThanOrEqual(1);
  });
});
