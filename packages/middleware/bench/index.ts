/**
 * Throughput of a node:http server with and without withAudit, in one run.
 *
 * Servers run in a child process (both the baseline and the audited one, on their own ports);
 * autocannon loads them from the main thread over loopback, alternating baseline and audited
 * rounds so that noise on a shared machine hits both. A tinybench race of single keep-alive
 * round trips follows. Prints requests/s and the ratios.
 *
 * Gates (issue 6): Metadata level ≥ 0.90×, RequestResponse with 4 KB JSON bodies ≥ 0.75×.
 */

import { fork } from "node:child_process";
import { once } from "node:events";
import { createWriteStream, mkdtempSync, openSync, rmSync, statSync, writeSync } from "node:fs";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Event, encodeEvent, type PolicyEvaluator, type Sink } from "@kaudit/api";
import autocannon from "autocannon";
import { Bench } from "tinybench";

const BODY_4K = JSON.stringify({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name: "bench", namespace: "default", labels: { app: "bench" } },
  data: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`key-${i}`, "v".repeat(80)])),
});
const POD_JSON = JSON.stringify({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "p", namespace: "default", uid: "7c1e", resourceVersion: "1" },
  spec: { containers: [{ name: "c", image: "nginx" }] },
});

// The built package (turbo builds before bench), as users get it; the sources when not built.
const { withAudit, logRequestObject, logResponseObject } = (await import(
  "@kaudit/middleware"
).catch(() => import("../src/index"))) as typeof import("../src/index");

/**
 * A minimal append-only JSON-lines file sink, used when @kaudit/sinks has no log sink yet:
 * encodes with @kaudit/api's encodeEvent in processEvents (the event is not ours to keep),
 * buffers lines and writes them every 64 KiB or 20 ms, like a buffered log writer.
 */
class MinimalFileSink implements Sink {
  private buf: string[] = [];
  private bytes = 0;
  private scheduled = false;
  private readonly stream;
  constructor(path: string) {
    this.stream = createWriteStream(path, { flags: "a" });
  }
  processEvents(events: readonly Event[]): boolean {
    for (const e of events) {
      // kube-apiserver's bytes, as the log backend writes them (@kaudit/api encodeEvent).
      const line = `${encodeEvent(e)}\n`;
      this.buf.push(line);
      this.bytes += line.length;
    }
    if (this.bytes > 65536) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setTimeout(() => this.flush(), 20).unref();
    }
    return true;
  }
  private flush(): void {
    this.scheduled = false;
    if (this.buf.length === 0) return;
    this.stream.write(this.buf.join(""));
    this.buf = [];
    this.bytes = 0;
  }
  async shutdown(): Promise<void> {
    this.flush();
    await new Promise<void>((r) => this.stream.end(() => r()));
  }
  toString(): string {
    return "log";
  }
}

async function makeSink(path: string): Promise<{ sink: Sink; name: string }> {
  try {
    const mod = (await import("@kaudit/sinks")) as Record<string, unknown>;
    if (typeof mod.createLogSink === "function") {
      const sink = (mod.createLogSink as (o: { path: string }) => Sink)({ path });
      return { sink, name: "@kaudit/sinks createLogSink" };
    }
  } catch {
    /* not built yet */
  }
  return { sink: new MinimalFileSink(path), name: "minimal file sink (bench-local)" };
}

const nullSink: Sink = {
  processEvents: () => true,
  shutdown: async () => {},
  toString: () => "null",
};

/**
 * A sink that encodes every event as the log sink does (`encodeEvent` + newline) and drops the
 * line: with the null sink and the log sink in the same rounds it splits auditing's added CPU
 * into the middleware's own work, the encoding, and queueing + writing the lines.
 */
const encoded = { bytes: 0 };
const encodeOnlySink: Sink = {
  processEvents: (events) => {
    for (const e of events) encoded.bytes += `${encodeEvent(e)}\n`.length;
    return true;
  },
  shutdown: async () => {},
  toString: () => "encode only",
};

function policyAt(level: "Metadata" | "RequestResponse"): PolicyEvaluator {
  return { evaluate: () => ({ level, omitStages: [], omitManagedFields: false, ruleIndex: 0 }) };
}

/** Reads the body and answers 201 with the same bytes; `then` gets them once answered. */
function echo(req: IncomingMessage, res: ServerResponse, then?: (body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    res.writeHead(201, { "Content-Type": "application/json", "Content-Length": body.length });
    res.end(body);
    then?.(body);
  });
}

