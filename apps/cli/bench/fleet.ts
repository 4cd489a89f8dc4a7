/**
 * The fleet benchmark (pnpm bench; issue 21): events/s through `kaudit watch --to-nats`
 * (collector) → a 3-node JetStream cluster, R3 stream → `kaudit watch --from-nats` (detector),
 * with one collector and one detector, then two of each, on this machine; then a simulation in
 * modelled time of how a fleet scales (more senders, partitions, collectors, detectors, nodes),
 * driven by the CPU each tier spent per event here.
 *
 * Phases per configuration, each on a fresh stream: collect (collectors follow N events from
 * log files into the stream), detect (detectors drain the filled stream with kaudit's default
 * rules), pipeline (both at once, end to end). CPU per event is read from /proc (user + system time of each process:
 * collectors, detectors, every nats-server node), so it does not depend on what else the machine
 * runs; events/s does. Both are counted from every process ready (start-up left out) to the last
 * message stored / acked. BENCH_FLEET_EVENTS sets N (default 20,000).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { partitionOf } from "@kaudit/sinks";
import {
  type NatsCluster,
  startNatsCluster,
} from "../../../packages/sinks/src/testing/nats-cluster";
import {
  consumerBacklog,
  deleteStream,
  streamInfo,
} from "../../../packages/sinks/src/testing/nats-read";
import { startWatch, type WatchProcess } from "../test/watch-helpers";

const N = Number(process.env.BENCH_FLEET_EVENTS ?? 20_000);
const PARTITIONS = 16;
const STREAM = "KAUDIT";
const DEFAULT_RULES = fileURLToPath(
  new URL("../../../packages/rules/rules/kaudit-default.yaml", import.meta.url),
);
const TICK = 100; // clock ticks per second of /proc/<pid>/stat (Linux's USER_HZ)

/** User + system CPU seconds of a process so far (0 once it is gone). */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / TICK;
  } catch {
    return 0;
  }
}

const USERS = 2000;
const IPS = 500;

/** A log of `n` events from many users and addresses (a few heavy system users, like a cluster). */
function writeLog(path: string, n: number, first: number): void {
  const t0 = Date.parse("2026-11-22T10:00:00Z");
  const lines: string[] = [];
  for (let j = 0; j < n; j++) {
    const i = first + j;
    const t = new Date(t0 + i).toISOString();
    const { user, ip } = keysOf(i);
    const code = i % 50 === 0 ? 403 : i % 61 === 0 ? 401 : 200;
    lines.push(
      JSON.stringify({
        kind: "Event",
        apiVersion: "audit.k8s.io/v1",
        level: "Metadata",
        auditID: `bench-${i}`,
        stage: "ResponseComplete",
        requestURI: `/api/v1/namespaces/ns-${i % 17}/pods/p-${i % 101}`,
        verb: "get",
        user: { username: user, groups: ["system:authenticated"] },
        sourceIPs: [ip],
        userAgent: "bench/1.0",
        objectRef: {
          resource: "pods",
          namespace: `ns-${i % 17}`,
          name: `p-${i % 101}`,
          apiVersion: "v1",
        },
        responseStatus: { metadata: {}, code },
        requestReceivedTimestamp: t,
        stageTimestamp: t,
      }),
    );
  }
  writeFileSync(path, `${lines.join("\n")}\n`);
}

