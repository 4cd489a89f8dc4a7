// followLog and createWebhookReceiver against their floors, same run, alternating, best of
// ROUNDS; prints each ratio.
// - followLog vs the same file read in 256 KB chunks, split into lines, each JSON.parse'd.
// - the receiver vs a bare node:https server (same TLS and client certificate) that only
//   JSON.parses each body and answers 200; EventLists of 400 events are posted by a client in
//   a worker thread, 8 requests at a time over keep-alive connections.
import { mkdtempSync, rmSync } from "node:fs";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { createTestPki } from "../../sinks/src/testing/pki";
import { createWebhookReceiver, followLog } from "../src/index";
import { corpusLines, splitParse, writeCorpusLog } from "./corpus-log";

const SIZE = Number(process.env.BENCH_BYTES ?? 32e6);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 200_000);

const lines = corpusLines(["rbac-tool-auditgen-01.v1.jsonl", "rbac-tool-auditgen-02.v1.jsonl"]);
const dir = mkdtempSync(join(tmpdir(), "kaudit-sources-live-bench-"));

// ---- followLog ---------------------------------------------------------------------------
const file = join(dir, "audit.log");
const { n } = writeCorpusLog(file, SIZE, lines);

async function follow(): Promise<number> {
  const f = followLog(file, { from: "start", positionFile: join(dir, "pos.json") });
  let count = 0;
  for await (const item of f) {
    if ("event" in item && ++count === n) break;
  }
  rmSync(join(dir, "pos.json"), { force: true });
  return count;
}

async function race(
  name: string,
  ours: () => Promise<number>,
  floor: () => Promise<number>,
): Promise<void> {
  let best = 0;
  let bestFloor = 0;
  for (let r = 0; r < ROUNDS; r++) {
    for (const [fn, set] of [
      [floor, (v: number) => (bestFloor = Math.max(bestFloor, v))],
      [ours, (v: number) => (best = Math.max(best, v))],
    ] as const) {
      const t = performance.now();
      const count = await fn();
      set(count / ((performance.now() - t) / 1000));
    }
  }
  const k = (v: number) => `${Math.round(v).toLocaleString("en")} events/s`;
  console.log(
    `${name}: ${k(best)} vs floor ${k(bestFloor)} — ratio ${(best / bestFloor).toFixed(2)}×`,
  );
}

await race(`followLog (${(SIZE / 1e6).toFixed(0)} MB, ${n} events, position file)`, follow, () =>
  splitParse(file),
);

// ---- receiver ----------------------------------------------------------------------------
const pki = await createTestPki();
const items = lines.slice(0, 400).map((l, i) => {
  const e = JSON.parse(l);
  delete e.kind;
  delete e.apiVersion;
  e.auditID = `b-${i}`;
  return e;
});
const body = JSON.stringify({
  kind: "EventList",
  apiVersion: "audit.k8s.io/v1",
  metadata: {},
  items,
});

const client = `
const { parentPort, workerData } = require("node:worker_threads");
const https = require("node:https");
const { port, path, ca, cert, key, body, batches, perBatch } = workerData;
const agent = new https.Agent({ keepAlive: true, maxSockets: 8, ca, cert, key });
let sent = 0, done = 0, failed = 0;
const t = performance.now();
function one() {
  if (sent >= batches) return;
  const i = sent++;
  // distinct auditIDs per batch, so a receiver's duplicate check has no shortcut
  const b = body.replace(/"b-/g, '"' + i + "-");
  const req = https.request({ host: "127.0.0.1", port, path, method: "POST", agent, servername: "receiver.test",
    headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(b) } }, (res) => {
    res.resume();
    res.on("end", () => {
      if (res.statusCode !== 200) failed++;
      if (++done === batches) { agent.destroy(); parentPort.postMessage({ ms: performance.now() - t, failed }); }
      else one();
    });
  });
  req.on("error", () => { failed++; if (++done === batches) parentPort.postMessage({ ms: performance.now() - t, failed }); else one(); });
  req.end(b);
}
for (let k = 0; k < 8; k++) one();
`;

function drive(port: number, path: string): Promise<number> {
  const batches = Math.ceil(EVENTS / items.length);
  return new Promise((resolve, reject) => {
    const w = new Worker(client, {
      eval: true,
      workerData: {
        port,
        path,
        ca: pki.caCert,
        cert: pki.clientCert,
        key: pki.clientKey,
        body,
        batches,
        perBatch: items.length,
      },
    });
    w.once("message", (m: { ms: number; failed: number }) => {
      void w.terminate();
      if (m.failed > 0) reject(new Error(`${m.failed} requests failed`));
      else resolve(batches * items.length);
    });
    w.once("error", reject);
  });
}

const tls = { cert: pki.serverCert, key: pki.serverKey, clientCA: pki.caCert };
let received = 0;
const receiver = await createWebhookReceiver({
  path: "/audit",
  tls,
  onEvents: ({ events }) => {
    received += events.length;
  },
});
const bare = https.createServer(
  {
    cert: pki.serverCert,
    key: pki.serverKey,
    ca: pki.caCert,
    requestCert: true,
    rejectUnauthorized: false,
  },
  (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const list = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      received += list.items.length;
      res.writeHead(200, { "Content-Type": "application/json", "Content-Length": 2 });
      res.end("{}");
    });
  },
);
await new Promise<void>((r) => bare.listen(0, "127.0.0.1", r));
const barePort = (bare.address() as AddressInfo).port;
await race(
  `receiver (EventLists of 400, ${EVENTS} events, mTLS)`,
  () => drive(receiver.port, "/audit"),
  () => drive(barePort, "/audit"),
);
await receiver.close();
bare.close();
bare.closeAllConnections();
console.log(`(${received} events received in all)`);
rmSync(dir, { recursive: true, force: true });
