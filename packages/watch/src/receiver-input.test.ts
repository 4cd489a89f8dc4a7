import https from "node:https";
import type { Event } from "@kaudit/api";
import { buffered, createWebhookSink, type Kubeconfig } from "@kaudit/sinks";
import { createWebhookReceiver } from "@kaudit/sources";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// The sinks package's throwaway PKI for tests (a CA, a server and a client certificate).
import { createTestPki, type TestPki } from "../../sinks/src/testing/pki";
import { createWatchMetrics } from "./metrics";
import { receiverInput } from "./receiver-input";
import { MemoryOutput } from "./testing/memory-output";
import { createWatcher } from "./watcher";

let pki: TestPki;
beforeAll(async () => {
  pki = await createTestPki();
});
afterAll(() => {});

const b64 = (s: string) => Buffer.from(s).toString("base64");
const kubeconfig = (url: string): Kubeconfig =>
  ({
    clusters: [
      { name: "r", cluster: { server: url, "certificate-authority-data": b64(pki.caCert) } },
    ],
    users: [
      {
        name: "u",
        user: {
          "client-certificate-data": b64(pki.clientCert),
          "client-key-data": b64(pki.clientKey),
        },
      },
    ],
    contexts: [{ name: "c", context: { cluster: "r", user: "u" } }],
    "current-context": "c",
  }) as unknown as Kubeconfig;

const event = (i: number): Event =>
  ({
    kind: "Event",
    apiVersion: "audit.k8s.io/v1",
    level: "Metadata",
    auditID: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
    stage: "ResponseComplete",
    requestURI: "/api/v1/namespaces/default/secrets/db",
    verb: "get",
    user: { username: i % 10 === 0 ? "mallory" : "system:kube-controller-manager" },
    sourceIPs: ["10.0.0.1"],
    objectRef: { resource: "secrets", namespace: "default", name: "db", apiVersion: "v1" },
    responseStatus: { metadata: {}, code: 200 },
    requestReceivedTimestamp: "2026-11-22T10:04:05.123456Z",
    stageTimestamp: "2026-11-22T10:04:05.130001Z",
  }) as Event;

describe("receiverInput", () => {
  it("every event our webhook sink sends is evaluated once; answers and drops are in the metrics", async () => {
    const metrics = createWatchMetrics({ processMetrics: false });
    const receiver = await createWebhookReceiver({
      path: "/audit",
      tls: { cert: pki.serverCert, key: pki.serverKey, clientCA: pki.caCert },
      maxEventBytes: 2000,
    });
    const out = new MemoryOutput();
    const watcher = createWatcher({
      inputs: [receiverInput(receiver, { metrics })],
      rules: {
        evaluate: (e) =>
          e.user.username === "mallory"
            ? [
                {
                  time: e.stageTimestamp ?? "",
                  rule: "secret read by a person",
                  priority: "Warning",
                  source: "k8s_audit",
                  output: `mallory read ${e.auditID}`,
                  output_fields: {},
                  tags: [],
                },
              ]
            : [],
      },
      outputs: [out],
      metrics,
    });
    const running = watcher.run();

    const sink = buffered(createWebhookSink({ kubeconfig: kubeconfig(receiver.url) }), {
      maxBatchSize: 100,
      maxBatchWait: 20,
      throttleEnable: false,
    });
    for (let i = 1; i <= 2000; i++) sink.processEvents([event(i)]);
    // one event too big for the receiver: dropped and counted, not lost silently
    sink.processEvents([{ ...event(2001), annotations: { big: "x".repeat(5000) } } as Event]);
    await sink.shutdown();

    // a body that is not audit events
    const status = await new Promise<number>((resolve, reject) => {
      const req = https.request(
        receiver.url,
        {
          method: "POST",
          ca: pki.caCert,
          cert: pki.clientCert,
          key: pki.clientKey,
          headers: { "Content-Type": "application/json" },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      req.end('{"kind":"Pod"}');
    });
    expect(status).toBe(400);

    await watcher.stop();
    await running;
    expect(watcher.stats().events).toBe(2000);
    expect(out.alerts).toHaveLength(200);
    const text = await metrics.registry.metrics();
    const requests = receiver.stats.accepted;
    expect(requests).toBeGreaterThanOrEqual(20);
    expect(text).toContain(`kaudit_receiver_requests_total{code="200"} ${requests}`);
    expect(text).toContain('kaudit_receiver_requests_total{code="400"} 1');
    expect(text).toMatch(/kaudit_dropped_total\{reason="receiver_too_large"\} 1\n/);
    expect(text).toContain(
      'kaudit_events_read_total{input="webhook",stage="ResponseComplete"} 2000',
    );
  });
});
