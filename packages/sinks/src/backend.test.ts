import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import {
  type AuditBackendOptions,
  AuditOptionsError,
  createAuditBackend,
  validateAuditBackendOptions,
} from "./backend";
import type { SinkReport } from "./report";
import { testEvent } from "./testing/events";
import { MemorySink } from "./testing/memory-sink";
import { createTestPki } from "./testing/pki";
import { startReceiver, type TestReceiver } from "./testing/receiver";
import { ignoreErrors, union } from "./union";

const receivers: TestReceiver[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

const K = { clusters: [{ cluster: { server: "http://127.0.0.1:1/" } }] };
const plugins = (
  log = new MemorySink("log"),
  webhook = new MemorySink("webhook"),
  nats = new MemorySink("nats"),
) => ({
  log: () => log,
  webhook: () => webhook,
  nats: () => nats,
});
const N = "nats://127.0.0.1:1";

describe("createAuditBackend validation (pkg/server/options/audit.go messages)", () => {
  const cases: { name: string; options: AuditBackendOptions; messages: string[] }[] = [
    {
      name: "defaults are valid",
      options: { log: { path: "/x" }, webhook: { kubeconfig: K } },
      messages: [],
    },
    {
      name: "unknown mode",
      options: { log: { path: "/x", mode: "async" as never } },
      messages: [
        'invalid audit log mode async, allowed modes are "batch,blocking,blocking-strict"',
      ],
    },
    {
      name: "buffer size",
      options: { webhook: { kubeconfig: K, batchBufferSize: 0 } },
      messages: ["invalid audit batch webhook buffer size 0, must be a positive number"],
    },
    {
      name: "max batch size",
      options: { log: { path: "/x", mode: "batch", batchMaxSize: -1 } },
      messages: ["invalid audit batch log max batch size -1, must be a positive number"],
    },
    {
      name: "throttle QPS when enabled",
      options: { webhook: { kubeconfig: K, batchThrottleQPS: 0 } },
      messages: ["invalid audit batch webhook throttle QPS 0, must be a positive number"],
    },
    {
      name: "throttle burst when enabled",
      options: { webhook: { kubeconfig: K, batchThrottleBurst: 0 } },
      messages: ["invalid audit batch webhook throttle burst 0, must be a positive number"],
    },
    {
      name: "throttle values ignored when disabled",
      options: { webhook: { kubeconfig: K, batchThrottleEnable: false, batchThrottleQPS: 0 } },
      messages: [],
    },
    {
      name: "batch options ignored outside batch mode",
      options: { webhook: { kubeconfig: K, mode: "blocking", batchBufferSize: 0 } },
      messages: [],
    },
    {
      name: "only the first batch problem, like the reference",
      options: { webhook: { kubeconfig: K, batchBufferSize: 0, batchMaxSize: 0 } },
      messages: ["invalid audit batch webhook buffer size 0, must be a positive number"],
    },
    {
      name: "truncate options checked even when disabled",
      options: { log: { path: "/x", truncateMaxEventSize: 0 } },
      messages: ["invalid audit truncate log max event size 0, must be a positive number"],
    },
    {
      name: "truncate batch smaller than event",
      options: { webhook: { kubeconfig: K, truncateMaxEventSize: 100, truncateMaxBatchSize: 99 } },
      messages: [
        "invalid audit truncate webhook max batch size 99, must be greater than max event size (100)",
      ],
    },
    {
      name: "truncate batch equal to event is allowed",
      options: { webhook: { kubeconfig: K, truncateMaxEventSize: 100, truncateMaxBatchSize: 100 } },
      messages: [],
    },
    {
      name: "unknown version",
      options: { log: { path: "/x", version: "audit.k8s.io/v1beta1" } },
      messages: ['invalid group version, allowed versions are ["audit.k8s.io/v1"]'],
    },
    {
      name: "unparsable version",
      options: { webhook: { kubeconfig: K, version: "a/b/c" } },
      messages: ["unexpected GroupVersion string: a/b/c"],
    },
    {
      name: "log format",
      options: { log: { path: "/x", format: "xml" } },
      messages: ['invalid audit log format xml, allowed formats are "legacy,json"'],
    },
    {
      name: "negative rotation numbers, all listed",
      options: { log: { path: "/x", maxAge: -1, maxBackups: -2, maxSize: -3 } },
      messages: [
        "--audit-log-maxage -1 can't be a negative number",
        "--audit-log-maxbackup -2 can't be a negative number",
        "--audit-log-maxsize -3 can't be a negative number",
      ],
    },
    {
      name: "disabled backends are not validated",
      options: { log: { path: "", mode: "bad" as never }, webhook: { mode: "bad" as never } },
      messages: [],
    },
    {
      name: "nats: partitions, subject and the batch checks",
      options: { nats: { servers: N, partitions: 0, subject: "audit.>", batchMaxSize: 0 } },
      messages: [
        "invalid audit batch nats max batch size 0, must be a positive number",
        "invalid audit nats partitions 0, must be a whole number ≥ 1",
        'invalid audit nats subject "audit.>": dot-separated tokens without spaces, * or >',
      ],
    },
    {
      name: "nats: an empty token in the subject",
      options: { nats: { servers: [N], subject: "audit..x" } },
      messages: [
        'invalid audit nats subject "audit..x": dot-separated tokens without spaces, * or >',
      ],
    },
    {
      name: "nats: disabled (no servers) is not validated",
      options: { nats: { servers: " , ", partitions: -1 } },
      messages: [],
    },
    {
      name: "every problem of both backends",
      options: {
        log: { path: "/x", mode: "x" as never, format: "y" },
        webhook: { kubeconfig: K, batchMaxSize: 0, truncateMaxEventSize: -5 },
      },
      messages: [
        'invalid audit log mode x, allowed modes are "batch,blocking,blocking-strict"',
        'invalid audit log format y, allowed formats are "legacy,json"',
        "invalid audit batch webhook max batch size 0, must be a positive number",
        "invalid audit truncate webhook max event size -5, must be a positive number",
      ],
    },
  ];
  it.each(cases)("$name", ({ options, messages }) => {
    expect(validateAuditBackendOptions(options).map((i) => i.message)).toEqual(messages);
    if (messages.length === 0) return;
    let caught: unknown;
    try {
      createAuditBackend(options, plugins());
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(AuditOptionsError);
    const err = caught as AuditOptionsError;
    expect(err.issues.map((i) => i.message)).toEqual(messages);
    for (const m of messages) expect(err.message).toContain(m);
  });

  it("names the field of each problem", () => {
    expect(
      validateAuditBackendOptions({ webhook: { kubeconfig: K, batchThrottleQPS: -1 } })[0]!.path,
    ).toBe("webhook.batchThrottleQPS");
  });
});

describe("createAuditBackend chain (§8.4 string forms)", () => {
  const cases: { options: AuditBackendOptions; name: string }[] = [
    { options: { log: { path: "/x" } }, name: "ignoreErrors<log>" },
    { options: { webhook: { kubeconfig: K } }, name: "buffered<webhook>" },
    { options: { webhook: { kubeconfig: K, mode: "blocking-strict" } }, name: "webhook" },
    {
      options: { log: { path: "/x" }, webhook: { kubeconfig: K } },
      name: "union[ignoreErrors<log>,buffered<webhook>]",
    },
    {
      options: { log: { path: "/x", mode: "batch" }, webhook: { kubeconfig: K, mode: "blocking" } },
      name: "union[buffered<log>,ignoreErrors<webhook>]",
    },
    {
      options: { webhook: { kubeconfig: K, truncateEnabled: true } },
      name: "truncate<buffered<webhook>>",
    },
    {
      options: { log: { path: "/x", mode: "blocking-strict", truncateEnabled: true } },
      name: "truncate<log>",
    },
    { options: { nats: { servers: N } }, name: "buffered<nats>" },
    {
      options: { log: { path: "/x" }, nats: { servers: `${N},nats://127.0.0.1:2` } },
      name: "union[ignoreErrors<log>,buffered<nats>]",
    },
    {
      options: { nats: { servers: [N], mode: "blocking", truncateEnabled: true } },
      name: "truncate<ignoreErrors<nats>>",
    },
    { options: {}, name: "union[]" },
  ];
  it.each(cases)("$name", async ({ options, name }) => {
    const b = createAuditBackend(options, plugins());
    expect(String(b)).toBe(name);
    await b.shutdown();
  });

  it("union calls every sink without short-circuit and ANDs; a single sink is itself", async () => {
    const a = new MemorySink("a");
    const b = new MemorySink("b");
    a.behave = () => false;
    const u = union(a, b);
    expect(await u.processEvents([testEvent()])).toBe(false);
    expect(b.calls).toHaveLength(1);
    expect(union(a)).toBe(a);
    await u.shutdown();
    expect([a.shutdownCalled, b.shutdownCalled]).toEqual([1, 1]);
  });

  it("reports a kubeconfig problem as kube-apiserver does at start-up", () => {
    expect(() => createAuditBackend({ webhook: { kubeconfig: {} } })).toThrow(
      "initializing audit webhook: invalid configuration: no configuration has been provided",
    );
  });
});

describe("modes (§8.8): what a request sees", () => {
  const failing = () => {
    const m = new MemorySink("webhook");
    m.behave = () => false;
    return m;
  };
  it.each([
    ["blocking-strict", false],
    ["blocking", true],
    ["batch", true],
  ] as const)("%s with a failing plugin returns %s", async (mode, expected) => {
    const b = createAuditBackend(
      { webhook: { kubeconfig: K, mode, batchThrottleEnable: false } },
      plugins(undefined, failing()),
    );
    expect(await b.processEvents([testEvent({ stage: "RequestReceived" })])).toBe(expected);
    await b.shutdown();
  });

  it("against a real receiver answering 500: strict fails, blocking and batch do not; errors counted", async () => {
    const r = await startReceiver();
    receivers.push(r);
    r.answer = () => ({ status: 500 });
    const registry = new Registry();
    const kubeconfig = { clusters: [{ cluster: { server: r.url } }] };
    const common = {
      kubeconfig,
      allowInsecureHttp: true,
      initialBackoff: 5,
      batchThrottleEnable: false,
    };
    const results: boolean[] = [];
    const reports: SinkReport[] = [];
    for (const mode of ["blocking-strict", "blocking", "batch"] as const) {
      const b = createAuditBackend({ webhook: { ...common, mode }, registry });
      b.on("error", (x: SinkReport) => reports.push(x));
      results.push(await b.processEvents([testEvent({ stage: "RequestReceived" })]));
      await b.shutdown();
    }
    expect(results).toEqual([false, true, true]);
    expect(r.requests).toHaveLength(15); // 3 calls × 5 attempts
    expect(reports.map((x) => x.plugin)).toEqual(["webhook", "webhook", "webhook"]);
    const text = await registry.metrics();
    expect(text).toContain('apiserver_audit_error_total{plugin="webhook"} 3');
    expect(text).toContain("apiserver_audit_event_total 3");
  });

  it("ignoreErrors still reports a delegate that throws", async () => {
    const m = new MemorySink("log");
    m.behave = () => {
      throw new Error("disk on fire");
    };
    const s = ignoreErrors(m);
    const got: SinkReport[] = [];
    s.on("error", (x: SinkReport) => got.push(x));
    expect(await s.processEvents([testEvent()])).toBe(true);
    expect(got[0]!.error.message).toBe("disk on fire");
    expect(got[0]!.plugin).toBe("log");
  });
});

describe("createAuditBackend end to end", () => {
  it("delivers through truncate<buffered<webhook>> over mTLS from a kubeconfig file", async () => {
    const pki = await createTestPki();
    const r = await startReceiver({
      tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert },
    });
    receivers.push(r);
    const dir = mkdtempSync(join(tmpdir(), "kaudit-backend-"));
    try {
      const b64 = (x: string) => Buffer.from(x).toString("base64");
      const configFile = join(dir, "audit-webhook.yaml");
      writeFileSync(
        configFile,
        `apiVersion: v1
kind: Config
clusters:
- name: receiver
  cluster:
    server: ${r.url}
    certificate-authority-data: ${b64(pki.caCert)}
users:
- name: apiserver
  user:
    client-certificate-data: ${b64(pki.clientCert)}
    client-key-data: ${b64(pki.clientKey)}
contexts:
- name: audit
  context: {cluster: receiver, user: apiserver}
current-context: audit
`,
      );
      const registry = new Registry();
      const backend = createAuditBackend({
        webhook: { configFile, truncateEnabled: true, batchMaxWait: 50 },
        registry,
      });
      expect(String(backend)).toBe("truncate<buffered<webhook>>");
      const events = Array.from({ length: 25 }, () => testEvent());
      for (const e of events) expect(backend.processEvents([e])).toBe(true);
      await backend.shutdown();
      expect(r.accepted()).toEqual(events.map((e) => e.auditID));
      expect(r.requests.every((q) => q.clientCN === "kube-apiserver-audit")).toBe(true);
      expect(await registry.metrics()).toContain("apiserver_audit_event_total 25");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("shutdown with a deadline (the receiver is down)", () => {
  it("gives up after the timeout and reports every undelivered event instead of retrying for minutes", async () => {
    const down = await startReceiver();
    const url = down.url;
    await down.close(); // nothing listens there any more
    const backend = createAuditBackend({
      webhook: {
        kubeconfig: {
          clusters: [{ name: "c", cluster: { server: url } }],
          contexts: [{ name: "c", context: { cluster: "c", user: "" } }],
          "current-context": "c",
        } as never,
        allowInsecureHttp: true,
        batchThrottleEnable: false,
        batchMaxWait: 10,
      },
    });
    const undelivered: SinkReport[] = [];
    backend.on("error", (r: SinkReport) => undelivered.push(r));
    for (let i = 0; i < 1000; i++) backend.processEvents([testEvent()]);
    await new Promise((r) => setTimeout(r, 100)); // the first batches are retrying (10 s backoff)
    const start = Date.now();
    await backend.shutdown({ timeout: 300 });
    expect(Date.now() - start).toBeLessThan(5000);
    expect(undelivered.reduce((n, r) => n + r.events.length, 0)).toBe(1000);
    expect(undelivered.some((r) => r.error.message.includes("not drained within 300 ms"))).toBe(
      true,
    );
  });
});
