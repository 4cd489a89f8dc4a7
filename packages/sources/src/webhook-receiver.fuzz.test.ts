import https from "node:https";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// The sinks package's throwaway PKI for tests.
import { createTestPki, type TestPki } from "../../sinks/src/testing/pki";
import { createWebhookReceiver, type WebhookReceiver } from "./webhook-receiver";

let pki: TestPki;
let r: WebhookReceiver;
let agent: https.Agent;
let handed = 0;

beforeAll(async () => {
  pki = await createTestPki();
  r = await createWebhookReceiver({
    path: "/audit",
    tls: { cert: pki.serverCert, key: pki.serverKey, clientCA: pki.caCert },
    maxBodyBytes: 64 * 1024,
    onEvents: ({ events }) => {
      handed += events.length;
    },
  });
  agent = new https.Agent({
    keepAlive: true,
    maxSockets: 4,
    ca: pki.caCert,
    cert: pki.clientCert,
    key: pki.clientKey,
  });
});
afterAll(async () => {
  agent.destroy();
  await r.close();
});

function post(
  body: string | Buffer,
  type = "application/json",
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: "127.0.0.1",
        port: r.port,
        path: "/audit",
        method: "POST",
        agent,
        servername: "receiver.test",
        headers: { "Content-Type": type },
      },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

// Values shaped like audit input, with hostile corners: deep nesting, __proto__ keys, odd types.
const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.constant(null),
    fc.boolean(),
    fc.double(),
    fc.string(),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(
      fc.oneof(fc.string(), fc.constantFrom("__proto__", "constructor", "items", "kind")),
      tie("value"),
      {
        maxKeys: 4,
      },
    ),
  ),
})).value;
const event = fc.record({
  auditID: fc.oneof(fc.uuid(), fc.string()),
  stage: fc.constantFrom("RequestReceived", "ResponseComplete", "Panic", ""),
  level: fc.constantFrom("Metadata", "Request", "RequestResponse"),
  requestObject: json,
});
const body = fc.oneof(
  json.map((v) => JSON.stringify(v)),
  fc
    .array(fc.oneof(event, json), { maxLength: 5 })
    .map((items) => JSON.stringify({ kind: "EventList", apiVersion: "audit.k8s.io/v1", items })),
  fc.array(event, { maxLength: 5 }).map((items) => JSON.stringify(items)),
  fc
    .nat({ max: 20_000 })
    .map((d) => `{"kind":"EventList","items":[${"[".repeat(d)}${"]".repeat(d)}]}`),
  fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)),
  fc.string({ maxLength: 200 }),
  // a secret in a broken body (V8's JSON.parse message would quote it)
  fc.string({ maxLength: 40 }).map((s) => `{"kind":"Secret","stringData":{"pw":hunter2${s}}}`),
);

describe("createWebhookReceiver under fuzzed bodies", () => {
  it("answers every body with 200, 400 or 413 and a Status, quickly, never quoting it, and stays up", async () => {
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const t = performance.now();
        const a = await post(b);
        expect([200, 400, 413]).toContain(a.status);
        if (a.status !== 200) {
          expect(JSON.parse(a.body).kind).toBe("Status");
          expect(a.body).not.toContain("hunter2");
          expect(performance.now() - t).toBeLessThan(1000);
        }
        // Object.prototype untouched by any "__proto__" key
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { numRuns: 150, interruptAfterTimeLimit: 30_000 },
    );
    const ok = await post(
      JSON.stringify([{ auditID: "after", stage: "ResponseComplete", level: "Metadata" }]),
    );
    expect(ok.status).toBe(200);
    expect(handed).toBeGreaterThan(0);
  }, 60_000);
});
