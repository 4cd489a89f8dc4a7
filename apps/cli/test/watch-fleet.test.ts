/**
 * `kaudit watch --to-nats` (collector) and `--from-nats` (detector) against one real
 * `nats-server -js` on loopback: the collector publishes what it follows and what its webhook
 * receives (acknowledging the source only after the stream), detectors fire what `kaudit detect`
 * fires on the same events — one alone, two with disjoint partitions together, and one killed
 * with SIGKILL mid-run and restarted (threshold windows continue from its checkpoints).
 * Covers the fleet flags of apps/cli/README.md's watch section.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNatsSink, fleetRoutes } from "../../../packages/sinks/src/nats-sink";
import {
  NATS_SERVER,
  type NatsServer,
  startNatsServer,
} from "../../../packages/sinks/src/testing/nats-server";
import { createTestPki } from "../../../packages/sinks/src/testing/pki";
import { FLEET_RULES, fleetEvents, writeEvents } from "./fleet-log";
import { kaudit } from "./helpers";
import { startWatch, type WatchProcess } from "./watch-helpers";

const haveNats = existsSync(NATS_SERVER);
if (!haveNats && process.env.CI) throw new Error(`${NATS_SERVER} is missing: .ci/run installs it`);

const P = 4;

type Alert = Record<string, unknown> & { id?: string };

function readAlerts(...files: string[]): Alert[] {
  return files
    .filter((f) => existsSync(f))
    .flatMap((f) =>
      readFileSync(f, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Alert),
    );
}

/** Alerts as sorted JSON lines without their fleet id: comparable with `kaudit detect --json`. */
function canonical(alerts: Alert[]): string[] {
  return alerts.map(({ id: _, ...a }) => JSON.stringify(a, Object.keys(a).sort())).sort();
}

/** Drops repeats of the same id (what a consumer of the JSON output does), checking they are equal. */
function dedupe(alerts: Alert[]): Alert[] {
  const seen = new Map<string, string>();
  const out: Alert[] = [];
  for (const a of alerts) {
    expect(typeof a.id, JSON.stringify(a)).toBe("string");
    const text = JSON.stringify(a);
    const before = seen.get(a.id!);
    if (before !== undefined) {
      expect(text, "an alert repeated with the same id is the same alert").toBe(before);
      continue;
    }
    seen.set(a.id!, text);
    out.push(a);
  }
  return out;
}

