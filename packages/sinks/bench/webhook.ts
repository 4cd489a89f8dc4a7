/**
 * Webhook delivery (issue 19 goal 3): 100,000 Metadata events through
 * `buffered(createWebhookSink(…))` (throttle off, batches of 400, 8 requests in flight) to a
 * loopback receiver in a child process, raced in the same run against a client that
 * `JSON.stringify`s each 400-event EventList and POSTs it over a keep-alive agent with 8
 * requests in flight, to the same receiver. A third contestant, `encodeEvent` + POST, shows
 * what kube's exact bytes cost without the queue. Rounds alternate the contestants (a warm-up
 * round first); each ratio is the median over rounds. The receiver counts the items of every
 * body and the most requests it had open at once, so "0 lost" and "the same number of requests
 * in flight" are measured, not assumed. Prints events/s, ratios, loss and the load average.
 */
import { type ChildProcess, spawn } from "node:child_process";
import http from "node:http";
import os from "node:os";
import { fileURLToPath } from "node:url";
import type { Event } from "@kaudit/api";
import { encodeEvent, eventListBody } from "../src/encode";
import { buffered, createWebhookSink, type SinkReport } from "../src/index";

const N = 100_000;
const BATCH = 400;
const IN_FLIGHT = 8;
const ROUNDS = Number(process.env.WEBHOOK_BENCH_ROUNDS ?? 7);

/** Metadata events as the middleware builds them (no kind/apiVersion: the EventList has them). */
export function makeEvents(n: number): Event[] {
  return Array.from(
    { length: n },
    (_, i): Event => ({
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
    }),
  );
}

/**
 * The receiver, run as a child process (its own event loop and core, like a real receiver):
 * counts the items of each EventList without parsing (one `"auditID":` per event), the requests,
 * and the most requests open at once; answers 200 once the body is read, so every 2xx has been
 * counted by then.
 */
const RECEIVER = `
const http = require("node:http");
let items = 0, requests = 0, open = 0, peak = 0;
const server = http.createServer((req, res) => {
  open++; if (open > peak) peak = open;
  let n = 0, tail = "";
  req.setEncoding("latin1");
  req.on("data", (chunk) => {
    const text = tail + chunk;
    let i = text.indexOf('"auditID":');
    while (i !== -1) { n++; i = text.indexOf('"auditID":', i + 10); }
    tail = text.slice(-9);
  });
  req.on("end", () => {
    items += n; requests++; open--;
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end("{}");
  });
});
server.keepAliveTimeout = 30000;
server.listen(0, "127.0.0.1", () => process.send({ port: server.address().port }));
process.on("message", (m) => {
  if (m === "take") {
    const c = process.cpuUsage();
    process.send({ items, requests, peak, cpu: (c.user + c.system) / 1000 });
    items = 0; requests = 0; peak = 0;
  }
  if (m === "close") { server.close(); server.closeAllConnections(); process.disconnect(); }
});
`;

interface Tally {
  items: number;
  requests: number;
  peak: number;
  /** The receiver's CPU time so far, ms. */
  cpu: number;
}

