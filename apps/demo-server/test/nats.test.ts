// The demo's NATS backend (`--audit-nats-*`) against a real `nats-server -js`: what reaches the
// stream is, byte for byte, what the log backend writes, in the fleet layout of @kaudit/sinks.
// Covers the kaudit-demo --audit-nats-* block of README.md ("Running kaudit for a fleet").
import { existsSync, readFileSync } from "node:fs";
import { connect } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  fleetSourceIPKey,
  fleetUserKey,
  natsMsgId,
  partitionOf,
} from "../../../packages/sinks/src/nats-sink";
import { readStream } from "../../../packages/sinks/src/testing/nats-read";
import {
  NATS_SERVER,
  type NatsServer,
  startNatsServer,
} from "../../../packages/sinks/src/testing/nats-server";
import { call, startStack } from "./helpers";

const haveNats = existsSync(NATS_SERVER);
if (!haveNats && process.env.CI) throw new Error(`${NATS_SERVER} is missing: .ci/run installs it`);

describe.skipIf(!haveNats)("kaudit-demo --audit-nats-servers", () => {
  let nats: NatsServer;
  beforeAll(async () => {
    nats = await startNatsServer();
    const nc = await connect({ servers: nats.url });
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: "KAUDIT", subjects: ["kube.>"], duplicate_window: 120e9 });
    await nc.close();
  }, 30_000);
  afterAll(async () => {
    await nats?.stop();
  });

  it("publishes every audited request to both subject families, byte-identical to the log", async () => {
    const stack = await startStack({
      flags: {
        "audit-nats-servers": `${nats.url}, ${nats.url}`,
        "audit-nats-subject": "kube",
        "audit-nats-partitions": 4,
        "audit-nats-batch-max-wait": "20ms",
      },
    });
    expect(String(stack.server.backend)).toBe("union[ignoreErrors<log>,buffered<nats>]");
    for (let i = 0; i < 10; i++) {
      await call(stack.server, "GET", "/api/v1/namespaces/default/pods", {
        token: i % 2 ? stack.adminToken : stack.developerToken,
      });
      await call(stack.server, "GET", "/api/v1/namespaces", {});
    }
    const cm = JSON.stringify({ metadata: { name: "c1" }, data: { k: "v" } });
    await call(stack.server, "POST", "/api/v1/namespaces/default/configmaps", {
      token: stack.adminToken,
      body: cm,
    });
    // Shutdown flushes both backends (the NATS one waits for every ack).
    const { undelivered } = await stack.server.shutdown();
    expect(undelivered).toBe(0);
    const log = readFileSync(stack.server.auditLogPath, "utf8")
      .split("\n")
      .filter((l) => l !== "");
    await stack.stop();
    expect(log.length).toBeGreaterThanOrEqual(21);
    const users = new Set(log.map((l) => JSON.parse(l).user?.username));
    expect(users.size).toBeGreaterThanOrEqual(3);

    const byUser = await readStream(nats.url, "KAUDIT", "kube.*");
    const byIP = await readStream(nats.url, "KAUDIT", "kube.ip.*");
    expect(byUser.map((m) => m.data).sort()).toEqual([...log].sort());
    expect(byIP.map((m) => m.data).sort()).toEqual([...log].sort());
    for (const m of byUser) {
      const e = JSON.parse(m.data);
      expect(m.subject).toBe(`kube.${partitionOf(fleetUserKey(e), 4)}`);
      expect(m.msgId).toBe(natsMsgId(e));
    }
    for (const m of byIP) {
      const e = JSON.parse(m.data);
      expect(m.subject).toBe(`kube.ip.${partitionOf(fleetSourceIPKey(e), 4)}`);
      expect(m.msgId).toBe(`${natsMsgId(e)}:ip`);
    }
  }, 60_000);
});