async function eventually<T>(
  what: string,
  f: () => Promise<T | undefined>,
  ms = 30_000,
): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(!haveNats)("kaudit watch --to-nats / --from-nats", () => {
  let server: NatsServer;
  let nc: NatsConnection;
  let dir: string;
  let rules: string;
  const running: WatchProcess[] = [];

  const watch = (args: string[]) => {
    const w = startWatch(args, dir);
    running.push(w);
    return w;
  };

  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
    dir = await mkdtemp(join(tmpdir(), "kaudit-fleet-"));
    rules = join(dir, "rules.yaml");
    writeFileSync(rules, FLEET_RULES);
  }, 30_000);

  afterAll(async () => {
    await Promise.all(running.map((w) => w.stop("SIGKILL")));
    await nc?.close();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Messages stored per family of a stream. */
  async function stored(stream: string, prefix: string): Promise<{ user: number; ip: number }> {
    const jsm = await nc.jetstreamManager();
    const info = await jsm.streams.info(stream, { subjects_filter: ">" });
    const counts = { user: 0, ip: 0 };
    for (const [subject, n] of Object.entries(info.state.subjects ?? {})) {
      if (subject.startsWith(`${prefix}.ip.`)) counts.ip += n;
      else if (subject.startsWith(`${prefix}.`)) counts.user += n;
    }
    return counts;
  }

  /** Resolves when every consumer of `consumer` over `parts` has delivered and had acked everything. */
  async function drained(stream: string, consumer: string, parts: number[]): Promise<void> {
    const jsm = await nc.jetstreamManager();
    await eventually(`${consumer} to read and checkpoint everything`, async () => {
      for (const p of parts) {
        for (const name of [`${consumer}_u${p}`, `${consumer}_ip${p}`]) {
          const c = await jsm.consumers.info(stream, name).catch(() => undefined);
          if (!c || c.num_pending > 0 || c.num_ack_pending > 0) return undefined;
        }
      }
      return true;
    });
  }

  /** What `kaudit detect` fires on a log: the reference a fleet must match. */
  async function expected(log: string): Promise<string[]> {
    const r = await kaudit(["detect", "--json", "--rules", rules, log], { cwd: dir });
    expect(r.code, r.stderr).toBe(1);
    const alerts = r.stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Alert);
    // Enough of each kind that a partition mix-up would show.
    const byRule = new Map<string, number>();
    for (const a of alerts) byRule.set(String(a.rule), (byRule.get(String(a.rule)) ?? 0) + 1);
    expect(Object.fromEntries(byRule)).toMatchObject({
      "Unauthenticated burst": expect.any(Number),
      "Forbidden probing": expect.any(Number),
      "Secret read": expect.any(Number),
    });
    for (const n of byRule.values()) expect(n).toBeGreaterThan(20);
    return canonical(alerts);
  }

  const log = () => join(dir, "audit.log");
  const url = () => server.url;
  const detectorArgs = (consumer: string, out: string, extra: string[] = []) => [
    "--from-nats",
    url(),
    "--rules",
    rules,
    "--nats-partitions",
    String(P),
    "--nats-consumer",
    consumer,
    "--alerts-out",
    join(dir, out),
    ...extra,
  ];

  it("collector: publishes a followed log on both families, moves the position only after the stream's acks", async () => {
    writeEvents(log(), fleetEvents(0, 1500));
    const pos = join(dir, "audit.pos");
    const args = [
      "--to-nats",
      url(),
      "--follow",
      log(),
      "--position-file",
      pos,
      "--nats-partitions",
      String(P),
    ];
    const c = watch([...args, "--from", "start"]);
    await c.waitFor(/created stream KAUDIT \(audit\.>, 1 replica\(s\), duplicate window 120 s/);
    await eventually("1500 events stored", async () =>
      (await stored("KAUDIT", "audit")).ip === 1500 ? true : undefined,
    );
    writeEvents(log(), fleetEvents(1500, 1500), true);
    await eventually("3000 events stored", async () =>
      (await stored("KAUDIT", "audit")).ip === 3000 ? true : undefined,
    );
    expect(await c.stop()).toBe(0);
    expect(c.stderr()).toMatch(/stopped: 3000 events read, 3000 published to KAUDIT, 0 skipped/);
    expect(await stored("KAUDIT", "audit")).toEqual({ user: 3000, ip: 3000 });
    expect(JSON.parse(readFileSync(pos, "utf8")).offset).toBe(statSync(log()).size);
    // A restart resumes after the saved position: nothing is published again.
    const again = watch(args);
    await again.waitFor(/following/);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await again.stop()).toBe(0);
    expect(again.stderr()).toMatch(/stopped: 0 events read/);
    expect(again.stderr()).toMatch(/using stream KAUDIT \(audit\.>/);
    // An existing stream is never changed: one that does not store the subjects is refused.
    const other = await kaudit(
      ["watch", "--to-nats", url(), "--nats-subject", "elsewhere", "--follow", log()],
      { cwd: dir },
    );
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(
      /--to-nats: stream KAUDIT exists and stores audit\.>, not elsewhere\.>: use another --nats-stream or --nats-subject \(kaudit never changes an existing stream\)/,
    );
    const info = await (await nc.jetstreamManager()).streams.info("KAUDIT");
    expect(info.config.subjects).toEqual(["audit.>"]);
    // The collector evaluates nothing: rules and alert outputs are refused.
    const r = await kaudit(["watch", ...args, "--rules", rules], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /--to-nats is the collector tier: it publishes events and evaluates no rules/,
    );
  }, 60_000);

  it("collector: answers kube's webhook 200 only once the stream stored the batch", async () => {
    const pki = await createTestPki();
    for (const [f, v] of Object.entries({
      "ca.crt": pki.caCert,
      "tls.crt": pki.serverCert,
      "tls.key": pki.serverKey,
    })) {
      writeFileSync(join(dir, f), v);
    }
    const c = watch([
      "--to-nats",
      url(),
      "--nats-stream",
      "HOOK",
      "--nats-subject",
      "hook",
      "--nats-partitions",
      String(P),
      "--listen",
      "127.0.0.1:0",
      "--tls-cert-file",
      "tls.crt",
      "--tls-private-key-file",
      "tls.key",
      "--client-ca-file",
      "ca.crt",
    ]);
    await c.waitFor(/receiving kube-apiserver's audit webhook on https:\/\/127\.0\.0\.1:\d+/);
    const port = Number(/on https:\/\/127\.0\.0\.1:(\d+)/.exec(c.stderr())![1]);
    const items = fleetEvents(5000, 300);
    const body = JSON.stringify({ kind: "EventList", apiVersion: "audit.k8s.io/v1", items });
    const code = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port,
          method: "POST",
          path: "/",
          ca: pki.caCert,
          cert: pki.clientCert,
          key: pki.clientKey,
          servername: "receiver.test",
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
    expect(code).toBe(200);
    // Already stored when the 200 came: no waiting here.
    expect(await stored("HOOK", "hook")).toEqual({ user: 300, ip: 300 });
    expect(await c.stop()).toBe(0);
    expect(c.stderr()).toMatch(/stopped: 300 events read, 300 published to HOOK/);
  }, 60_000);

  it("detector: fires what kaudit detect fires on the same events; two detectors with disjoint partitions together fire exactly that", async () => {
    const want = await expected(log());
    const one = watch(detectorArgs("one", "one.jsonl", ["--metrics-address", "127.0.0.1:0"]));
    await one.waitFor(/reading partitions all of 4/);
    await one.waitFor(/metrics on (http:\/\/127\.0\.0\.1:\d+)\/metrics/);
    await drained("KAUDIT", "one", [0, 1, 2, 3]);
    const metricsURL = /metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(one.stderr())![1]!;
    const text = await (await fetch(metricsURL)).text();
    const sum = (re: RegExp) =>
      text
        .split("\n")
        .filter((l) => re.test(l))
        .reduce((n, l) => n + Number(l.split(" ").at(-1)), 0);
    // Each event is read once per family, and counted once as a request.
    expect(sum(/^kaudit_events_read_total\{input="nats:audit",/)).toBe(3000);
    expect(sum(/^kaudit_events_read_total\{input="nats:audit\.ip",/)).toBe(3000);
    expect(sum(/^kaudit_requests_total\{/)).toBe(3000);
    expect(sum(/^kaudit_nats_checkpoints_total\{result="ok"\}/)).toBeGreaterThanOrEqual(8);
    expect(sum(/^kaudit_fleet_partitions_assigned\{/)).toBe(8);
    expect(await one.stop()).toBe(0);
    expect(one.stderr()).toMatch(/stopped: 6000 events read/);
    const alone = readAlerts(join(dir, "one.jsonl"));
    expect(new Set(alone.map((a) => a.id)).size).toBe(alone.length);
    expect(canonical(alone)).toEqual(want);

    const a = watch(detectorArgs("two", "two-a.jsonl", ["--nats-assign", "0-1"]));
    const b = watch(detectorArgs("two", "two-b.jsonl", ["--nats-assign", "2,3"]));
    await Promise.all([
      a.waitFor(/reading partitions 0-1 of 4/),
      b.waitFor(/reading partitions 2,3 of 4/),
    ]);
    await drained("KAUDIT", "two", [0, 1, 2, 3]);
    expect(await a.stop()).toBe(0);
    expect(await b.stop()).toBe(0);
    const fromA = readAlerts(join(dir, "two-a.jsonl"));
    const fromB = readAlerts(join(dir, "two-b.jsonl"));
    expect(fromA.length).toBeGreaterThan(0);
    expect(fromB.length).toBeGreaterThan(0);
    const both = [...fromA, ...fromB];
    expect(new Set(both.map((x) => x.id)).size).toBe(both.length);
    expect(canonical(both)).toEqual(want);
    // The same alerts carry the same ids whichever detector raised them.
    expect(new Set(both.map((x) => x.id))).toEqual(new Set(alone.map((x) => x.id)));
  }, 90_000);

  it("detector: killed with SIGKILL mid-run and restarted, its threshold counts continue from the checkpoints", async () => {
    const events = fleetEvents(0, 3000);
    const all = join(dir, "kill.log");
    writeEvents(all, events);
    const want = await expected(all);
    const sink = createNatsSink({ servers: url(), routes: fleetRoutes("kill", P), stream: "KILL" });
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: "KILL", subjects: ["kill.>"], duplicate_window: 120e9 });
    const publish = async (from: number, to: number) => {
      expect(await sink.processEvents(events.slice(from, to) as never[])).toBe(true);
    };
    const args = (out: string) => [
      ...detectorArgs("k", out),
      "--nats-stream",
      "KILL",
      "--nats-subject",
      "kill",
    ];

    await publish(0, 1000);
    const first = watch(args("k1.jsonl"));
    await drained("KILL", "k", [0, 1, 2, 3]);
    // Phase 2 arrives; the detector is killed while it reads it, before or after a checkpoint.
    await publish(1000, 2000);
    await eventually("the detector to be reading phase 2", async () => {
      let pending = 0;
      for (let p = 0; p < P; p++) {
        for (const name of [`k_u${p}`, `k_ip${p}`]) {
          pending += (await jsm.consumers.info("KILL", name)).num_pending;
        }
      }
      return pending < 2000 ? true : undefined;
    });
    expect(await first.stop("SIGKILL")).toBe(null);
    const second = watch(args("k2.jsonl"));
    await second.waitFor(/reading partitions all of 4/);
    await publish(2000, 3000);
    await drained("KILL", "k", [0, 1, 2, 3]);
    expect(await second.stop()).toBe(0);
    await sink.shutdown();
    // The restart began after the checkpoints: phase 1 (2000 messages) was not read again.
    const read = Number(/stopped: (\d+) events read/.exec(second.stderr())![1]);
    expect(read).toBeGreaterThanOrEqual(2000);
    expect(read).toBeLessThanOrEqual(4000);
    const got = dedupe(readAlerts(join(dir, "k1.jsonl"), join(dir, "k2.jsonl")));
    expect(canonical(got)).toEqual(want);
  }, 90_000);

  it("detector: deliveries lost in transit (taken by another client here) are read again, not acked past", async () => {
    const events = fleetEvents(0, 3000);
    const want = await expected(join(dir, "kill.log"));
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: "GAP", subjects: ["gap.>"] });
    const d = watch([
      ...detectorArgs("g", "gap.jsonl"),
      "--nats-stream",
      "GAP",
      "--nats-subject",
      "gap",
    ]);
    await d.waitFor(/alerts to json-lines/);
    // A pull request queued behind the detector's first one takes messages of partition 0 that
    // the detector then never sees, as when a NATS node dies with a batch on the wire.
    const thief = await (await nc.jetstream().consumers.get("GAP", "g_u0")).fetch({
      max_messages: 30,
      expires: 10_000,
    });
    const stolen = (async () => {
      let n = 0;
      for await (const _ of thief) n++;
      return n;
    })();
    const sink = createNatsSink({ servers: url(), routes: fleetRoutes("gap", P), stream: "GAP" });
    expect(await sink.processEvents(events as never[])).toBe(true);
    await sink.shutdown();
    expect(await stolen).toBe(30);
    await d.waitFor(
      /warning: gap\.0: deliveries \d+ to \d+ of g_u0 never arrived; reading again after GAP:\d+/,
    );
    await drained("GAP", "g", [0, 1, 2, 3]);
    expect(await d.stop()).toBe(0);
    expect(canonical(dedupe(readAlerts(join(dir, "gap.jsonl"))))).toEqual(want);
  }, 60_000);

  it("detector: says when a threshold keyed by something else counts per detector, and when partitions disagree", async () => {
    const extra = join(dir, "inexact.yaml");
    writeFileSync(
      extra,
      `- rule: Namespace churn\n  desc: d\n  condition: ka.verb = delete\n  output: churn in %ka.target.namespace\n  priority: NOTICE\n  source: k8s_audit\n  kaudit:\n    threshold: { count: 3, window: 1m, by: [ka.target.namespace] }\n`,
    );
    const d = watch([
      ...detectorArgs("warn", "warn.jsonl", ["--nats-assign", "1"]),
      "--rules",
      extra,
    ]);
    await d.waitFor(/alerts to json-lines/);
    await d.waitFor(
      /warning: 1 threshold rule\(s\) keyed by neither kaudit\.user\.name nor the source IP \(Namespace churn: by \[ka\.target\.namespace\]\) count per detector: with 1 of 4 partitions/,
    );
    expect(await d.stop()).toBe(0);
    // Collectors published with 4 partitions: a detector told 16 finds events of other partitions.
    const wrong = watch([
      ...detectorArgs("wrong", "wrong.jsonl", ["--nats-assign", "0"]),
      "--nats-partitions",
      "16",
    ]);
    await wrong.waitFor(/alerts to json-lines/);
    await wrong.waitFor(
      /warning: audit\.0 holds an event whose kaudit\.user\.name "user-\d+" is in partition \d+ of 16, not 0: the collectors publish with another --nats-partitions/,
    );
    expect(await wrong.stop()).toBe(0);
    // Started before any collector: it waits for the stream.
    const early = watch([
      ...detectorArgs("early", "early.jsonl"),
      "--nats-stream",
      "LATE",
      "--nats-subject",
      "late",
    ]);
    await early.waitFor(
      /warning: stream LATE does not exist yet: waiting for a --to-nats collector to create it/,
    );
    await (await nc.jetstreamManager()).streams.add({ name: "LATE", subjects: ["late.>"] });
    await early.waitFor(/alerts to json-lines/);
    // SIGHUP reloads the rules of every partition, keeping their windows.
    early.child.kill("SIGHUP");
    await early.waitFor(/rules reloaded: 3 rules \(threshold windows kept\)/);
    expect(await early.stop()).toBe(0);
    const bad = await kaudit(
      ["watch", "--from-nats", url(), "--nats-assign", "2-9", "--nats-partitions", "4"],
      {
        cwd: dir,
      },
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("kaudit watch: --nats-assign: 2-9: partitions are 0 to 3\n");
    const mixed = await kaudit(["watch", "--from-nats", url(), "--follow", log()], { cwd: dir });
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toBe(
      "kaudit watch: --from-nats reads the stream the --to-nats collectors fill: --follow, --position-file and --listen belong to the collectors\n",
    );
    const stray = await kaudit(["watch", "--follow", log(), "--nats-assign", "1"], { cwd: dir });
    expect(stray.code).toBe(2);
    expect(stray.stderr).toBe("kaudit watch: --nats-assign needs --to-nats or --from-nats\n");
  }, 60_000);
});