/** The application handler: GET → a small Pod; POST → reads the JSON body, answers 4 KB JSON. */
function app(req: IncomingMessage, res: ServerResponse): void {
  if (req.method === "POST") {
    echo(req, res);
    return;
  }
  res.writeHead(200, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(POD_JSON),
  });
  res.end(POD_JSON);
}

/**
 * The floor's log: two pre-built events of the bench's shape per request (RequestReceived,
 * ResponseComplete), JSON.stringify'd and appended to a file in 64 KB writes; at
 * RequestResponse the ResponseComplete line also carries the request and response bytes,
 * spliced in unparsed. It decides nothing, reads no header, parses no body.
 */
function floorLog(file: string, level: "Metadata" | "RequestResponse") {
  const fd = openSync(file, "a");
  let chunk = "";
  const event = {
    kind: "Event",
    apiVersion: "audit.k8s.io/v1",
    level,
    auditID: "9d3e1f1c-0b7a-4c6e-8f1e-000000000001",
    stage: "RequestReceived",
    requestURI: "/api/v1/namespaces/default/pods/p",
    verb: "get",
    user: { username: "system:anonymous", groups: ["system:unauthenticated"] },
    sourceIPs: ["127.0.0.1"],
    userAgent: "autocannon",
    objectRef: { resource: "pods", namespace: "default", name: "p", apiVersion: "v1" },
    requestReceivedTimestamp: "2026-11-22T10:04:05.123456Z",
    stageTimestamp: "2026-11-22T10:04:05.123456Z",
  };
  const complete = {
    ...event,
    stage: "ResponseComplete",
    responseStatus: { metadata: {}, code: 200 },
  };
  const append = (line: string) => {
    chunk += line;
    if (chunk.length >= 65536) {
      writeSync(fd, chunk);
      chunk = "";
    }
  };
  return {
    received: () => append(`${JSON.stringify(event)}\n`),
    completed: (request?: string, response?: string) => {
      const line = JSON.stringify(complete);
      append(
        request === undefined
          ? `${line}\n`
          : `${line.slice(0, -1)},"requestObject":${request},"responseObject":${response}}\n`,
      );
    },
  };
}

/**
 * The floor: the least any audit logger writing kube's JSON lines must add to `app`, with no
 * middleware at all (see {@link floorLog}): an upper bound for any real middleware.
 */
function floorApp(dir: string, level: "Metadata" | "RequestResponse") {
  const log = floorLog(join(dir, `floor-${level}.log`), level);
  return (req: IncomingMessage, res: ServerResponse): void => {
    log.received();
    if (level === "RequestResponse" && req.method === "POST") {
      echo(req, res, (body) => {
        const text = body.toString("utf8");
        log.completed(text, text);
      });
      return;
    }
    app(req, res);
    log.completed();
  };
}

/**
 * A handler as kube-apiserver's are: it decodes the request's JSON and answers the object
 * encoded (here: the same object back). `decoded` sees the object before the answer is written
 * — the audited variant hands it to the middleware, as kube's handlers call LogRequestObject and
 * LogResponseObject, so the middleware captures and parses nothing itself; `answered` gets the
 * bytes both ways.
 */
function decodingApp(
  decoded?: (req: IncomingMessage, obj: unknown) => void,
  answered?: (request: string, response: string) => void,
) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const obj = JSON.parse(text) as unknown;
      decoded?.(req, obj);
      const out = JSON.stringify(obj);
      res.writeHead(201, {
        "Content-Type": "application/json",
        "Content-Length": Buffer.byteLength(out),
      });
      res.end(out);
      answered?.(text, out);
    });
  };
}

