/**
 * Webhook throughput: 100,000 Metadata events through buffered(webhook) (throttle off, batches
 * of 400) to a loopback receiver, against a baseline that POSTs the same events as pre-encoded
 * EventList bodies of 400 over a keep-alive agent with the same concurrency. Both talk to the
 * same receiver in this process. Prints events/s, the ratio, and the events lost (must be 0).
 */
import http from "node:http";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import type { Event } from "@kaudit/api";
import { Bench } from "tinybench";
import { encodeEvent, eventListBody } from "../src/encode";
import { buffered, createWebhookSink, type SinkReport } from "../src/index";

const N = 100_000;
const BATCH = 400;
const CONCURRENCY = 64;

function makeEvents(n: number): Event[] {
  return Array.from(
    { length: n },
    (_, i) =>
      ({
        kind: "Event",
        apiVersion: "audit.k8s.io/v1",
        level: "Metadata",
        auditID: `7e2d1c5a-0000-4000-8000-${String(i).padStart(12, "0")}`,
        stage: "ResponseComplete",
        requestURI: "/api/v1/namespaces/kube-system/configmaps/kube-root-ca.crt",
        verb: "get",
        user: {
          username: "system:serviceaccount:kube-system:coredns",
          uid: "b5b4b6d0-1d5b-4c8f-9a3e-3c0b8f0b1e2a",
          groups: [
            "system:serviceaccounts",
            "system:serviceaccounts:kube-system",
            "system:authenticated",
          ],
        },
        sourceIPs: ["10.244.0.3"],
        userAgent: "coredns/v0.0.0 (linux/amd64) kubernetes/$Format",
        objectRef: {
          resource: "configmaps",
          namespace: "kube-system",
          name: "kube-root-ca.crt",
          apiVersion: "v1",
        },
        responseStatus: { metadata: {}, code: 200 },
        requestReceivedTimestamp: "2026-11-22T10:04:05.123456Z",
        stageTimestamp: "2026-11-22T10:04:05.125001Z",
        annotations: {
          "authorization.k8s.io/decision": "allow",
          "authorization.k8s.io/reason": 'RBAC: allowed by ClusterRoleBinding "system:coredns"',
        },
      }) as Event,
  );
}

/**
 * A receiver that counts the items of each EventList (without parsing, so it stays cheap), in a
 * worker thread: like a real receiver it does not share the sink's event loop.
 */
const RECEIVER = `
const http = require("node:http");
const { parentPort } = require("node:worker_threads");
let items = 0;
const server = http.createServer((req, res) => {
  let n = 0;
  let tail = "";
  req.setEncoding("utf8");
  req.on("data", (chunk) => {
    const text = tail + chunk;
    let i = text.indexOf('"auditID":');
    while (i !== -1) { n++; i = text.indexOf('"auditID":', i + 10); }
    tail = text.slice(-9);
  });
  req.on("end", () => {
    items += n;
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end("{}");
  });
});
server.keepAliveTimeout = 30000;
server.listen(0, "127.0.0.1", () => parentPort.postMessage({ port: server.address().port }));
parentPort.on("message", (m) => {
  if (m === "take") { parentPort.postMessage({ items }); items = 0; }
  if (m === "close") { server.close(); server.closeAllConnections(); parentPort.close(); }
});
`;

async function receiver() {
  const worker = new Worker(RECEIVER, { eval: true });
  const next = () => new Promise<Record<string, number>>((r) => worker.once("message", r));
  const { port } = await next();
  return {
    url: `http://127.0.0.1:${port}/audit`,
    async take(): Promise<number> {
      const reply = next();
      worker.postMessage("take");
      return (await reply).items!;
    },
    async close() {
      worker.postMessage("close");
      await new Promise((r) => worker.once("exit", r));
    },
  };
}

const yieldNow = () => new Promise<void>((r) => setImmediate(r));

