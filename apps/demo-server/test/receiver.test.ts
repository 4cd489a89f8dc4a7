import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { type Receiver, startReceiver } from "../src/receiver";

interface Creds {
  ca: string;
  cert: string;
  key: string;
}

function post(r: Receiver, body: string, creds: Partial<Creds>, method = "POST") {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      r.url,
      { method, ...creds, headers: { "Content-Type": "application/json" } },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

describe("webhook receiver (mTLS, EventList → JSON lines)", () => {
  let dir: string;
  let r: Receiver;
  let creds: Creds;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "kaudit-demo-recv-"));
    r = await startReceiver({ out: join(dir, "events.jsonl"), dataDir: join(dir, "recv") });
    const kc = parse(readFileSync(r.kubeconfigFile, "utf8"));
    const b64 = (s: string) => Buffer.from(s, "base64").toString();
    creds = {
      ca: b64(kc.clusters[0].cluster["certificate-authority-data"]),
      cert: b64(kc.users[0].user["client-certificate-data"]),
      key: b64(kc.users[0].user["client-key-data"]),
    };
    expect(kc.clusters[0].cluster.server).toBe(r.url);
  });

  afterAll(async () => {
    await r?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("appends each event of an EventList as one line", async () => {
    const list = {
      kind: "EventList",
      apiVersion: "audit.k8s.io/v1",
      metadata: {},
      items: [
        { level: "Metadata", auditID: "a", stage: "ResponseComplete" },
        { level: "Metadata", auditID: "b", stage: "ResponseComplete" },
      ],
    };
    const res = await post(r, JSON.stringify(list), creds);
    expect(res.status).toBe(200);
    const lines = readFileSync(r.outFile, "utf8").trim().split("\n");
    expect(lines.map((l) => JSON.parse(l).auditID)).toEqual(["a", "b"]);
    expect([r.batches, r.events]).toEqual([1, 2]);
  });

  it("refuses a client without a certificate with 401, before reading its body", async () => {
    const res = await post(r, "{}", { ca: creds.ca });
    expect(res.status).toBe(401);
  });

  it.each([
    ["not JSON", "{", 400, "not valid JSON"],
    ["not an event", '{"kind":"Event"}', 400, "auditID and stage must be strings"],
    ["a wrong apiVersion", '{"kind":"EventList","apiVersion":"v1","items":[]}', 400, "apiVersion"],
    ["items null", '{"kind":"EventList","items":null}', 400, "items must be an array"],
    ["an item 42", '{"kind":"EventList","items":[42]}', 400, "items[0]"],
  ])("%s → %d", async (_n, body, status, msg) => {
    const res = await post(r, body, creds);
    expect(res.status).toBe(status);
    expect(JSON.parse(res.body).message).toContain(msg);
  });

  it("GET is 405", async () => {
    expect((await post(r, "", creds, "GET")).status).toBe(405);
  });

  it("a 5,000-deep event is dropped and counted; the receiver stays up (issue 12 item 1)", async () => {
    const deep = `{"kind":"EventList","items":[{"level":"Request","auditID":"deep","stage":"ResponseComplete","requestObject":${'{"a":'.repeat(5000)}1${"}".repeat(5000)}},{"level":"Metadata","auditID":"c","stage":"ResponseComplete"}]}`;
    const res = await post(r, deep, creds);
    expect(res.status).toBe(200);
    expect(r.stats.dropped).toBe(1);
    const lines = readFileSync(r.outFile, "utf8").trim().split("\n");
    expect(JSON.parse(lines.at(-1)!).auditID).toBe("c");
  });
});