async function serverProcess(dir: string): Promise<void> {
  const meta = await makeSink(join(dir, "metadata.log"));
  const full = await makeSink(join(dir, "request-response.log"));
  const handed = await makeSink(join(dir, "request-response-handed.log"));
  const floorHanded = floorLog(join(dir, "floor-handed.log"), "RequestResponse");
  const servers = [
    http.createServer(app),
    http.createServer(withAudit(app, { sink: meta.sink, policy: policyAt("Metadata") })),
    http.createServer(withAudit(app, { sink: full.sink, policy: policyAt("RequestResponse") })),
    // The middleware alone: a sink that accepts events without encoding or writing them.
    http.createServer(withAudit(app, { sink: nullSink, policy: policyAt("Metadata") })),
    http.createServer(floorApp(dir, "Metadata")),
    http.createServer(floorApp(dir, "RequestResponse")),
    http.createServer(decodingApp()),
    http.createServer(
      withAudit(
        decodingApp((req, obj) => {
          logRequestObject(req, obj);
          logResponseObject(req, obj);
        }),
        { sink: handed.sink, policy: policyAt("RequestResponse") },
      ),
    ),
    http.createServer((req, res) => {
      floorHanded.received();
      decodingApp(undefined, floorHanded.completed)(req, res);
    }),
    // The goal-4 breakdown: the same middleware with a sink that encodes and drops the lines,
    // and (RequestResponse) with the null sink.
    http.createServer(withAudit(app, { sink: encodeOnlySink, policy: policyAt("Metadata") })),
    http.createServer(withAudit(app, { sink: nullSink, policy: policyAt("RequestResponse") })),
    http.createServer(
      withAudit(app, { sink: encodeOnlySink, policy: policyAt("RequestResponse") }),
    ),
  ];
  for (const s of servers) s.keepAliveTimeout = 60_000;
  await Promise.all(
    servers.map((s) => new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()))),
  );
  process.send?.({ ports: servers.map((s) => (s.address() as AddressInfo).port), sink: meta.name });
  // Server CPU time, so that the cost per request can be compared apart from the load generator.
  let served = 0;
  for (const s of servers) s.on("request", () => served++);
  process.on("message", async (msg) => {
    if (msg === "cpu") {
      const c = process.cpuUsage();
      process.send?.({ cpu: c.user + c.system, served });
      return;
    }
    await meta.sink.shutdown();
    await full.sink.shutdown();
    await handed.sink.shutdown();
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
    process.send?.("closed", () => process.exit(0));
  });
}

let server: ReturnType<typeof fork>;
async function serverCpu(): Promise<{ cpu: number; served: number }> {
  server.send("cpu");
  const [m] = (await once(server, "message")) as [{ cpu: number; served: number }];
  return m;
}

/** Requests/s, and the server's CPU µs per request over the round. */
async function load(port: number, post: boolean, seconds: number): Promise<number> {
  const r = await loadWithCpu(port, post, seconds);
  return r.rps;
}
const cpuPerRequest = new Map<number, number[]>();
async function loadWithCpu(port: number, post: boolean, seconds: number): Promise<{ rps: number }> {
  const c0 = await serverCpu();
  const rps = await loadOnly(port, post, seconds);
  const c1 = await serverCpu();
  const list = cpuPerRequest.get(port) ?? [];
  list.push((c1.cpu - c0.cpu) / Math.max(1, c1.served - c0.served - 2));
  cpuPerRequest.set(port, list);
  return { rps };
}

