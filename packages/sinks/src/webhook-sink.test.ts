import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeEvent, type Event, encodeEventList } from "@kaudit/api";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { buffered } from "./buffered";
import type { SinkReport } from "./report";
import { testEvent } from "./testing/events";
import { createTestPki, type TestPki } from "./testing/pki";
import { startReceiver, type TestReceiver } from "./testing/receiver";
import { createWebhookSink, type WebhookSink } from "./webhook-sink";

let pki: TestPki;
let otherPki: TestPki;
let dir: string;
const open: { close(): Promise<void> }[] = [];
const sinks: WebhookSink[] = [];

beforeAll(async () => {
  [pki, otherPki] = await Promise.all([createTestPki(), createTestPki("other")]);
  dir = mkdtempSync(join(tmpdir(), "kaudit-webhook-"));
});
afterEach(async () => {
  await Promise.all(sinks.splice(0).map((s) => s.shutdown()));
  await Promise.all(open.splice(0).map((r) => r.close()));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function receiver(opts?: Parameters<typeof startReceiver>[0]): Promise<TestReceiver> {
  const r = await startReceiver(opts);
  open.push(r);
  return r;
}

function sink(opts: Parameters<typeof createWebhookSink>[0]): WebhookSink {
  const s = createWebhookSink(opts);
  sinks.push(s);
  return s;
}

function kubeconfigFile(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const b64 = (s: string) => Buffer.from(s).toString("base64");

function reports(s: WebhookSink): SinkReport[] {
  const out: SinkReport[] = [];
  s.on("error", (r: SinkReport) => out.push(r));
  return out;
}

describe("createWebhookSink over TLS", () => {
  it("delivers over mTLS with files relative to the kubeconfig, one EventList per call", async () => {
    const r = await receiver({ tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert } });
    writeFileSync(join(dir, "ca.crt"), pki.caCert);
    writeFileSync(join(dir, "client.crt"), pki.clientCert);
    writeFileSync(join(dir, "client.key"), pki.clientKey);
    const file = kubeconfigFile(
      "mtls.yaml",
      `apiVersion: v1
kind: Config
clusters:
- name: audit
  cluster:
    server: ${r.url}
    certificate-authority: ca.crt
users:
- name: apiserver
  user:
    client-certificate: client.crt
    client-key: client.key
contexts:
- name: default
  context: {cluster: audit, user: apiserver}
current-context: default
`,
    );
    const s = sink({ kubeconfig: file });
    const events = [testEvent(), testEvent({ requestURI: "/api?x=<&>" })];
    expect(await s.processEvents(events)).toBe(true);
    expect(r.requests).toHaveLength(1);
    const req = r.requests[0]!;
    expect(req.clientCN).toBe("kube-apiserver-audit");
    expect(req.headers["content-type"]).toBe("application/json");
    expect(req.headers.accept).toBe("application/json, */*");
    expect(
      req.body.startsWith(
        '{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[{"level":"Metadata"',
      ),
    ).toBe(true);
    expect(req.body.endsWith("]}\n")).toBe(true);
    expect(req.body).toContain("/api?x=\\u003c\\u0026\\u003e");
    expect(req.items.map((i) => i.auditID)).toEqual(events.map((e) => e.auditID));
    expect(req.items[0]).not.toHaveProperty("kind");
  });

  it("rejects a server whose certificate another CA signed, reporting the events", async () => {
    const r = await receiver({ tls: { cert: otherPki.serverCert, key: otherPki.serverKey } });
    const s = sink({
      kubeconfig: {
        clusters: [{ cluster: { server: r.url, "certificate-authority-data": b64(pki.caCert) } }],
      },
      initialBackoff: 1,
    });
    const got = reports(s);
    const e = testEvent();
    expect(await s.processEvents([e])).toBe(false);
    expect(r.requests).toHaveLength(0);
    expect(got).toHaveLength(1);
    expect(got[0]!.plugin).toBe("webhook");
    expect(got[0]!.events.map((x) => x.auditID)).toEqual([e.auditID]);
    expect(got[0]!.error.message).toMatch(/certificate/);
  });

  it("accepts any server certificate with insecure-skip-tls-verify and sends the token", async () => {
    const r = await receiver({ tls: { cert: otherPki.serverCert, key: otherPki.serverKey } });
    const s = sink({
      kubeconfig: {
        clusters: [{ name: "c", cluster: { server: r.url, "insecure-skip-tls-verify": true } }],
        users: [{ name: "u", user: { token: "s3cret" } }],
        contexts: [{ name: "x", context: { cluster: "c", user: "u" } }],
        "current-context": "x",
      },
    });
    expect(await s.processEvents([testEvent()])).toBe(true);
    expect(r.requests[0]!.headers.authorization).toBe("Bearer s3cret");
  });

  it("verifies against tls-server-name rather than the IP when set", async () => {
    const r = await receiver({ tls: { cert: pki.serverCert, key: pki.serverKey } });
    const url = r.url.replace("127.0.0.1", "localhost");
    const ok = sink({
      kubeconfig: {
        clusters: [
          {
            cluster: {
              server: url,
              "certificate-authority-data": b64(pki.caCert),
              "tls-server-name": "receiver.test",
            },
          },
        ],
      },
    });
    expect(await ok.processEvents([testEvent()])).toBe(true);
    const bad = sink({
      kubeconfig: {
        clusters: [
          {
            cluster: {
              server: url,
              "certificate-authority-data": b64(pki.caCert),
              "tls-server-name": "wrong.test",
            },
          },
        ],
      },
      initialBackoff: 1,
    });
    reports(bad);
    expect(await bad.processEvents([testEvent()])).toBe(false);
  });

  it("reads the token from tokenFile", async () => {
    const r = await receiver({ tls: { cert: pki.serverCert, key: pki.serverKey } });
    writeFileSync(join(dir, "token"), "from-file\n");
    const file = kubeconfigFile(
      "tokenfile.yaml",
      `clusters:\n- cluster:\n    server: ${r.url}\n    certificate-authority-data: ${b64(pki.caCert)}\nusers:\n- user:\n    tokenFile: token\n`,
    );
    const s = sink({ kubeconfig: file });
    expect(await s.processEvents([testEvent()])).toBe(true);
    expect(r.requests[0]!.headers.authorization).toBe("Bearer from-file");
  });

  it("refuses plain http unless allowInsecureHttp", async () => {
    const r = await receiver();
    const kubeconfig = { clusters: [{ cluster: { server: r.url } }] };
    expect(() => createWebhookSink({ kubeconfig })).toThrow(/refusing plain http webhook server/);
    const s = sink({ kubeconfig, allowInsecureHttp: true });
    expect(await s.processEvents([testEvent()])).toBe(true);
    expect(r.requests).toHaveLength(1);
  });

  it("counts a call after shutdown as a failure", async () => {
    const r = await receiver();
    const s = createWebhookSink({
      kubeconfig: { clusters: [{ cluster: { server: r.url } }] },
      allowInsecureHttp: true,
    });
    const got = reports(s);
    await s.shutdown();
    expect(await s.processEvents([testEvent()])).toBe(false);
    expect(got[0]!.error.message).toBe("audit backend shut down");
  });
});

describe("buffered(createWebhookSink(…)) on the wire", () => {
  it("sends kube's exact bytes for the corpus in batches, multi-byte text included", async () => {
    const corpus = ["audit2rbac-demo.v1.jsonl", "rbac-tool-auditgen-01.v1.jsonl"].flatMap((f) =>
      readFileSync(new URL(`./__fixtures__/events/${f}`, import.meta.url), "utf8")
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => decodeEvent(l)),
    );
    const events: Event[] = [
      ...corpus,
      testEvent({ user: { username: "zoë 😀" }, requestURI: "/api/v1/namespaces/ü" }),
      testEvent({ annotations: { "example.com/ключ": "значение <&>" } }),
    ];
    const r = await receiver();
    const s = buffered(
      createWebhookSink({
        kubeconfig: { clusters: [{ cluster: { server: r.url } }] },
        allowInsecureHttp: true,
      }),
      { maxBatchSize: 7, throttleEnable: false },
    );
    const got: SinkReport[] = [];
    s.on("error", (x: SinkReport) => got.push(x));
    s.on("drop", (x: SinkReport) => got.push(x));
    for (const e of events) s.processEvents([e]);
    await s.shutdown();
    expect(got).toEqual([]);
    // batches may arrive in any order (several in flight): match each body to its batch by its
    // first auditID
    const expected = new Map<string, string>();
    for (let i = 0; i < events.length; i += 7) {
      const batch = events.slice(i, i + 7);
      expected.set(batch[0]!.auditID, `${encodeEventList(batch)}\n`);
    }
    expect(r.requests).toHaveLength(expected.size);
    for (const req of r.requests) {
      expect(req.body).toBe(expected.get(req.items[0]!.auditID));
      expect(Number(req.headers["content-length"])).toBe(Buffer.byteLength(req.body));
    }
  });
});

describe("createWebhookSink retries", () => {
  const plain = (url: string) => ({ clusters: [{ cluster: { server: url } }] });

  it("retries a 500 with the reference backoff (×1.5, ≤20 % jitter), 5 attempts, then fails", async () => {
    const r = await receiver();
    r.answer = () => ({ status: 500 });
    const s = sink({ kubeconfig: plain(r.url), allowInsecureHttp: true, initialBackoff: 100 });
    const got = reports(s);
    expect(await s.processEvents([testEvent()])).toBe(false);
    expect(r.requests).toHaveLength(5);
    const gaps = r.requests.slice(1).map((q, i) => q.at - r.requests[i]!.at);
    [100, 150, 225, 337.5].forEach((base, i) => {
      expect(gaps[i]).toBeGreaterThanOrEqual(base - 5);
      expect(gaps[i]).toBeLessThan(base * 1.2 + 500); // exact jitter bounds: backoff.test.ts
    });
    expect(got).toHaveLength(1);
    expect(got[0]!.error.message).toMatch(/status 500/);
  });

  it("succeeds on a later attempt without reporting", async () => {
    const r = await receiver();
    r.answer = (n) => (n < 2 ? { status: 503 } : { status: 201 });
    const s = sink({ kubeconfig: plain(r.url), allowInsecureHttp: true, initialBackoff: 20 });
    const got = reports(s);
    expect(await s.processEvents([testEvent()])).toBe(true);
    expect(r.requests.map((q) => q.answered)).toEqual([503, 503, 201]);
    expect(got).toHaveLength(0);
  });

  it("treats 207 and 3xx like client-go: as failures", async () => {
    const r = await receiver();
    r.answer = () => ({ status: 207 });
    const s = sink({
      kubeconfig: plain(r.url),
      allowInsecureHttp: true,
      initialBackoff: 1,
      attempts: 2,
    });
    reports(s);
    expect(await s.processEvents([testEvent()])).toBe(false);
    expect(r.requests).toHaveLength(2);
  });

  it("waits Retry-After on a 429 instead of the backoff, then succeeds", async () => {
    const r = await receiver();
    r.answer = (n) =>
      n === 0 ? { status: 429, headers: { "Retry-After": "1" } } : { status: 200 };
    // an initial backoff far longer than the test proves Retry-After, not the backoff, was used
    const s = sink({ kubeconfig: plain(r.url), allowInsecureHttp: true, initialBackoff: 60_000 });
    expect(await s.processEvents([testEvent()])).toBe(true);
    expect(r.requests).toHaveLength(2);
    const gap = r.requests[1]!.at - r.requests[0]!.at;
    expect(gap).toBeGreaterThanOrEqual(990);
    expect(gap).toBeLessThan(5000); // far below the 60 s backoff
  });

  it("times out a hanging receiver per attempt and retries", async () => {
    const r = await receiver();
    r.answer = (n) => (n < 2 ? "hang" : { status: 200 });
    const s = sink({
      kubeconfig: plain(r.url),
      allowInsecureHttp: true,
      timeout: 200,
      initialBackoff: 50,
    });
    const t0 = performance.now();
    expect(await s.processEvents([testEvent()])).toBe(true);
    const took = performance.now() - t0;
    expect(r.requests).toHaveLength(3);
    // two timeouts (2 × 200 ms) plus two sleeps (50 + 75 ms, + jitter)
    expect(took).toBeGreaterThanOrEqual(2 * 200 + 125 - 5);
    expect(took).toBeLessThan(2 * 200 + 150 + 2000);
  });

  it("reports the last attempt's timeout when the receiver never answers", async () => {
    const r = await receiver();
    r.answer = () => "hang";
    const s = sink({
      kubeconfig: plain(r.url),
      allowInsecureHttp: true,
      timeout: 100,
      initialBackoff: 10,
      attempts: 3,
    });
    const got = reports(s);
    expect(await s.processEvents([testEvent()])).toBe(false);
    expect(r.requests).toHaveLength(3);
    expect(got[0]!.error.message).toMatch(/Client\.Timeout exceeded/);
  });

  it("500, then 429 with Retry-After, then hanging, then 200: each handled as specified", async () => {
    const r = await receiver();
    const script = [
      { status: 500 },
      { status: 429, headers: { "Retry-After": "1" } },
      "hang",
      { status: 200 },
    ] as const;
    r.answer = (n) => script[n] ?? { status: 200 };
    const s = sink({
      kubeconfig: plain(r.url),
      allowInsecureHttp: true,
      timeout: 300,
      initialBackoff: 100,
    });
    const got = reports(s);
    expect(await s.processEvents([testEvent()])).toBe(true);
    expect(r.requests.map((q) => q.answered)).toEqual([500, 429, "hang", 200]);
    const at = r.requests.map((q) => q.at);
    const gap = (i: number) => at[i]! - at[i - 1]!;
    // attempt 1 fails (500): backoff sleep 100 ms + ≤20 %
    expect(gap(1)).toBeGreaterThanOrEqual(95);
    expect(gap(1)).toBeLessThan(120 + 500);
    // attempt 2: 429 + Retry-After 1 s is re-sent after 1 s inside the same attempt
    expect(gap(2)).toBeGreaterThanOrEqual(990);
    expect(gap(2)).toBeLessThan(1000 + 500);
    // that re-send hangs: the 300 ms timeout ends attempt 2, then the second sleep, 150 ms + ≤20 %
    expect(gap(3)).toBeGreaterThanOrEqual(300 + 150 - 5);
    expect(gap(3)).toBeLessThan(300 + 180 + 500);
    expect(got).toHaveLength(0);
  });

  it("keeps at most maxInFlight calls delivering at once", async () => {
    const r = await receiver();
    r.answer = () => ({ status: 200, delay: 40 });
    const s = sink({ kubeconfig: plain(r.url), allowInsecureHttp: true, maxInFlight: 3 });
    const calls = Array.from({ length: 12 }, () => s.processEvents([testEvent()]));
    expect((await Promise.all(calls)).every(Boolean)).toBe(true);
    expect(r.requests).toHaveLength(12);
    expect(r.peakOpen).toBe(3);
  });
});
