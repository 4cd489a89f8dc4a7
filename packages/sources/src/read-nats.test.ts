// Covers the "readNats" example of packages/sources/README.md (partitions, ack after hand-off).
import { existsSync } from "node:fs";
import type { Event } from "@kaudit/api";
import { createNatsSink, partitionedSubject } from "@kaudit/sinks";
import { connect, type NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NATS_SERVER, type NatsServer, startNatsServer } from "../../sinks/src/testing/nats-server";
import { readNats } from "./read-nats";
import type { SourceReport } from "./source-stats";

const haveNats = existsSync(NATS_SERVER);
if (!haveNats && process.env.CI) throw new Error(`${NATS_SERVER} is missing: .ci/run installs it`);

const event = (id: string, user = "alice"): Event => ({
  level: "Metadata",
  auditID: id,
  stage: "ResponseComplete",
  requestURI: "/api/v1/namespaces/default/pods",
  verb: "list",
  user: { username: user },
  sourceIPs: ["10.0.0.1"],
  objectRef: { resource: "pods", namespace: "default", apiVersion: "v1" },
  responseStatus: { metadata: {}, code: 200 },
  requestReceivedTimestamp: "2026-11-22T10:04:05.123456Z",
  stageTimestamp: "2026-11-22T10:04:05.223456Z",
});

describe.skipIf(!haveNats)("readNats against nats-server -js", () => {
  let server: NatsServer;
  let nc: NatsConnection;

  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: "AUDIT", subjects: ["audit.>"] });
  }, 30_000);
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });

  async function publish(subject: string | ((e: Event) => string), events: Event[]) {
    const sink = createNatsSink({ servers: server.url, subject });
    expect(await sink.processEvents(events)).toBe(true);
    await sink.shutdown();
  }

  it("hands over every event once, and a reader that stops early resumes after what it took", async () => {
    await publish(
      "audit.a",
      Array.from({ length: 300 }, (_, i) => event(`a${i}`)),
    );
    const first: string[] = [];
    const r1 = readNats({
      servers: server.url,
      stream: "AUDIT",
      consumer: "det-a",
      filterSubjects: ["audit.a"],
      ackWait: 2000,
    });
    for await (const { event: e, source } of r1) {
      first.push(e.auditID);
      expect(source).toMatchObject({ stream: "AUDIT", subject: "audit.a", redelivered: false });
      if (first.length === 120) break; // the 120th was taken: it is acked on leaving the loop
    }
    const rest: string[] = [];
    const all = new Set(first);
    const r2 = readNats({
      servers: server.url,
      stream: "AUDIT",
      consumer: "det-a",
      filterSubjects: ["audit.a"],
    });
    for await (const { event: e } of r2) {
      rest.push(e.auditID);
      all.add(e.auditID);
      if (all.size === 300) break;
    }
    // Fetched-but-untaken messages of r1 come back to r2 (nak'ed); nothing is lost, nothing twice.
    expect(rest).toHaveLength(180);
    expect(rest).not.toContain("a119");
    expect(r1.stats.read).toBe(120);
  }, 30_000);

  it("reads only its partitions, one durable consumer per subject", async () => {
    const subject = partitionedSubject("audit.p", 4);
    const users = ["alice", "bob", "carol", "dave", "erin", "frank"];
    const events = Array.from({ length: 240 }, (_, i) => event(`p${i}`, users[i % users.length]));
    await publish(subject, events);
    const mine = ["audit.p.0", "audit.p.2"];
    const want = events.filter((e) => mine.includes(subject(e))).map((e) => e.auditID);
    const got: string[] = [];
    const r = readNats({
      servers: server.url,
      stream: "AUDIT",
      consumer: "det-p",
      filterSubjects: mine,
    });
    for await (const { event: e, source } of r) {
      expect(mine).toContain(source.subject);
      got.push(e.auditID);
      if (got.length === want.length) break;
    }
    expect(got.sort()).toEqual([...want].sort());
    const jsm = await nc.jetstreamManager();
    expect((await jsm.consumers.info("AUDIT", "det-p_1")).config.filter_subject).toBe("audit.p.2");
    // The same consumer name with other partitions is refused: partitions moved.
    const moved = readNats({
      servers: server.url,
      stream: "AUDIT",
      consumer: "det-p",
      filterSubjects: ["audit.p.1"],
    });
    await expect(moved[Symbol.asyncIterator]().next()).rejects.toThrow(/partitions moved/);
    await moved.close();
  }, 30_000);

  it("skips and terminates what is not an event, counting it; drops too large ones", async () => {
    const js = nc.jetstream();
    await js.publish("audit.bad", "not json");
    await js.publish("audit.bad", JSON.stringify({ kind: 0 }));
    await js.publish(
      "audit.bad",
      JSON.stringify({ ...event("big"), requestURI: `/${"x".repeat(5000)}` }),
    );
    await publish("audit.bad", [event("good")]);
    const r = readNats({
      servers: server.url,
      stream: "AUDIT",
      consumer: "det-bad",
      filterSubjects: ["audit.bad"],
      maxEventBytes: 4000,
    });
    const reports: SourceReport[] = [];
    r.on("skip", (x) => reports.push(x));
    r.on("drop", (x) => reports.push(x));
    const got: string[] = [];
    for await (const { event: e } of r) {
      got.push(e.auditID);
      break;
    }
    expect(got).toEqual(["good"]);
    expect(r.stats).toMatchObject({ read: 1, skipped: 2, dropped: 1 });
    expect(reports.map((x) => x.reason).sort()).toEqual([
      "not an event",
      "not an event",
      "too large",
    ]);
    for (const x of reports) expect(x.message).not.toContain("not json");
  }, 30_000);
});