async function until(what: string, f: () => Promise<boolean>, ms = 300_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Phase {
  seconds: number;
  eventsPerSecond: number;
  /** CPU seconds per event of each tier (summed over its processes / nodes). */
  cpu: { collector: number; stream: number; streamMaxNode: number; detector: number };
}

async function run(
  cluster: NatsCluster,
  dir: string,
  files: string[],
  tiers: { collectors: number; detectors: number },
  phase: "collect" | "detect" | "pipeline",
  tag: string,
): Promise<Phase> {
  const nats = [
    "--nats-partitions",
    String(PARTITIONS),
    "--nats-stream",
    STREAM,
    "--nats-replicas",
    "3",
  ];
  const procs: { w: WatchProcess; tier: "collector" | "detector" }[] = [];
  if (phase !== "detect") {
    const groups = tiers.collectors === 1 ? [files] : files.map((f) => [f]);
    for (const [i, g] of groups.entries()) {
      const args = ["--to-nats", cluster.servers, ...nats, "--from", "start"];
      args.push("--position-file", join(dir, `${tag}-c${i}.pos`));
      for (const f of g) args.push("--follow", f);
      procs.push({ w: startWatch(args, dir), tier: "collector" });
    }
  }
  const consumers: string[] = [];
  if (phase !== "collect") {
    const per = PARTITIONS / tiers.detectors;
    for (let i = 0; i < tiers.detectors; i++) {
      const name = `${tag}-d${i}`;
      consumers.push(name);
      const assign = `${i * per}-${(i + 1) * per - 1}`;
      const args = ["--from-nats", cluster.servers, ...nats, "--rules", DEFAULT_RULES];
      args.push(
        "--nats-consumer",
        name,
        "--nats-assign",
        assign,
        "--alerts-out",
        join(dir, `${name}.jsonl`),
      );
      procs.push({ w: startWatch(args, dir), tier: "detector" });
    }
  }
  // Steady state: from every process ready (start-up CPU left out) to the last message.
  await Promise.all(
    procs.map((p) =>
      p.w.waitFor(p.tier === "collector" ? /following/ : /reading partitions/, 120_000),
    ),
  );
  const start = procs.map((p) => cpuSeconds(p.w.child.pid));
  const nodes0 = cluster.pids().map(cpuSeconds);
  const t0 = performance.now();
  const cpu = { collector: 0, stream: 0, streamMaxNode: 0, detector: 0 };
  const sample = () => {
    for (const p of procs) {
      const s = cpuSeconds(p.w.child.pid);
      (p as { last?: number }).last = s || (p as { last?: number }).last;
    }
  };
  await until(`${phase} of ${N} events`, async () => {
    sample();
    const info = await streamInfo(cluster.urls, STREAM).catch(() => undefined);
    if (!info || info.state.messages < 2 * N) return false;
    if (phase === "collect") return true;
    const backlog = (await consumerBacklog(cluster.urls, STREAM)).filter((c) =>
      consumers.some((n) => c.name.startsWith(`${n}_`)),
    );
    return (
      backlog.length === 2 * PARTITIONS && backlog.every((c) => c.pending === 0 && c.unacked === 0)
    );
  });
  const seconds = (performance.now() - t0) / 1000;
  sample();
  procs.forEach((p, i) => {
    cpu[p.tier] += (((p as { last?: number }).last ?? 0) - start[i]!) / N;
  });
  const nodeCpu = cluster.pids().map((pid, i) => (cpuSeconds(pid) - nodes0[i]!) / N);
  cpu.stream = nodeCpu.reduce((a, b) => a + b, 0);
  cpu.streamMaxNode = Math.max(...nodeCpu);
  await Promise.all(procs.map((p) => p.w.stop("SIGTERM")));
  return { seconds, eventsPerSecond: N / seconds, cpu };
}

// --- the simulation --------------------------------------------------------------------------

interface Scenario {
  name: string;
  senders: number;
  /** Events/s each sender offers (one kube-apiserver of a 5,000-node cluster: 6,000/s). */
  rate: number;
  collectors: number;
  partitions: number;
  detectors: number;
  /** Streams the partitions are split over (one stream = one RAFT leader takes every write). */
  streams: number;
  nodes: number;
}

/**
 * Keys of the i-th event of the bench's log (and of the simulation's population): one event in
 * four is one of 7 controllers' (heavy keys, as in a real cluster), the rest spread over USERS
 * users; source IPs over IPS addresses.
 */
function keysOf(i: number): { user: string; ip: string } {
  const user =
    i % 4 === 0 ? `system:serviceaccount:kube-system:ctrl-${i % 7}` : `user-${(i * 7919) % USERS}`;
  const ip = (i * 31) % IPS;
  return { user, ip: `10.1.${ip >> 8}.${ip & 255}` };
}

/**
 * A discrete-time simulation (1 ms steps of modelled time, 20 s) of a fleet in which every
 * collector and detector has a core of its own and every NATS node a machine. Senders offer
 * events; collectors get through as many as their measured CPU per event allows in a step; the
 * stream tier as many as its busiest node allows (R3: each stream's leader and two followers,
 * streams placed round-robin over the nodes, leader and follower CPU per event as measured);
 * each detector the messages of its partitions (user family and IP family, keys hashed as the
 * fleet hashes them over the bench's population, where a few controllers are heavy — so the
 * heaviest partition bounds the detector tier). Queues carry the rest over. Returns the events/s
 * evaluated over the last 10 s and the tier that was saturated most.
 */
function simulate(
  s: Scenario,
  cost: { collector: number; leader: number; follower: number; detector: number },
) {
  const userShare = new Array<number>(s.partitions).fill(0);
  const ipShare = new Array<number>(s.partitions).fill(0);
  const sample = 20_000;
  for (let i = 0; i < sample; i++) {
    const k = keysOf(i);
    userShare[partitionOf(k.user, s.partitions)]! += 1 / sample;
    ipShare[partitionOf(k.ip, s.partitions)]! += 1 / sample;
  }
  // Partitions dealt to detectors in contiguous ranges, as --nats-assign 0-7 / 8-15 does.
  const owner = (p: number) => Math.floor((p * s.detectors) / s.partitions);
  const load = new Array<number>(s.detectors).fill(0);
  for (let p = 0; p < s.partitions; p++) load[owner(p)]! += (userShare[p]! + ipShare[p]!) / 2;
  // Stream tier: CPU per event on each node; its capacity is what the busiest node allows.
  const perNode = new Array<number>(s.nodes).fill(0);
  for (let k = 0; k < s.streams; k++) {
    perNode[k % s.nodes]! += cost.leader / s.streams;
    for (let f = 1; f <= 2; f++) perNode[(k + f) % s.nodes]! += cost.follower / s.streams;
  }
  const streamCapacity = 1 / Math.max(...perNode);
  const dt = 0.001;
  const steps = 20_000;
  let qCollect = 0;
  let qStream = 0;
  const qDetect = new Array<number>(s.detectors).fill(0);
  let evaluated = 0;
  const busy = { collectors: 0, stream: 0, detectors: 0 };
  const full = (x: number, cap: number) => x >= cap - 1e-9;
  for (let step = 0; step < steps; step++) {
    const measuring = step >= steps / 2;
    qCollect += s.senders * s.rate * dt;
    const cCap = (s.collectors * dt) / cost.collector;
    const c = Math.min(qCollect, cCap);
    qCollect -= c;
    qStream += c;
    const sCap = streamCapacity * dt;
    const x = Math.min(qStream, sCap);
    qStream -= x;
    let dFull = false;
    for (let d = 0; d < s.detectors; d++) {
      qDetect[d]! += x * load[d]!;
      const dCap = dt / cost.detector;
      const y = Math.min(qDetect[d]!, dCap);
      qDetect[d]! -= y;
      if (measuring) evaluated += y;
      dFull ||= full(y, dCap);
    }
    if (measuring) {
      if (full(c, cCap)) busy.collectors++;
      if (full(x, sCap)) busy.stream++;
      if (dFull) busy.detectors++;
    }
  }
  // The tier with the least capacity bounds the fleet; the simulation must agree with it.
  const capacity: [string, number][] = [
    ["senders", s.senders * s.rate],
    ["collectors", s.collectors / cost.collector],
    ["stream leaders", streamCapacity],
    ["busiest detector", 1 / (cost.detector * Math.max(...load))],
  ];
  const bound = capacity.sort((a, b) => a[1] - b[1])[0]!;
  return {
    eventsPerSecond: evaluated / ((steps / 2) * dt),
    bound: `${bound[0]} (${Math.round(bound[1]).toLocaleString("en-US")}/s)`,
    saturatedSteps: busy,
    heaviestDetector: Math.max(...load),
  };
}

// --- main --------------------------------------------------------------------------------------

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const us = (s: number) => `${(s * 1e6).toFixed(1)} µs`;

/** Prints the simulation's scenarios for the measured CPU per event (seconds) of each tier. */
function printSimulation(m: {
  collector: number;
  stream: number;
  leader: number;
  detector: number;
}) {
  const cost = {
    collector: m.collector,
    leader: m.leader,
    follower: (m.stream - m.leader) / 2,
    detector: m.detector,
  };
  const sc = (
    name: string,
    senders: number,
    collectors: number,
    partitions: number,
    detectors: number,
    streams: number,
    nodes: number,
  ): Scenario => ({
    name,
    senders,
    rate: 6000,
    collectors,
    partitions,
    detectors,
    streams,
    nodes,
  });
  const scenarios: Scenario[] = [
    sc("1 sender, 1+1, 3 nodes", 1, 1, 16, 1, 1, 3),
    sc("8 senders, 2+2, 3 nodes", 8, 2, 16, 2, 1, 3),
    sc("8 senders, 4+4, 3 nodes", 8, 4, 16, 4, 1, 3),
    sc("32 senders, 16+16, 3 nodes", 32, 16, 16, 16, 1, 3),
    sc("32 senders, 16+16, 5 nodes", 32, 16, 16, 16, 1, 5),
    // kaudit runs one stream per fleet; these show what splitting the partitions over
    // several streams (each its own RAFT leader) would give.
    sc("32 senders, 16+16, 6 nodes, 4 streams*", 32, 16, 64, 16, 4, 6),
    sc("32 senders, 32+32, 9 nodes, 9 streams*", 32, 32, 144, 32, 9, 9),
  ];
  console.log(
    "simulation (modelled time; one core per collector/detector, one machine per NATS node; senders offer 6,000 events/s each; * = several streams, not what kaudit does today):",
  );
  const base = simulate(scenarios[0]!, cost).eventsPerSecond;
  for (const s of scenarios) {
    const r = simulate(s, cost);
    console.log(
      `  ${s.name.padEnd(40)} offered ${fmt(s.senders * s.rate).padStart(8)}/s → ${fmt(r.eventsPerSecond).padStart(8)} events/s (${(r.eventsPerSecond / base).toFixed(2)}x), bound: ${r.bound}; busiest detector gets ${(r.heaviestDetector * 100).toFixed(1)} % of the messages`,
    );
  }
}

async function main() {
  // BENCH_FLEET_COSTS="collector,stream,leader,detector" (µs per event, as a run printed them)
  // runs the simulation alone.
  const given = process.env.BENCH_FLEET_COSTS?.split(",").map((x) => Number(x) / 1e6);
  if (given?.length === 4 && given.every((x) => x > 0)) {
    const [collector, stream, leader, detector] = given as [number, number, number, number];
    printSimulation({ collector, stream, leader, detector });
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "kaudit-bench-fleet-"));
  const cluster = await startNatsCluster({ nodes: 3 });
  try {
    const files = [join(dir, "a.log"), join(dir, "b.log")];
    writeLog(files[0]!, N / 2, 0);
    writeLog(files[1]!, N / 2, N / 2);
    const load0 = loadavg();
    const results: Record<string, Record<string, Phase>> = {};
    for (const tiers of [
      { collectors: 1, detectors: 1 },
      { collectors: 2, detectors: 2 },
    ]) {
      const key = `${tiers.collectors}x${tiers.detectors}`;
      results[key] = {};
      await deleteStream(cluster.urls, STREAM);
      results[key]!.collect = await run(cluster, dir, files, tiers, "collect", `${key}-c`);
      results[key]!.detect = await run(cluster, dir, files, tiers, "detect", `${key}-d`);
      await deleteStream(cluster.urls, STREAM);
      for (const f of readdirPositions(dir)) rmSync(f, { force: true });
      results[key]!.pipeline = await run(cluster, dir, files, tiers, "pipeline", `${key}-p`);
    }
    const load1 = loadavg();
    const one = results["1x1"]!;
    const two = results["2x2"]!;
    console.log(
      `fleet: ${fmt(N)} events, 3-node JetStream cluster on loopback, R3 stream, ${PARTITIONS} partitions, kaudit's default rules; ${cpus().length} cores; load average ${load0.map((x) => x.toFixed(2)).join(" ")} → ${load1.map((x) => x.toFixed(2)).join(" ")}`,
    );
    console.log("phase      1 collector + 1 detector   2 + 2            ratio (2+2 / 1+1)");
    for (const p of ["collect", "detect", "pipeline"] as const) {
      console.log(
        `${p.padEnd(10)} ${`${fmt(one[p]!.eventsPerSecond)} events/s`.padEnd(26)} ${`${fmt(two[p]!.eventsPerSecond)} events/s`.padEnd(16)} ${(two[p]!.eventsPerSecond / one[p]!.eventsPerSecond).toFixed(2)}x`,
      );
    }
    const c = one.collect!.cpu.collector;
    const st = one.collect!.cpu.stream;
    const leader = one.collect!.cpu.streamMaxNode;
    const d = one.detect!.cpu.detector;
    console.log(
      `CPU per event (1+1): collector ${us(c)}, stream ${us(st)} over 3 nodes (busiest node ${us(leader)}: each event is 2 messages, each stored 3 times), detector ${us(d)}`,
    );
    console.log(
      `this machine: every tier shares ${cpus().length} cores, so the bound is ${cpus().length} / (${us(c)} + ${us(st)} + ${us(d)}) = ${fmt(cpus().length / (c + st + d))} events/s whatever the number of processes; one process alone: collector ≤ ${fmt(1 / c)}/s, detector ≤ ${fmt(1 / d)}/s, one stream leader ≤ ${fmt(1 / leader)}/s`,
    );

    printSimulation({ collector: c, stream: st, leader, detector: d });
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function readdirPositions(dir: string): string[] {
  return ["1x1", "2x2"].flatMap((k) => [0, 1].map((i) => join(dir, `${k}-p-c${i}.pos`)));
}

await main();
