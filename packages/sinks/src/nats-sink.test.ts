// Covers the "NATS JetStream" example of packages/sinks/README.md (options, partitions, buffered).
import { existsSync } from "node:fs";
import { type Event, encodeEvent } from "@kaudit/api";
import { AckPolicy, connect, type NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buffered } from "./buffered";
import {
  createNatsSink,
  fleetRoutes,
  NatsSinkError,
  natsMsgId,
  partitionedSubject,
  partitionOf,
} from "./nats-sink";
import type { SinkReport } from "./report";
import { freePort, NATS_SERVER, type NatsServer, startNatsServer } from "./testing/nats-server";

const haveNats = existsSync(NATS_SERVER);
if (!haveNats && process.env.CI) throw new Error(`${NATS_SERVER} is missing: .ci/run installs it`);

const event = (id: string, stage: Event["stage"] = "ResponseComplete", user = "alice"): Event => ({
  level: "Metadata",
  auditID: id,
  stage,
  requestURI: "/api/v1/namespaces/default/pods/p-<1>",
  verb: "get",
  user: { username: user, groups: ["system:authenticated"] },
  sourceIPs: ["10.0.0.1"],
  userAgent: "kubectl/v1.32.4",
  objectRef: { resource: "pods", namespace: "default", name: "p-<1>", apiVersion: "v1" },
  responseStatus: { metadata: {}, code: 200 },
  requestReceivedTimestamp: "2026-11-22T10:04:05.123456Z",
  stageTimestamp: "2026-11-22T10:04:05.223456Z",
});

describe("partitions", () => {
  it("hash a key to the same partition every time, spread over all of them", () => {
    const seen = new Map<number, number>();
    for (let i = 0; i < 10_000; i++) {
      const p = partitionOf(`user-${i}`, 8);
      expect(partitionOf(`user-${i}`, 8)).toBe(p);
      seen.set(p, (seen.get(p) ?? 0) + 1);
    }
    expect([...seen.keys()].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const n of seen.values()) expect(n).toBeGreaterThan(1000);
    const subject = partitionedSubject("audit", 4);
    expect(subject(event("a", "ResponseComplete", "bob"))).toBe(`audit.${partitionOf("bob", 4)}`);
    expect(() => partitionedSubject("audit", 0)).toThrow(NatsSinkError);
  });
});