export async function receiver() {
  const child: ChildProcess = spawn(process.execPath, ["-e", RECEIVER], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const next = <T>() => new Promise<T>((r) => child.once("message", (m) => r(m as T)));
  const { port } = await next<{ port: number }>();
  return {
    url: `http://127.0.0.1:${port}/audit`,
    async take(): Promise<Tally> {
      const reply = next<Tally>();
      child.send("take");
      return reply;
    },
    async close() {
      const exited = new Promise((r) => child.once("exit", r));
      child.send("close");
      await exited;
    },
  };
}

const yieldNow = () => new Promise<void>((r) => setImmediate(r));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** kaudit: one processEvents call per event, as the audit filter makes them. */
export async function kaudit(url: string, events: Event[]): Promise<number> {
  const sink = buffered(
    createWebhookSink({
      kubeconfig: { clusters: [{ cluster: { server: url } }] },
      allowInsecureHttp: true,
      maxInFlight: IN_FLIGHT,
    }),
    { throttleEnable: false },
  );
  let lost = 0;
  const count = (r: SinkReport) => {
    lost += r.events.length;
  };
  sink.on("drop", count);
  sink.on("error", count);
  for (let i = 0; i < events.length; i++) {
    sink.processEvents([events[i]!]);
    // an API server produces events as requests arrive: let the sink's I/O run in between, and
    // stay below the queue's 10,000 (a full queue drops, which would be counted as lost) by
    // sleeping, not spinning: a spin would bill its CPU to the sink
    if (i % 1000 === 999) {
      await yieldNow();
      while (sink.queued > 8000) await sleep(1);
    }
  }
  await sink.shutdown();
  return lost;
}

/** The baseline's client: `IN_FLIGHT` loops POSTing bodies over one keep-alive agent. */
export async function postAll(url: string, body: (batch: number) => string): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  const target = new URL(url);
  const batches = Math.ceil(N / BATCH);
  let next = 0;
  const post = (text: string) =>
    new Promise<void>((resolve, reject) => {
      const req = http.request(
        target,
        {
          method: "POST",
          agent,
          headers: {
            "Content-Type": "application/json",
            "Content-Length": Buffer.byteLength(text),
          },
        },
        (res) => {
          res.resume();
          res.on("end", () =>
            res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`)),
          );
        },
      );
      req.on("error", reject);
      req.end(text);
    });
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < batches) await post(body(next++));
    }),
  );
  agent.destroy();
}

export const stringifyList = (events: Event[]) => (b: number) =>
  JSON.stringify({
    kind: "EventList",
    apiVersion: "audit.k8s.io/v1",
    metadata: {},
    items: events.slice(b * BATCH, (b + 1) * BATCH),
  });

const encodeList = (events: Event[]) => (b: number) =>
  eventListBody(events.slice(b * BATCH, (b + 1) * BATCH).map(encodeEvent));

/** Wall time and this process's CPU time (ms) of one contestant's round. */
async function time(fn: () => Promise<number>): Promise<{ ms: number; cpu: number; lost: number }> {
  const c = process.cpuUsage();
  const t = process.hrtime.bigint();
  const lost = await fn();
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  const d = process.cpuUsage(c);
  return { ms, cpu: (d.user + d.system) / 1000, lost };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export interface WebhookBenchResult {
  /** Median over rounds of kaudit's throughput / the stringify client's (wall time). */
  ratio: number;
  /** The same for this process's CPU time per event (stringify client's / kaudit's). */
  cpuRatio: number;
  /** Median kaudit / (encodeEvent + POST) throughput ratio. */
  ratioEncoded: number;
  /** Events the receiver did not count, or reported dropped, over all kaudit rounds. */
  lost: number;
}

type Name = "kaudit" | "stringify" | "encoded";
const NAMES: readonly Name[] = ["kaudit", "stringify", "encoded"];
const LABEL: Record<Name, string> = {
  kaudit: "buffered(createWebhookSink(…)), throttle off",
  stringify: "JSON.stringify(EventList of 400) + POST",
  encoded: "encodeEvent each + EventList + POST",
};

/** Runs the benchmark and prints its results. */
export async function run(): Promise<WebhookBenchResult> {
  const events = makeEvents(N);
  const rx = await receiver();
  const per = () => ({
    kaudit: [] as number[],
    stringify: [] as number[],
    encoded: [] as number[],
  });
  const wall = per();
  const cpu = per();
  const rxCpu = per();
  const lost = { kaudit: 0, stringify: 0, encoded: 0 };
  const peaks = { kaudit: 0, stringify: 0, encoded: 0 };
  const requests = { kaudit: 0, stringify: 0, encoded: 0 };
  const vsStringify: number[] = [];
  const cpuVsStringify: number[] = [];
  const vsEncoded: number[] = [];
  const load = os.loadavg()[0]!;
  let rxBefore = (await rx.take()).cpu;
  try {
    for (let r = 0; r <= ROUNDS; r++) {
      const round = {} as Record<Name, { ms: number; cpu: number }>;
      // alternate who goes first, so a load spike does not always hit the same contestant
      const order = r % 2 ? [...NAMES].reverse() : NAMES;
      for (const name of order) {
        const t = await time(async () => {
          if (name === "kaudit") return kaudit(rx.url, events);
          await postAll(rx.url, name === "stringify" ? stringifyList(events) : encodeList(events));
          return 0;
        });
        const tally = await rx.take();
        round[name] = t;
        const rxUsed = tally.cpu - rxBefore;
        rxBefore = tally.cpu;
        if (r === 0) continue; // warm-up
        wall[name].push(t.ms);
        cpu[name].push(t.cpu);
        rxCpu[name].push(rxUsed);
        lost[name] += N - tally.items + t.lost;
        peaks[name] = Math.max(peaks[name], tally.peak);
        requests[name] = tally.requests;
      }
      if (r === 0) continue;
      vsStringify.push(round.stringify.ms / round.kaudit.ms);
      cpuVsStringify.push(round.stringify.cpu / round.kaudit.cpu);
      vsEncoded.push(round.encoded.ms / round.kaudit.ms);
    }
  } finally {
    await rx.close();
  }
  const rounds = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(" ");
  const result: WebhookBenchResult = {
    ratio: median(vsStringify),
    cpuRatio: median(cpuVsStringify),
    ratioEncoded: median(vsEncoded),
    lost: lost.kaudit,
  };
  console.log(
    `\nwebhook: ${N} Metadata events per round, batches of ${BATCH}, ${IN_FLIGHT} requests in flight, ` +
      `receiver in a child process, ${ROUNDS} rounds (+1 warm-up), ${os.cpus().length} cores, ` +
      `load average ${load.toFixed(2)} → ${os.loadavg()[0]!.toFixed(2)}`,
  );
  console.table(
    NAMES.map((n) => ({
      contestant: LABEL[n],
      "events/s": Math.round(N / (median(wall[n]) / 1000)),
      "sender CPU µs/event": Number(((median(cpu[n]) * 1000) / N).toFixed(2)),
      "receiver CPU µs/event": Number(((median(rxCpu[n]) * 1000) / N).toFixed(2)),
      requests: requests[n],
      "peak in flight": peaks[n],
      lost: lost[n],
    })),
  );
  console.log(
    `ratio kaudit / (JSON.stringify + POST), throughput: ${result.ratio.toFixed(2)}× ` +
      `(rounds ${rounds(vsStringify)}; target ≥ 0.8×, 0 lost: ${result.ratio >= 0.8 && result.lost === 0 ? "met" : "NOT met"})`,
  );
  console.log(
    `ratio kaudit / (JSON.stringify + POST), sender CPU per event: ${result.cpuRatio.toFixed(2)}× (rounds ${rounds(cpuVsStringify)})`,
  );
  console.log(
    `ratio kaudit / (encodeEvent + POST), throughput: ${result.ratioEncoded.toFixed(2)}× (rounds ${rounds(vsEncoded)}; ` +
      "the cost of the queue and batching alone)",
  );
  return result;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await run();
