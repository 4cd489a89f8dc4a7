import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import type { Event } from "@kaudit/api";
import { buffered, createWebhookSink, type Kubeconfig } from "@kaudit/sinks";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
// The sinks package's throwaway PKI for tests (a CA, a server and a client certificate).
import { createTestPki, type TestPki } from "../../sinks/src/testing/pki";
import type { SourceReport } from "./source-stats";
import {
  createWebhookReceiver,
  type ReceivedBatch,
  type WebhookReceiver,
  type WebhookReceiverOptions,
} from "./webhook-receiver";

let pki: TestPki;
let otherPki: TestPki;
let dir: string;
const open: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  [pki, otherPki] = await Promise.all([createTestPki(), createTestPki("other")]);
  dir = mkdtempSync(join(tmpdir(), "kaudit-receiver-"));
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((r) => r.close()));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function event(over: Record<string, unknown> = {}): Event {
  n++;
  return {
    kind: "Event",
    apiVersion: "audit.k8s.io/v1",
    level: "Metadata",
    auditID: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`,
    stage: "ResponseComplete",
    requestURI: "/api/v1/namespaces/default/pods?limit=500",
    verb: "list",
    user: { username: "system:admin", groups: ["system:masters", "system:authenticated"] },
    sourceIPs: ["10.0.0.1"],
    userAgent: "kubectl/v1.31.0 (linux/amd64) kubernetes/abc1234",
    objectRef: { resource: "pods", namespace: "default", apiVersion: "v1" },
    responseStatus: { metadata: {}, code: 200 },
    requestReceivedTimestamp: "2026-11-22T10:04:05.123456Z",
    stageTimestamp: "2026-11-22T10:04:05.130001Z",
    ...over,
  } as Event;
}

/** A receiver with client certificates required, collecting what it hands over. */
async function receiver(
  over: Partial<WebhookReceiverOptions> = {},
): Promise<{ r: WebhookReceiver; got: ReceivedBatch[] }> {
  const got: ReceivedBatch[] = [];
  const r = await createWebhookReceiver({
    path: "/audit",
    tls: { cert: pki.serverCert, key: pki.serverKey, clientCA: pki.caCert },
    onEvents: (b) => {
      got.push(b);
    },
    ...over,
  });
  open.push(r);
  return { r, got };
}

const b64 = (s: string) => Buffer.from(s).toString("base64");
function kubeconfig(url: string, client = pki): Kubeconfig {
  return {
    clusters: [
      { name: "r", cluster: { server: url, "certificate-authority-data": b64(pki.caCert) } },
    ],
    users: [
      {
        name: "u",
        user: {
          "client-certificate-data": b64(client.clientCert),
          "client-key-data": b64(client.clientKey),
        },
      },
    ],
    contexts: [{ name: "c", context: { cluster: "r", user: "u" } }],
    "current-context": "c",
  } as unknown as Kubeconfig;
}

interface Answer {
  status: number;
  body: string;
  headers: Record<string, unknown>;
}

/** One raw HTTPS request; `cert: false` sends no client certificate. */
function request(
  r: WebhookReceiver,
  o: {
    method?: string;
    path?: string;
    body?: string | Buffer;
    type?: string | null;
    cert?: boolean;
    headers?: Record<string, string>;
  } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...o.headers };
    if (o.type !== null) headers["Content-Type"] = o.type ?? "application/json";
    const req = https.request(
      {
        host: "127.0.0.1",
        port: r.port,
        method: o.method ?? "POST",
        path: o.path ?? "/audit",
        ca: pki.caCert,
        servername: "receiver.test",
        agent: false,
        headers,
        ...(o.cert === false ? {} : { cert: pki.clientCert, key: pki.clientKey }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString(),
            headers: res.headers,
          }),
        );
      },
    );
    req.on("error", reject);
    req.end(o.body ?? "");
  });
}

const list = (items: unknown[], apiVersion = "audit.k8s.io/v1") =>
  JSON.stringify({ kind: "EventList", apiVersion, metadata: {}, items });

describe("createWebhookReceiver: what kube-apiserver's webhook posts", () => {
  it("hands EventLists, single Events and arrays over, upgrading old versions to v1", async () => {
    const { r, got } = await receiver();
    const a = event();
    const b = event();
    expect((await request(r, { body: list([a, b]) })).status).toBe(200);
    const single = event();
    expect((await request(r, { body: JSON.stringify(single) })).status).toBe(200);
    const arr = [event(), event()];
    expect((await request(r, { body: JSON.stringify(arr) })).status).toBe(200);
    // v1beta1: a `timestamp` and `metadata.creationTimestamp` instead of the v1 timestamps
    const old = {
      level: "Metadata",
      auditID: "beta-1",
      stage: "ResponseComplete",
      requestURI: "/api",
      verb: "get",
      user: { username: "u" },
      timestamp: "2018-01-01T00:00:00Z",
      metadata: { creationTimestamp: "2018-01-01T00:00:01Z" },
    };
    expect((await request(r, { body: list([old], "audit.k8s.io/v1beta1") })).status).toBe(200);
    expect(got.map((g) => g.events.map((e) => e.auditID))).toEqual([
      [a.auditID, b.auditID],
      [single.auditID],
      arr.map((e) => e.auditID),
      ["beta-1"],
    ]);
    expect(got[3]!.events[0]).toMatchObject({
      apiVersion: "audit.k8s.io/v1",
      kind: "Event",
      requestReceivedTimestamp: "2018-01-01T00:00:00Z",
      stageTimestamp: "2018-01-01T00:00:01Z",
    });
    expect(got[0]!.user).toBe("kube-apiserver-audit");
    expect(r.stats).toMatchObject({ read: 6, accepted: 4, rejected: 0 });
  });

  it("refuses what is not audit events with the right code and a Status body, and stays up", async () => {
    const { r, got } = await receiver();
    const good = list([event()]);
    const cases: [string, Parameters<typeof request>[1], number][] = [
      ["garbage", { body: "{not json at all hunter2" }, 400],
      ["empty body", { body: "" }, 400],
      ["a number", { body: "42" }, 400],
      ["wrong path", { body: good, path: "/other" }, 400],
      ["wrong apiVersion", { body: list([event()], "v1") }, 400],
      ["wrong kind", { body: JSON.stringify({ kind: "Pod", apiVersion: "v1" }) }, 400],
      ["items null", { body: JSON.stringify({ kind: "EventList", items: null }) }, 400],
      ["an item null", { body: list([event(), null]) }, 400],
      ["an item 42", { body: list([42]) }, 400],
      ["an item without auditID", { body: list([{ stage: "ResponseComplete" }]) }, 400],
      ["text/plain", { body: good, type: "text/plain" }, 415],
      ["no content type", { body: good, type: null }, 415],
      ["GET", { method: "GET" }, 405],
      ["PUT", { method: "PUT", body: good }, 405],
      ["no client certificate", { body: good, cert: false }, 401],
    ];
    for (const [name, o, code] of cases) {
      const a = await request(r, o);
      expect({ name, status: a.status }).toEqual({ name, status: code });
      const status = JSON.parse(a.body);
      expect({ name, kind: status.kind, code: status.code }).toEqual({
        name,
        kind: "Status",
        code,
      });
      // error texts derived from a body never quote it
      expect(a.body).not.toContain("hunter2");
    }
    expect(got).toEqual([]);
    expect(r.stats.rejected).toBe(cases.length);
    expect(r.stats.skipped).toBe(cases.length);
    expect((await request(r, { body: good })).status).toBe(200);
  });

  it("a client certificate of another CA is 401; a token from kube's CSV works; allowedUsers gives 403", async () => {
    const tokenFile = join(dir, "tokens.csv");
    writeFileSync(tokenFile, 'sekret,audit-sender,1,"system:auditors,x"\nother,mallory,2\n');
    const { r, got } = await receiver({ tokenFile, allowedUsers: ["audit-sender"] });
    const body = list([event()]);
    const foreign = await new Promise<number>((resolve, reject) => {
      const req = https.request(
        {
          host: "127.0.0.1",
          port: r.port,
          method: "POST",
          path: "/audit",
          ca: pki.caCert,
          servername: "receiver.test",
          agent: false,
          cert: otherPki.clientCert,
          key: otherPki.clientKey,
          headers: { "Content-Type": "application/json" },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      req.end(body);
    });
    expect(foreign).toBe(401);
    const h = (t: string) => ({ Authorization: `Bearer ${t}` });
    expect((await request(r, { body, cert: false, headers: h("wrong") })).status).toBe(401);
    expect((await request(r, { body, cert: false, headers: h("other") })).status).toBe(403);
    expect((await request(r, { body, cert: false, headers: h("sekret") })).status).toBe(200);
    expect(got.map((g) => g.user)).toEqual(["audit-sender"]);
  });

  it("413: a declared huge Content-Length at once without reading, a 100 MB upload cut off; the server stays up", async () => {
    const { r, got } = await receiver({ maxBodyBytes: 1024 * 1024 });
    // Declared 100 MB: the answer comes before a single body byte is sent.
    const declared = await new Promise<string>((resolve, reject) => {
      const s = tls.connect({
        host: "127.0.0.1",
        port: r.port,
        ca: pki.caCert,
        servername: "receiver.test",
        cert: pki.clientCert,
        key: pki.clientKey,
      });
      let text = "";
      s.on("secureConnect", () =>
        s.write(
          "POST /audit HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\n\r\n",
        ),
      );
      s.on("data", (d) => {
        text += d;
      });
      s.on("close", () => resolve(text));
      s.on("error", reject);
    });
    expect(declared).toMatch(/^HTTP\/1\.1 413 /);
    expect(declared).toContain('"reason":"RequestEntityTooLarge"');
    // 100 MB chunked (no length): refused once the limit is passed, the rest never read.
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    const streamed = await new Promise<number | string>((resolve) => {
      const req = https.request(
        {
          host: "127.0.0.1",
          port: r.port,
          method: "POST",
          path: "/audit",
          ca: pki.caCert,
          servername: "receiver.test",
          agent: false,
          cert: pki.clientCert,
          key: pki.clientKey,
          headers: { "Content-Type": "application/json", "Transfer-Encoding": "chunked" },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", (e) => resolve((e as NodeJS.ErrnoException).code ?? "error"));
      let sent = 0;
      const pump = () => {
        while (sent < 100) {
          sent++;
          if (!req.write(chunk)) {
            req.once("drain", pump);
            return;
          }
        }
        req.end();
      };
      pump();
    });
    // Either the 413 arrived or the connection was cut while the client was still sending.
    expect([413, "ECONNRESET", "EPIPE"]).toContain(streamed);
    expect(got).toEqual([]);
    expect((await request(r, { body: list([event()]) })).status).toBe(200);
    expect(got.length).toBe(1);
  });

  it("drops (and counts) events nested too deep or too large, hands the rest over; 5,000 deep does not kill it", async () => {
    const { r, got } = await receiver({ maxEventBytes: 64 * 1024 });
    const drops: SourceReport[] = [];
    r.on("drop", (d: SourceReport) => drops.push(d));
    // built as text: JSON.stringify itself cannot write 5,000 levels
    const deepEvent = event({ level: "Request", auditID: "deep-1" });
    const deepText = JSON.stringify(deepEvent).replace(
      '"auditID":"deep-1"',
      `"auditID":"deep-1","requestObject":${'{"a":'.repeat(5000)}1${"}".repeat(5000)}`,
    );
    const bigEvent = event({ level: "Request", requestObject: { data: "x".repeat(70 * 1024) } });
    const ok = event();
    // an array nested 100,000 deep as the whole body, too
    expect(
      (await request(r, { body: `${"[".repeat(100_000)}${"]".repeat(100_000)}` })).status,
    ).toBe(400);
    const body = list([ok, bigEvent]).replace('"items":[', `"items":[${deepText},`);
    const a = await request(r, { body });
    expect(a.status).toBe(200);
    expect(got.flatMap((g) => g.events.map((e) => e.auditID))).toEqual([ok.auditID]);
    expect(r.stats.dropped).toBe(2);
    expect(drops.map((d) => d.reason).sort()).toEqual(["too deep", "too large"]);
  });

  it("keeps request and response bodies' exact text for re-encoding", async () => {
    const { r, got } = await receiver();
    const e = event({ level: "RequestResponse", auditID: "raw-1" });
    const text = JSON.stringify({
      kind: "EventList",
      apiVersion: "audit.k8s.io/v1",
      items: [e],
    }).replace(
      '"auditID":"raw-1"',
      '"auditID":"raw-1","requestObject":{"n":1.0,"big":12345678901234567890}',
    );
    expect((await request(r, { body: text })).status).toBe(200);
    const { encodeEvent } = await import("@kaudit/api");
    expect(encodeEvent(got[0]!.events[0]!)).toContain(
      '"requestObject":{"n":1.0,"big":12345678901234567890}',
    );
  });

  it("a batch sent again (a retry after a lost 200) is counted as duplicated, not handed over twice", async () => {
    const { r, got } = await receiver();
    const body = list([event(), event()]);
    expect((await request(r, { body })).status).toBe(200);
    expect((await request(r, { body })).status).toBe(200);
    expect(got.length).toBe(1);
    expect(r.stats.duplicated).toBe(2);
  });

  it("iterating: a batch is acknowledged when the loop asks for the next one", async () => {
    const r = await createWebhookReceiver({
      path: "/audit",
      tls: { cert: pki.serverCert, key: pki.serverKey, clientCA: pki.caCert },
    });
    open.push(r);
    const first = request(r, { body: list([event()]) });
    const it = r[Symbol.asyncIterator]();
    const b = await it.next();
    expect(b.value.events.length).toBe(1);
    let answered = false;
    void first.then(() => {
      answered = true;
    });
    await new Promise((res) => setTimeout(res, 100));
    expect(answered).toBe(false);
    const second = it.next();
    expect((await first).status).toBe(200);
    await it.return?.();
    expect((await second).done).toBe(true);
  });
});

describe("createWebhookReceiver with @kaudit/sinks' webhook sink", () => {
  it("receives 100,000 events from a batching mTLS sink, each exactly once", async () => {
    const ids = new Set<string>();
    let dup = 0;
    const { r } = await receiver({
      onEvents: ({ events }) => {
        for (const e of events) {
          if (ids.has(e.auditID)) dup++;
          ids.add(e.auditID);
        }
      },
    });
    const sink = buffered(
      createWebhookSink({ kubeconfig: kubeconfig(r.url), initialBackoff: 200 }),
      {
        throttleEnable: false,
        maxBatchWait: 50,
        bufferSize: 200_000,
      },
    );
    const sent: string[] = [];
    const base = event();
    for (let i = 0; i < 100_000; i++) {
      const id = `sink-${i}`;
      sent.push(id);
      sink.processEvents([{ ...base, auditID: id }]);
    }
    await sink.shutdown();
    expect(dup).toBe(0);
    expect(r.stats.throttled).toBe(0);
    expect(ids.size).toBe(100_000);
    expect(r.stats.read).toBe(100_000);
    expect(r.stats.dropped).toBe(0);
  }, 60_000);

  it("a consumer that stalls for 5 s causes 429s with Retry-After, and still nothing is lost", async () => {
    const ids = new Set<string>();
    let stalled = false;
    const { r } = await receiver({
      queueTimeout: 300,
      retryAfter: 1,
      onEvents: async ({ events }) => {
        if (!stalled) {
          stalled = true;
          await new Promise((res) => setTimeout(res, 5000));
        }
        for (const e of events) ids.add(e.auditID);
      },
    });
    const sink = buffered(
      createWebhookSink({ kubeconfig: kubeconfig(r.url), initialBackoff: 200 }),
      {
        throttleEnable: false,
        maxBatchWait: 20,
        maxBatchSize: 100,
      },
    );
    const base = event();
    for (let i = 0; i < 5000; i++) sink.processEvents([{ ...base, auditID: `stall-${i}` }]);
    await sink.shutdown();
    expect(r.stats.throttled).toBeGreaterThan(0);
    expect(ids.size).toBe(5000);
    expect(r.stats.read).toBe(5000);
  }, 60_000);
});