async function loadOnly(port: number, post: boolean, seconds: number): Promise<number> {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}${post ? "/api/v1/namespaces/default/configmaps" : "/api/v1/namespaces/default/pods/p"}`,
    method: post ? "POST" : "GET",
    headers: post ? { "content-type": "application/json" } : {},
    body: post ? BODY_4K : undefined,
    connections: 20,
    pipelining: 1,
    duration: seconds,
  });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`load against :${port} had ${result.non2xx} non-2xx, ${result.errors} errors`);
  return result.requests.average;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/**
 * Alternating paired rounds (baseline, audited, audited, baseline, …): each pair gives one ratio,
 * the median of them is reported, so a burst of load from other processes on the shared machine
 * spoils one pair rather than the result.
 */
async function race(
  label: string,
  basePort: number,
  auditPort: number,
  post: boolean,
  rounds: number,
  seconds: number,
) {
  const base: number[] = [];
  const audited: number[] = [];
  const ratios: number[] = [];
  await load(basePort, post, 1); // warm-up
  await load(auditPort, post, 1);
  for (let i = 0; i < rounds; i++) {
    let b: number;
    let a: number;
    if (i % 2 === 0) {
      b = await load(basePort, post, seconds);
      a = await load(auditPort, post, seconds);
    } else {
      a = await load(auditPort, post, seconds);
      b = await load(basePort, post, seconds);
    }
    base.push(b);
    audited.push(a);
    ratios.push(a / b);
  }
  const r = median(ratios);
  const cpuBase = median(cpuPerRequest.get(basePort)?.slice(-rounds) ?? []);
  const cpuAudit = median(cpuPerRequest.get(auditPort)?.slice(-rounds) ?? []);
  console.log(
    `${label.padEnd(48)} baseline ${median(base).toFixed(0).padStart(6)} req/s   audited ${median(audited).toFixed(0).padStart(6)} req/s   ratio ${r.toFixed(3)}× (median of ${rounds} pairs: ${ratios.map((x) => x.toFixed(2)).join(" ")})`,
  );
  console.log(
    `${"".padEnd(48)} server CPU per request: baseline ${cpuBase.toFixed(1)} µs, audited ${cpuAudit.toFixed(1)} µs (CPU ratio ${(cpuBase / cpuAudit).toFixed(3)}×)`,
  );
  return { ratio: r, cpuBase, cpuAudit };
}

/** The server's CPU µs per request while `port` is loaded for one round. */
async function cpuRound(port: number, post: boolean, seconds: number): Promise<number> {
  const c0 = await serverCpu();
  await loadOnly(port, post, seconds);
  const c1 = await serverCpu();
  return (c1.cpu - c0.cpu) / Math.max(1, c1.served - c0.served - 2);
}

/**
 * Goal 4 of issue 19: auditing's added server CPU per request over the floor's added CPU. Each
 * round loads the three servers back to back (the order reversed every other round), so the
 * differences audited − baseline and floor − baseline of a round come from the same few seconds
 * of a shared machine's load; the ratio of their medians is reported (a ratio per round explodes
 * when a burst of load elsewhere makes the floor's difference near zero).
 */
async function addedOverFloor(
  label: string,
  ports: { base: number; floor: number; audited: number; nullSink?: number; encodeOnly?: number },
  post: boolean,
  rounds: number,
  seconds: number,
): Promise<number> {
  const keys = (["base", "floor", "audited", "nullSink", "encodeOnly"] as const).filter(
    (k) => ports[k] !== undefined,
  );
  const added: Record<string, number[]> = {};
  const baseline: number[] = [];
  // One unmeasured round each first, so that no server's JIT warm-up lands in a measured round.
  for (const k of keys) await loadOnly(ports[k] as number, post, 1);
  for (let i = 0; i < rounds; i++) {
    const round: Record<string, number> = {};
    for (const k of i % 2 === 0 ? keys : [...keys].reverse()) {
      round[k] = await cpuRound(ports[k] as number, post, seconds);
    }
    baseline.push(round.base as number);
    for (const k of keys) {
      added[k] ??= [];
      added[k].push((round[k] as number) - (round.base as number));
    }
  }
  const ours = added.audited as number[];
  const floors = added.floor as number[];
  const r = median(ours) / median(floors);
  const us = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(" ");
  console.log(
    `${label.padEnd(48)} added CPU over the floor's ${r.toFixed(2)}×: median added µs/request ours ${median(ours).toFixed(1)} (rounds: ${us(ours)}), floor ${median(floors).toFixed(1)} (rounds: ${us(floors)}); baseline ${median(baseline).toFixed(1)} µs/request`,
  );
  if (added.nullSink && added.encodeOnly) {
    // Each server's added CPU in the same rounds: the steps between them are the middleware's
    // own work (null sink), encoding the events (encode-only sink), queueing + writing (log sink).
    console.log(
      `${"".padEnd(48)} breakdown (median added µs/request, same rounds): middleware with a null sink ${median(added.nullSink).toFixed(1)}, + encodeEvent (lines dropped) ${median(added.encodeOnly).toFixed(1)}, + log sink ${median(ours).toFixed(1)}`,
    );
  }
  return r;
}