describe("webhook receiver: certificates kept across restarts, limits", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "kaudit-demo-recv2-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const credsOf = (r: Receiver): Creds => {
    const kc = parse(readFileSync(r.kubeconfigFile, "utf8"));
    const b64 = (s: string) => Buffer.from(s, "base64").toString();
    return {
      ca: b64(kc.clusters[0].cluster["certificate-authority-data"]),
      cert: b64(kc.users[0].user["client-certificate-data"]),
      key: b64(kc.users[0].user["client-key-data"]),
    };
  };
  const body = JSON.stringify({
    kind: "EventList",
    apiVersion: "audit.k8s.io/v1",
    items: [{ level: "Metadata", auditID: "x", stage: "ResponseComplete" }],
  });

  it("a restarted receiver keeps its CA: the first kubeconfig still works; --regenerate-certs makes a new one", async () => {
    const o = { out: join(dir, "e.jsonl"), dataDir: join(dir, "recv") };
    const first = await startReceiver(o);
    const creds = credsOf(first);
    await first.close();
    const second = await startReceiver(o);
    expect((await post(second, body, creds)).status).toBe(200);
    await second.close();
    const third = await startReceiver({ ...o, regenerateCerts: true });
    await expect(post(third, body, creds)).rejects.toThrow(); // the old CA no longer verifies it
    expect((await post(third, body, credsOf(third))).status).toBe(200);
    await third.close();
  });

  it("a body over maxBodyBytes is 413", async () => {
    const r = await startReceiver({
      out: join(dir, "f.jsonl"),
      dataDir: join(dir, "recv"),
      maxBodyBytes: 1000,
    });
    const res = await post(
      r,
      body.replace('"items":[', `"items":[${`${body},`.repeat(10)}`),
      credsOf(r),
    );
    expect(res.status).toBe(413);
    await r.close();
  });
});

describe("kaudit-demo receiver (built CLI)", () => {
  it("takes its own --port, --bind-address and --data-dir (not the server's flags of the same names)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kaudit-demo-recv-cli-"));
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const bin = fileURLToPath(new URL("../bin/kaudit-demo.js", import.meta.url));
    const args = ["receiver", "--port", String(port), "--bind-address", "127.0.0.1"];
    const child = spawn(
      process.execPath,
      [bin, ...args, "--data-dir", join(dir, "rd"), "--out", join(dir, "o.jsonl")],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c));
    child.stderr.on("data", (c: Buffer) => (out += c));
    const exit = new Promise((r) => child.once("exit", r));
    const end = Date.now() + 20_000;
    while (!/listening on/.test(out) && Date.now() < end && child.exitCode === null)
      await new Promise((r) => setTimeout(r, 50));
    expect(out).toContain(`listening on https://127.0.0.1:${port}/audit`);
    expect(existsSync(join(dir, "rd", "ca.crt"))).toBe(true);
    child.kill("SIGTERM");
    await exit;
    expect(out).toMatch(/stopped after 0 event\(s\)/);
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);
});

describe("SIGTERM drain with the receiver down (issue 20 item 2)", () => {
  it("the webhook gives up after --audit-webhook-drain-timeout and says how many events were not delivered", async () => {
    const { startDemoServer } = await import("../src/server");
    const dir = mkdtempSync(join(tmpdir(), "kaudit-demo-drain-"));
    const r = await startReceiver({ out: join(dir, "e.jsonl"), dataDir: join(dir, "recv") });
    const server = await startDemoServer({
      flags: {
        port: 0,
        "data-dir": join(dir, "data"),
        "audit-webhook-config-file": r.kubeconfigFile,
        "audit-webhook-drain-timeout": "1s",
        "audit-webhook-batch-max-wait": "50ms",
        "audit-webhook-initial-backoff": "10s",
      },
    });
    await r.close(); // the receiver is down
    const base = { level: "Metadata", stage: "ResponseComplete", requestURI: "/", verb: "get" };
    for (let i = 0; i < 500; i++)
      server.backend?.processEvents([{ ...base, auditID: `d-${i}`, user: {} } as never]);
    await new Promise((res) => setTimeout(res, 300)); // first deliveries fail and wait 10 s to retry
    const start = Date.now();
    const { undelivered } = await server.shutdown();
    expect(Date.now() - start).toBeLessThan(8000);
    expect(undelivered).toBeGreaterThanOrEqual(500);
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);
});
