/**
 * The fleet (issue 21 "Tests"): a 3-node JetStream cluster with an R3 stream; eight sender
 * processes (four through kube's audit webhook, four writing audit logs, all via @kaudit/sinks)
 * → two `kaudit watch --to-nats` collectors → the stream → two `kaudit watch --from-nats`
 * detectors owning disjoint partitions. During the run one NATS node (the stream's leader), one
 * collector and one detector are killed with SIGKILL and restarted. Every event sent must reach
 * the detectors, and the alerts (repeats of an alert id absorbed, as a consumer of the JSON
 * output does) must be exactly what `kaudit detect` fires on the same events on one machine —
 * threshold alerts per source IP and per user included.
 * Covers the fleet commands of README.md ("Running kaudit for a fleet").
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type NatsCluster,
  startNatsCluster,
} from "../../../packages/sinks/src/testing/nats-cluster";
import { consumerBacklog, streamInfo } from "../../../packages/sinks/src/testing/nats-read";
import { freePort, NATS_SERVER } from "../../../packages/sinks/src/testing/nats-server";
import { createTestPki } from "../../../packages/sinks/src/testing/pki";
import { kaudit } from "./helpers";
import { startWatch, type WatchProcess } from "./watch-helpers";

const haveNats = existsSync(NATS_SERVER);
if (!haveNats && process.env.CI) throw new Error(`${NATS_SERVER} is missing: .ci/run installs it`);

const SENDER = fileURLToPath(new URL("./fleet-sender.mjs", import.meta.url));
const DEFAULT_RULES = fileURLToPath(
  new URL("../../../packages/rules/rules/kaudit-default.yaml", import.meta.url),
);
/** A rule that fires on every request, so that the alerts prove which events were evaluated. */
const TRACE_RULES = `- rule: Fleet Trace
  desc: every request's final event (the fleet test counts them)
  condition: ka.stage = ResponseComplete
  output: trace id=%ka.auditid user=%ka.user.name
  priority: DEBUG
  source: k8s_audit
`;
const SENDERS = 8;
const EVENTS = 400; // per sender: 4 blocks of 100, bursts in each (see fleet-sender.mjs)
const PARTITIONS = 8;
const STREAM = "KAUDIT";

type Alert = Record<string, unknown> & { id?: string; rule?: string };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function readAlerts(files: string[]): Alert[] {
  return files
    .filter((f) => existsSync(f))
    .flatMap((f) =>
      readFileSync(f, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Alert),
    );
}

/** The value with every object's keys in order, so that equal alerts print equal. */
function sorted(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sorted);
  if (v === null || typeof v !== "object") return v;
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
  );
}

/**
 * What must match one machine. A plain alert is its event's: all of it. A threshold alert is its
 * identity — rule, key, window start (`first`), count, window — but not the event that happened
 * to complete the count: events of one key can reach the stream in another order than they were
 * sent (a publish retried through a leader election lands after later ones), and the alert then
 * carries that event's time and output fields.
 */
function identity(a: Alert): string {
  const { id: _, ...rest } = a;
  return JSON.stringify(sorted(rest.kaudit ? { rule: rest.rule, kaudit: rest.kaudit } : rest));
}

/** Repeats of one alert id dropped (they must be the same alert); counts how many. */
function dedupe(alerts: Alert[]): { alerts: Alert[]; repeats: number } {
  const seen = new Map<string, string>();
  const out: Alert[] = [];
  let repeats = 0;
  for (const a of alerts) {
    expect(typeof a.id, JSON.stringify(a)).toBe("string");
    const text = identity(a);
    const before = seen.get(a.id!);
    if (before !== undefined) {
      expect(text, "an alert repeated with the same id is the same alert").toBe(before);
      repeats++;
      continue;
    }
    seen.set(a.id!, text);
    out.push(a);
  }
  return { alerts: out, repeats };
}

interface Sender {
  child: ChildProcess;
  done: Promise<{ code: number | null; out: string }>;
}