function roundTrip(agent: http.Agent, port: number, post: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        agent,
        method: post ? "POST" : "GET",
        path: post ? "/api/v1/namespaces/default/configmaps" : "/api/v1/namespaces/default/pods/p",
        headers: post ? { "content-type": "application/json" } : {},
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve());
      },
    );
    req.on("error", reject);
    req.end(post ? BODY_4K : undefined);
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "kaudit-mw-bench-"));
  const worker = fork(fileURLToPath(import.meta.url), ["--serve", dir], {
    execArgv: process.execArgv,
  });
  server = worker;
  const [ready] = (await once(worker, "message")) as [{ ports: number[]; sink: string }];
  const [
    basePort,
    metaPort,
    fullPort,
    nullPort,
    floorMetaPort,
    floorFullPort,
    decodingPort,
    handedPort,
    floorHandedPort,
    encodeMetaPort,
    nullFullPort,
    encodeFullPort,
  ] = ready.ports as number[] as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const rounds = Number(process.env.BENCH_ROUNDS ?? 9);
  const seconds = Number(process.env.BENCH_SECONDS ?? 1);
  const loadAverage = () =>
    `${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")} on ${cpus().length} CPUs`;
  console.log(`load average at start: ${loadAverage()}`);
  console.log(
    `@kaudit/middleware bench — node ${process.version}, sink: ${ready.sink}, ${rounds}×${seconds}s rounds, 20 connections`,
  );
  // Issue 19 goal 4: Metadata and RequestResponse, each with its breakdown servers.
  const goal4Rows = async () => ({
    metadata: await addedOverFloor(
      "goal 4: Metadata, GET",
      {
        base: basePort,
        floor: floorMetaPort,
        audited: metaPort,
        nullSink: nullPort,
        encodeOnly: encodeMetaPort,
      },
      false,
      rounds,
      seconds,
    ),
    requestResponse: await addedOverFloor(
      "goal 4: RequestResponse, POST 4 KB",
      {
        base: basePort,
        floor: floorFullPort,
        audited: fullPort,
        nullSink: nullFullPort,
        encodeOnly: encodeFullPort,
      },
      true,
      rounds,
      seconds,
    ),
  });
  if (process.env.BENCH_ONLY === "goal4") {
    // Only the issue-19 goal-4 rounds (with their breakdown), for a quicker run.
    const { metadata: m, requestResponse: f } = await goal4Rows();
    worker.send("stop");
    await once(worker, "exit");
    rmSync(dir, { recursive: true, force: true });
    console.log(`load average at end: ${loadAverage()}`);
    console.log(
      `added server CPU per request over the floor's (goal ≤ 1.5): Metadata ${m.toFixed(2)}×, RequestResponse ${f.toFixed(2)}×`,
    );
    return;
  }
  const f1r = await race(
    "floor: no middleware, 2 stringified lines/request",
    basePort,
    floorMetaPort,
    false,
    rounds,
    seconds,
  );
  const f2r = await race(
    "floor: RequestResponse, bodies spliced unparsed",
    basePort,
    floorFullPort,
    true,
    rounds,
    seconds,
  );
  await race("Metadata, null sink (middleware alone)", basePort, nullPort, false, rounds, seconds);
  const r1r = await race("Metadata, GET small JSON", basePort, metaPort, false, rounds, seconds);
  const r2r = await race(
    "RequestResponse, POST 4 KB JSON, 4 KB response",
    basePort,
    fullPort,
    true,
    rounds,
    seconds,
  );

  // A decoding handler (kube's shape): the floor splices its bytes, the audited server gets the
  // handler's objects (LogRequestObject / LogResponseObject) and encodes them.
  await race(
    "floor: decoding handler, bodies spliced unparsed",
    decodingPort,
    floorHandedPort,
    true,
    rounds,
    seconds,
  );
  await race(
    "RequestResponse, decoding handler logs its objects",
    decodingPort,
    handedPort,
    true,
    rounds,
    seconds,
  );

  const [f1, f2, r1, r2] = [f1r.ratio, f2r.ratio, r1r.ratio, r2r.ratio];
  const goal = (label: string, base: number, floor: number, audited: number, post: boolean) =>
    addedOverFloor(label, { base, floor, audited }, post, rounds, seconds);
  const { metadata: added1, requestResponse: added2 } = await goal4Rows();
  const added3 = await goal(
    "goal 4: RequestResponse, decoding handler",
    decodingPort,
    floorHandedPort,
    handedPort,
    true,
  );

  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const bench = new Bench({ time: 1500, warmupTime: 300 });
  bench
    .add("round trip, no audit (GET)", () => roundTrip(agent, basePort, false))
    .add("round trip, Metadata (GET)", () => roundTrip(agent, metaPort, false))
    .add("round trip, no audit (POST 4 KB)", () => roundTrip(agent, basePort, true))
    .add("round trip, RequestResponse (POST 4 KB)", () => roundTrip(agent, fullPort, true));
  await bench.run();
  console.table(bench.table());
  agent.destroy();

  worker.send("stop");
  await once(worker, "exit");
  const metaLog = join(dir, "metadata.log");
  console.log(`audit log written: ${(statSync(metaLog).size / 1e6).toFixed(1)} MB (Metadata run)`);
  rmSync(dir, { recursive: true, force: true });
  console.log(`load average at end: ${loadAverage()}`);
  console.log(
    `ratios: Metadata ${r1.toFixed(3)}× (gate 0.90), RequestResponse 4 KB ${r2.toFixed(3)}× (gate 0.75)`,
  );
  console.log(
    `floors (no middleware, minimal logging): Metadata ${f1.toFixed(3)}×, RequestResponse ${f2.toFixed(3)}×; middleware share of the floor: Metadata ${(r1 / f1).toFixed(2)}, RequestResponse ${(r2 / f2).toFixed(2)}`,
  );
  console.log(
    `added server CPU per request over the floor's (goal ≤ 1.5): Metadata ${added1.toFixed(2)}×, RequestResponse ${added2.toFixed(2)}×; RequestResponse with a decoding handler that logs its objects ${added3.toFixed(2)}×`,
  );
  if (r1 < 0.9 || r2 < 0.75) console.log("gates not met on this run (see README)");
}

if (process.argv[2] === "--serve") await serverProcess(process.argv[3] as string);
else await main();
