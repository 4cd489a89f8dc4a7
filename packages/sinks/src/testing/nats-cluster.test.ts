import { existsSync } from "node:fs";
import { connect } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNatsSink } from "../nats-sink";
import { type NatsCluster, startNatsCluster } from "./nats-cluster";
import { readStream } from "./nats-read";
import { NATS_SERVER } from "./nats-server";

const haveNats = existsSync(NATS_SERVER);
if (!haveNats && process.env.CI) throw new Error(`${NATS_SERVER} is missing: .ci/run installs it`);

const event = (i: number) => ({
  level: "Metadata" as const,
  auditID: `ev-${i}`,
  stage: "ResponseComplete" as const,
  requestURI: "/api/v1/pods",
  verb: "list",
  user: { username: `u${i % 5}` },
  sourceIPs: ["10.0.0.1"],
});

describe.skipIf(!haveNats)("startNatsCluster", () => {
  let cluster: NatsCluster;
  beforeAll(async () => {
    cluster = await startNatsCluster({ nodes: 3 });
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it("runs an R3 stream that keeps taking writes through a kill -9 of its leader and catches the node up", async () => {
    expect(cluster.urls).toHaveLength(3);
    const nc = await connect({ servers: cluster.urls });
    const jsm = await nc.jetstreamManager();
    const info = await jsm.streams.add({ name: "R3", subjects: ["r3.>"], num_replicas: 3 });
    expect(info.config.num_replicas).toBe(3);
    expect(info.cluster?.replicas).toHaveLength(2);
    const sink = createNatsSink({
      servers: cluster.urls,
      subject: "r3.x",
      stream: "R3",
      attempts: 40,
      ackTimeout: 1000,
      initialBackoff: 100,
    });
    expect(await sink.processEvents(Array.from({ length: 100 }, (_, i) => event(i)))).toBe(true);

    // Kill the stream's leader: the two others must elect one and keep storing.
    const leader = (await jsm.streams.info("R3")).cluster!.leader!;
    const victim = cluster.names.indexOf(leader);
    expect(victim).toBeGreaterThanOrEqual(0);
    await cluster.kill(victim);
    const during = Array.from({ length: 100 }, (_, i) => event(100 + i));
    expect(await sink.processEvents(during)).toBe(true);
    const after = await jsm.streams.info("R3");
    expect(after.cluster!.leader).not.toBe(leader);
    expect(after.state.messages).toBe(200);

    await cluster.restart(victim);
    await cluster.ready();
    // The restarted node catches up: every replica current again.
    const deadline = Date.now() + 30_000;
    let replicas = (await jsm.streams.info("R3")).cluster?.replicas ?? [];
    while (Date.now() < deadline && !(replicas.length === 2 && replicas.every((r) => r.current))) {
      await new Promise((r) => setTimeout(r, 250));
      replicas = (await jsm.streams.info("R3")).cluster?.replicas ?? [];
    }
    expect(replicas.every((r) => r.current)).toBe(true);
    expect(replicas.map((r) => r.name)).toContain(leader);
    await sink.shutdown();
    const stored = await readStream(cluster.urls, "R3");
    expect(stored.map((m) => JSON.parse(m.data).auditID).sort()).toEqual(
      Array.from({ length: 200 }, (_, i) => `ev-${i}`).sort(),
    );
    expect(sink.stats.failed).toBe(0);
    await nc.close();
  }, 80_000);
});