describe.skipIf(!haveNats)("createNatsSink against nats-server -js", () => {
  let server: NatsServer;
  let nc: NatsConnection;

  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: "AUDIT", subjects: ["audit.>"], duplicate_window: 120e9 });
  }, 30_000);
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });

  async function stored(subject: string): Promise<{ data: string; msgId: string | undefined }[]> {
    const jsm = await nc.jetstreamManager();
    const info = await jsm.streams.info("AUDIT");
    const name = `check-${Math.random().toString(36).slice(2)}`;
    await jsm.consumers.add("AUDIT", {
      durable_name: name,
      ack_policy: AckPolicy.None,
      filter_subject: subject,
    });
    const c = await nc.jetstream().consumers.get("AUDIT", name);
    const out: { data: string; msgId: string | undefined }[] = [];
    const pending = (await c.info()).num_pending;
    if (pending > 0) {
      const msgs = await c.fetch({ max_messages: pending, expires: 2000 });
      for await (const m of msgs)
        out.push({ data: m.string(), msgId: m.headers?.get("Nats-Msg-Id") });
    }
    await jsm.consumers.delete("AUDIT", name);
    expect(info.config.name).toBe("AUDIT");
    return out;
  }

  it("stores kube's exact bytes with Nats-Msg-Id = auditID:stage, and counts acks", async () => {
    const sink = createNatsSink({ servers: server.url, subject: "audit.bytes", stream: "AUDIT" });
    const events = [event("e1", "RequestReceived"), event("e1"), event("e2")];
    expect(await sink.processEvents(events)).toBe(true);
    expect(sink.stats).toMatchObject({ acked: 3, duplicates: 0, failed: 0 });
    const got = await stored("audit.bytes");
    expect(got.map((m) => m.data)).toEqual(events.map((e) => encodeEvent(e).trimEnd()));
    expect(got.map((m) => m.msgId)).toEqual([
      "e1:RequestReceived",
      "e1:ResponseComplete",
      "e2:ResponseComplete",
    ]);
    expect(natsMsgId(events[0]!)).toBe("e1:RequestReceived");
    expect(sink.toString()).toBe("nats");
    await sink.shutdown();
  });

  it("lets the stream drop what is sent again (a restarted sender), counting duplicates", async () => {
    const events = Array.from({ length: 50 }, (_, i) => event(`d${i}`));
    const a = createNatsSink({ servers: server.url, subject: "audit.dup" });
    expect(await a.processEvents(events)).toBe(true);
    await a.shutdown();
    const b = createNatsSink({ servers: server.url, subject: "audit.dup" });
    expect(await b.processEvents(events)).toBe(true);
    expect(b.stats).toMatchObject({ acked: 0, duplicates: 50 });
    await b.shutdown();
    expect(await stored("audit.dup")).toHaveLength(50);
  });

  it("works under buffered<> and partitions by user", async () => {
    const subject = partitionedSubject("audit.part", 4);
    const inner = createNatsSink({ servers: server.url, subject, stream: "AUDIT" });
    const sink = buffered(inner, {
      bufferSize: 1000,
      maxBatchSize: 100,
      maxBatchWait: 20,
      throttleEnable: false,
    });
    expect(sink.toString()).toBe("buffered<nats>");
    const users = ["alice", "bob", "carol", "dave", "erin"];
    for (let i = 0; i < 500; i++)
      sink.processEvents([event(`p${i}`, "ResponseComplete", users[i % 5]!)]);
    await sink.shutdown();
    expect(inner.stats.acked).toBe(500);
    for (let p = 0; p < 4; p++) {
      const got = await stored(`audit.part.${p}`);
      for (const m of got) expect(partitionOf(JSON.parse(m.data).user.username, 4)).toBe(p);
    }
  });

  it("publishes a fleet's two partition families: by the acting user and by the first source IP", async () => {
    const routes = fleetRoutes("audit.fleet", 4);
    const sink = createNatsSink({ servers: server.url, routes, stream: "AUDIT" });
    const users = ["alice", "bob", "carol", "dave", "erin"];
    const events = Array.from({ length: 60 }, (_, i) => {
      const e = event(`f${i}`, "ResponseComplete", users[i % 5]!);
      e.sourceIPs = [`10.1.0.${i % 7}`, "10.9.9.9"];
      // Impersonation: the partition follows the user the request acted as (kaudit.user.name).
      if (i % 10 === 0) e.impersonatedUser = { username: "mallory" };
      return e;
    });
    expect(await sink.processEvents(events)).toBe(true);
    expect(sink.stats).toMatchObject({ acked: 120, failed: 0 });
    await sink.shutdown();
    let user = 0;
    let ip = 0;
    for (let p = 0; p < 4; p++) {
      for (const m of await stored(`audit.fleet.${p}`)) {
        const e = JSON.parse(m.data);
        expect(partitionOf(e.impersonatedUser?.username ?? e.user.username, 4)).toBe(p);
        expect(m.msgId).toBe(`${e.auditID}:ResponseComplete`);
        user++;
      }
      for (const m of await stored(`audit.fleet.ip.${p}`)) {
        const e = JSON.parse(m.data);
        expect(partitionOf(e.sourceIPs[0], 4)).toBe(p);
        expect(m.msgId).toBe(`${e.auditID}:ResponseComplete:ip`);
        ip++;
      }
    }
    expect([user, ip]).toEqual([60, 60]);
    expect(routes(events[0]!).map((r) => r.subject)).toEqual([
      `audit.fleet.${partitionOf("mallory", 4)}`,
      `audit.fleet.ip.${partitionOf("10.1.0.0", 4)}`,
    ]);
    expect(() => fleetRoutes("audit", 0)).toThrow(NatsSinkError);
  });

  it("waits through a server crash and restart, losing nothing", async () => {
    const own = await startNatsServer();
    const c = await connect({ servers: own.url });
    await (await c.jetstreamManager()).streams.add({ name: "CRASH", subjects: ["crash.>"] });
    await c.close();
    const sink = createNatsSink({
      servers: own.url,
      subject: "crash.x",
      attempts: 20,
      ackTimeout: 1000,
    });
    const first = sink.processEvents(Array.from({ length: 200 }, (_, i) => event(`c${i}`)));
    expect(await first).toBe(true);
    await own.kill();
    const during = sink.processEvents(Array.from({ length: 200 }, (_, i) => event(`c${200 + i}`)));
    await new Promise((r) => setTimeout(r, 1500));
    await own.restart();
    expect(await during).toBe(true);
    await sink.shutdown();
    const c2 = await connect({ servers: own.url });
    const info = await (await c2.jetstreamManager()).streams.info("CRASH");
    expect(info.state.messages).toBe(400);
    expect(sink.stats.acked + sink.stats.duplicates).toBe(400);
    expect(sink.stats.retries).toBeGreaterThan(0);
    await c2.close();
    await own.stop();
  }, 60_000);

  it("reports every event it could not deliver when no server answers", async () => {
    const port = await freePort();
    const sink = createNatsSink({
      servers: `nats://127.0.0.1:${port}`,
      subject: "audit.none",
      attempts: 2,
      ackTimeout: 300,
      initialBackoff: 10,
    });
    const reports: SinkReport[] = [];
    sink.on("error", (r) => reports.push(r));
    expect(await sink.processEvents([event("n1"), event("n2")])).toBe(false);
    expect(sink.stats.failed).toBe(2);
    expect(reports.flatMap((r) => r.events.map((e) => e.auditID)).sort()).toEqual(["n1", "n2"]);
    expect(reports[0]!.error.message).toMatch(/not acknowledged: no NATS server reachable/);
    await sink.shutdown();
    expect(await sink.processEvents([event("n3")])).toBe(false);
    expect(sink.stats.failed).toBe(3);
  });
});
