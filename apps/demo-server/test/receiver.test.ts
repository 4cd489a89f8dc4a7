import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

  it("refuses a client without a certificate at the TLS handshake", async () => {
    await expect(post(r, "{}", { ca: creds.ca })).rejects.toThrow();
  });

  it.each([
    ["not JSON", "{", 400, "invalid JSON"],
    ["not an EventList", '{"kind":"Event"}', 400, "expected an audit.k8s.io EventList"],
  ])("%s → %d", async (_n, body, status, msg) => {
    const res = await post(r, body, creds);
    expect(res.status).toBe(status);
    expect(JSON.parse(res.body).message).toContain(msg);
  });

  it("GET is 405", async () => {
    expect((await post(r, "", creds, "GET")).status).toBe(405);
  });
});