/** Runs the benchmark; returns the rows it printed. */
export async function run(): Promise<{ name: string; eventsPerSecond: number; lost: number }[]> {
  const events = makeEvents(N);
  const rx = await receiver();
  // the receiver answers once it has read the body, so every 2xx has been counted by then
  const lost: Record<string, number> = { kaudit: 0, baseline: 0, encoded: 0 };
  const bench = new Bench({ iterations: 5, time: 0, warmupIterations: 1, warmupTime: 0 });

  bench.add("kaudit buffered<webhook> (throttle off)", async () => {
    const sink = buffered(
      createWebhookSink({
        kubeconfig: { clusters: [{ cluster: { server: rx.url } }] },
        allowInsecureHttp: true,
        maxInFlight: CONCURRENCY,
      }),
      { throttleEnable: false },
    );
    let dropped = 0;
    const count = (r: SinkReport) => {
      dropped += r.events.length;
    };
    sink.on("drop", count);
    sink.on("error", count);
    for (let i = 0; i < N; i++) {
      sink.processEvents([events[i]!]);
      // an API server produces events as requests arrive; let the sink's I/O run in between
      if (i % 1000 === 999) {
        await yieldNow();
        while (sink.queued > 8000) await yieldNow();
      }
    }
    await sink.shutdown();
    lost.kaudit += N - (await rx.take()) + dropped;
  });

  // Pre-encoded once, outside the timing: the baseline measures only HTTP.
  const bodies: Buffer[] = [];
  for (let i = 0; i < N; i += BATCH) {
    bodies.push(Buffer.from(eventListBody(events.slice(i, i + BATCH).map(encodeEvent))));
  }
  bench.add("baseline: raw http POSTs of pre-encoded EventLists", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const url = new URL(rx.url);
    let next = 0;
    const post = (body: Buffer) =>
      new Promise<void>((resolve, reject) => {
        const req = http.request(
          url,
          {
            method: "POST",
            agent,
            headers: { "Content-Type": "application/json", "Content-Length": body.length },
          },
          (res) => {
            res.resume();
            res.on("end", () => resolve());
          },
        );
        req.on("error", reject);
        req.end(body);
      });
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < bodies.length) await post(bodies[next++]!);
      }),
    );
    agent.destroy();
    lost.baseline += N - (await rx.take());
  });

  bench.add("baseline: encodeEvent + raw http POSTs", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const url = new URL(rx.url);
    let next = 0;
    const post = (body: Buffer) =>
      new Promise<void>((resolve, reject) => {
        const req = http.request(
          url,
          {
            method: "POST",
            agent,
            headers: { "Content-Type": "application/json", "Content-Length": body.length },
          },
          (res) => {
            res.resume();
            res.on("end", () => resolve());
          },
        );
        req.on("error", reject);
        req.end(body);
      });
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < N) {
          const from = next;
          next += BATCH;
          await post(Buffer.from(eventListBody(events.slice(from, from + BATCH).map(encodeEvent))));
        }
      }),
    );
    agent.destroy();
    lost.encoded += N - (await rx.take());
  });

  await bench.run();
  await rx.close();
  const rows = bench.tasks.map((t) => {
    const r = t.result as unknown as { latency?: { mean: number }; period?: number };
    const ms = r.latency?.mean ?? r.period ?? Number.NaN;
    const key = t.name.startsWith("kaudit")
      ? "kaudit"
      : t.name.includes("encodeEvent")
        ? "encoded"
        : "baseline";
    return { name: t.name, eventsPerSecond: Math.round(N / (ms / 1000)), lost: lost[key]! };
  });
  const [ours, base, encoded] = rows as [(typeof rows)[0], (typeof rows)[0], (typeof rows)[0]];
  console.log(
    `\nwebhook: ${N} Metadata events per run, batches of ${BATCH}, ${CONCURRENCY} in flight, loopback receiver`,
  );
  console.table(rows.map((r) => ({ task: r.name, "events/s": r.eventsPerSecond, lost: r.lost })));
  console.log(
    `ratio kaudit / baseline: ${(ours.eventsPerSecond / base.eventsPerSecond).toFixed(2)}× ` +
      `(target ≥ 50,000 events/s delivered, 0 lost: ${ours.eventsPerSecond >= 50_000 && ours.lost === 0 ? "met" : "NOT met"})`,
  );
  console.log(
    `ratio kaudit / (encodeEvent + raw POSTs): ${(ours.eventsPerSecond / encoded.eventsPerSecond).toFixed(2)}× ` +
      "(the cost of queueing, copying and batching alone)",
  );
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await run();
}