describe.skipIf(!haveNats)("a kaudit fleet on a 3-node JetStream cluster", () => {
  let cluster: NatsCluster;
  let dir: string;
  const running: WatchProcess[] = [];
  const senders: Sender[] = [];

  beforeAll(async () => {
    [cluster, dir] = await Promise.all([
      startNatsCluster({ nodes: 3 }),
      mkdtemp(join(tmpdir(), "kaudit-fleet-")),
    ]);
  }, 60_000);

  afterAll(async () => {
    for (const s of senders) s.child.kill("SIGKILL");
    await Promise.all(running.map((w) => w.stop("SIGKILL")));
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const watch = (args: string[]) => {
    const w = startWatch(args, dir);
    running.push(w);
    return w;
  };

  function startSender(id: number, mode: "webhook" | "log", target: string): Sender {
    const config = join(dir, `sender-${id}.json`);
    writeFileSync(
      config,
      JSON.stringify({
        id,
        mode,
        target,
        events: EVENTS,
        batch: 25,
        intervalMs: 400,
        manifest: join(dir, `sent-${id}.jsonl`),
      }),
    );
    const child = spawn(process.execPath, [SENDER, config], {
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout!.on("data", (b: Buffer) => (out += b.toString()));
    child.stderr!.on("data", (b: Buffer) => (out += b.toString()));
    const done = new Promise<{ code: number | null; out: string }>((r) =>
      child.on("exit", (code) => r({ code, out })),
    );
    const s = { child, done };
    senders.push(s);
    return s;
  }

  it("loses nothing and alerts as one machine would, through node, collector and detector crashes", async () => {
    const started = Date.now();
    const step = (what: string) => {
      if (process.env.FLEET_DEBUG)
        process.stderr.write(`${((Date.now() - started) / 1000).toFixed(1)} s: ${what}\n`);
    };
    const rules = join(dir, "trace.yaml");
    writeFileSync(rules, TRACE_RULES);
    const rulesArgs = ["--rules", DEFAULT_RULES, "--rules", rules];
    const nats = ["--nats-partitions", String(PARTITIONS), "--nats-stream", STREAM];

    // Collector 0 receives the webhook of senders 0-3 (mTLS); collector 1 follows the logs of 4-7.
    const pki = await createTestPki("fleet");
    for (const [name, pem] of Object.entries(pki)) writeFileSync(join(dir, `${name}.pem`), pem);
    const hookPort = await freePort();
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    writeFileSync(
      join(dir, "kubeconfig.json"),
      JSON.stringify({
        clusters: [
          {
            name: "collector-0",
            cluster: {
              server: `https://127.0.0.1:${hookPort}/`,
              "certificate-authority-data": b64(pki.caCert),
            },
          },
        ],
        users: [
          {
            name: "apiserver",
            user: {
              "client-certificate-data": b64(pki.clientCert),
              "client-key-data": b64(pki.clientKey),
            },
          },
        ],
        contexts: [{ name: "c", context: { cluster: "collector-0", user: "apiserver" } }],
        "current-context": "c",
      }),
    );
    const logs = [4, 5, 6, 7].map((s) => join(dir, `audit-${s}.log`));
    for (const l of logs) writeFileSync(l, "");
    const collectorArgs = [
      [
        "--to-nats",
        cluster.servers,
        ...nats,
        "--nats-replicas",
        "3",
        "--listen",
        `127.0.0.1:${hookPort}`,
        "--tls-cert-file",
        join(dir, "serverCert.pem"),
        "--tls-private-key-file",
        join(dir, "serverKey.pem"),
        "--client-ca-file",
        join(dir, "caCert.pem"),
      ],
      [
        "--to-nats",
        cluster.servers,
        ...nats,
        "--nats-replicas",
        "3",
        ...logs.flatMap((l) => ["--follow", l]),
        "--from",
        "start",
        "--position-file",
        join(dir, "collector-1.pos"),
      ],
    ];
    // The first collector creates the stream; the second finds it.
    const collectors = [watch(collectorArgs[0]!)];
    await collectors[0]!.waitFor(/receiving kube-apiserver's audit webhook/, 30_000);
    collectors.push(watch(collectorArgs[1]!));
    await collectors[1]!.waitFor(/following .*audit-7\.log/, 30_000);

    step("collectors ready");
    const info = await streamInfo(cluster.urls, STREAM);
    expect(info.config.num_replicas).toBe(3);
    expect(info.config.duplicate_window).toBe(120e9);
    expect(info.config.subjects).toEqual(["audit.>"]);

    const assign = ["0-3", "4-7"];
    const alertFiles: string[] = [];
    const detector = (i: number) => {
      const out = join(dir, `alerts-${i}-${alertFiles.length}.jsonl`);
      alertFiles.push(out);
      const w = watch([
        "--from-nats",
        cluster.servers,
        ...nats,
        ...rulesArgs,
        "--nats-consumer",
        "kaudit",
        "--nats-assign",
        assign[i]!,
        // The checkpoints' store is replicated like the stream: it must survive a node's loss.
        "--nats-replicas",
        "3",
        "--alerts-out",
        out,
      ]);
      return w;
    };
    const detectors = [detector(0)];
    await detectors[0]!.waitFor(/reading partitions/, 30_000);
    detectors.push(detector(1));
    await detectors[1]!.waitFor(/reading partitions/, 30_000);

    step("detectors ready");
    for (let s = 0; s < SENDERS; s++) {
      if (s < 4) startSender(s, "webhook", join(dir, "kubeconfig.json"));
      else startSender(s, "log", logs[s - 4]!);
    }

    // The crashes, while the senders run (about 7 s).
    const t0 = Date.now();
    const mark: string[] = [];
    const at = async (ms: number, what: string, f: () => Promise<unknown> | unknown) => {
      await sleep(Math.max(0, t0 + ms - Date.now()));
      await f();
      mark.push(`${what} at ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      step(what);
    };
    const leader = (await streamInfo(cluster.urls, STREAM)).cluster!.leader!;
    const node = cluster.names.indexOf(leader);
    // The detector first: its restart waits for its consumers' unacked messages to come again.
    await at(1000, "kill -9 detector 0", () => detectors[0]!.stop("SIGKILL"));
    await at(2000, "restart detector 0", () => {
      detectors[0] = detector(0);
    });
    await at(2500, `kill -9 NATS ${leader} (stream leader)`, () => cluster.kill(node));
    await at(3500, "kill -9 collector 0", () => collectors[0]!.stop("SIGKILL"));
    await at(4500, `restart ${leader}`, () => cluster.restart(node));
    await at(5000, "restart collector 0", () => {
      collectors[0] = watch(collectorArgs[0]!);
    });

    const results = await Promise.all(senders.map((s) => s.done));
    step("senders done");
    for (const r of results) expect(r.code, r.out).toBe(0);
    const sent = senders.flatMap((_, s) =>
      readFileSync(join(dir, `sent-${s}.jsonl`), "utf8")
        .split("\n")
        .filter(Boolean),
    );
    expect(sent).toHaveLength(SENDERS * EVENTS);
    const ids = sent.map((l) => JSON.parse(l).auditID as string).sort();

    // Wait until the detectors have read and acknowledged everything: a detector acks a message
    // only after the checkpoint that covers it, which waits for its alerts to be written.
    const until = Date.now() + 50_000;
    let backlog: Awaited<ReturnType<typeof consumerBacklog>> = [];
    while (Date.now() < until) {
      const stored = (await streamInfo(cluster.urls, STREAM)).state.messages;
      backlog = await consumerBacklog(cluster.urls, STREAM);
      const left = backlog.reduce((n, c) => n + c.pending + c.unacked, 0);
      if (stored >= 2 * ids.length && backlog.length === 2 * PARTITIONS && left === 0) break;
      step(`${stored} messages stored, ${left} not yet acked by ${backlog.length} consumers`);
      await sleep(500);
    }
    const traced = new Set(
      readAlerts(alertFiles)
        .filter((a) => a.rule === "Fleet Trace")
        .map((a) => (a.output_fields as Record<string, string>)["ka.auditid"]!),
    );
    expect(ids.filter((id) => !traced.has(id)).slice(0, 10)).toEqual([]);
    mark.push(`everything read and acked at ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await Promise.all([...collectors, ...detectors].map((w) => w.stop("SIGTERM")));
    step("stopped");

    // The stream stored each event once per family: re-sends were dropped by msg-id.
    const after = await streamInfo(cluster.urls, STREAM);
    expect(after.state.messages).toBe(2 * ids.length);

    // One machine's answer on the same events, in time order.
    const all = join(dir, "all.jsonl");
    const byTime = sent
      .map((l) => ({ l, t: JSON.parse(l).stageTimestamp as string }))
      .sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : 0));
    writeFileSync(all, byTime.map((x) => `${x.l}\n`).join(""));
    const ref = await kaudit(["detect", "--json", ...rulesArgs, all], { cwd: dir });
    step("kaudit detect done");
    const reference = ref.stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Alert);

    // The script's thresholds did what it was written to do on one machine: every full burst
    // (even blocks) fired — IP 10.<s>.1.0 in each of them, windows 80 s apart — and no near miss
    // (odd blocks) did.
    const keys = (rule: string) =>
      reference
        .filter((a) => a.rule === rule)
        .map((a) => Object.values((a.kaudit as { key: Record<string, unknown> }).key)[0])
        .sort();
    const fullBlocks = Array.from({ length: EVENTS / 100 }, (_, b) => b).filter((b) => b % 2 === 0);
    const perSender = (f: (s: number, b: number) => string) =>
      Array.from({ length: SENDERS }, (_, s) => fullBlocks.map((b) => f(s, b)))
        .flat()
        .sort();
    expect(keys("Unauthorized Burst From Source IP")).toEqual(perSender((s) => `10.${s}.1.0`));
    expect(keys("Forbidden Burst By User")).toEqual(perSender((s, b) => `probe-${s}-${b}`));
    expect(reference.filter((a) => a.rule === "Fleet Trace")).toHaveLength(ids.length);

    const fleet = dedupe(readAlerts(alertFiles));
    const want = reference.map(identity).sort();
    const got = fleet.alerts.map(identity).sort();
    const wantSet = new Set(want);
    const gotSet = new Set(got);
    const missing = want.filter((a) => !gotSet.has(a));
    const extra = got.filter((a) => !wantSet.has(a));
    expect({ missing: missing.slice(0, 5), extra: extra.slice(0, 5) }).toEqual({
      missing: [],
      extra: [],
    });
    expect(got).toEqual(want);
    const full = new Set(reference.map((a) => JSON.stringify(sorted({ ...a, id: undefined }))));
    const reordered = fleet.alerts.filter(
      (a) => a.kaudit && !full.has(JSON.stringify(sorted({ ...a, id: undefined }))),
    ).length;
    process.stderr.write(
      `fleet: ${ids.length} events, ${fleet.alerts.length} alerts as on one machine (${fleet.repeats} repeats absorbed by id; ${reordered} threshold alerts completed by another event of their window); ${mark.join(", ")}\n`,
    );
  }, 90_000);
});
