import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { buffered } from "./buffered";
import type { SinkReport } from "./report";
import { testEvent } from "./testing/events";
import { startReceiver, type TestReceiver } from "./testing/receiver";
import { createWebhookSink } from "./webhook-sink";

const receivers: TestReceiver[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends `rate` events/s for `seconds`, in 10 ms ticks; returns the IDs sent. */
async function load(
  sink: { processEvents(e: never[]): unknown },
  rate: number,
  seconds: number,
  during?: (t: number) => void,
) {
  const ids: string[] = [];
  const perTick = rate / 100;
  const t0 = performance.now();
  for (let tick = 0; tick < seconds * 100; tick++) {
    const due = t0 + tick * 10;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    during?.(performance.now() - t0);
    const events = Array.from({ length: perTick }, () => testEvent());
    for (const e of events) {
      ids.push(e.auditID);
      sink.processEvents([e] as never[]);
    }
  }
  return ids;
}

describe("webhook outage (real receiver on 127.0.0.1)", () => {
  // The receiver is really down for 10 s while 1,000 events/s arrive, with the reference's
  // default buffer (10000 events, batches of 400, 10 QPS / burst 15, async). To keep the test
  // under 20 s the retry backoff starts at 1.5 s instead of 10 s: its 4 sleeps (1.5, 2.25, 3.4,
  // 5.1 s ⇒ ≥ 12.2 s in all) still outlast the 10 s outage, as the default's (≥ 81 s) do.
  it("loses nothing when the receiver is down for 10 s at 1,000 events/s", async () => {
    const r = await startReceiver();
    receivers.push(r);
    const webhook = createWebhookSink({
      kubeconfig: { clusters: [{ cluster: { server: r.url } }] },
      allowInsecureHttp: true,
      initialBackoff: 1500,
    });
    const registry = new Registry();
    const s = buffered(webhook, { registry });
    const problems: SinkReport[] = [];
    s.on("drop", (x: SinkReport) => problems.push(x));
    s.on("error", (x: SinkReport) => problems.push(x));
    let phase = 0;
    const sent = await load(s, 1000, 12, (t) => {
      if (phase === 0 && t >= 1000) {
        phase = 1;
        void r.stop();
      } else if (phase === 1 && t >= 11_000) {
        phase = 2;
        void r.start();
      }
    });
    await s.shutdown();
    const received = r.accepted();
    expect(problems).toEqual([]);
    expect(new Set(received).size).toBe(received.length); // no duplicates either
    expect(received.length).toBe(sent.length);
    expect(new Set(received)).toEqual(new Set(sent));
    expect(await registry.getSingleMetricAsString("apiserver_audit_error_total")).not.toMatch(
      /plugin=/,
    );
  }, 30_000);

  it("with a buffer too small, the dropped counter equals exactly sent − received", async () => {
    const r = await startReceiver();
    receivers.push(r);
    r.answer = () => ({ status: 200, delay: 20 });
    const registry = new Registry();
    const webhook = createWebhookSink({
      kubeconfig: { clusters: [{ cluster: { server: r.url } }] },
      allowInsecureHttp: true,
      registry,
    });
    const s = buffered(webhook, {
      bufferSize: 50,
      maxBatchSize: 10,
      throttleQPS: 20,
      throttleBurst: 1,
      registry,
    });
    let dropped = 0;
    s.on("drop", (x: SinkReport) => {
      dropped += x.events.length;
    });
    const sent = await load(s, 1000, 1);
    await s.shutdown();
    const received = r.accepted();
    expect(received.length).toBeGreaterThan(0);
    expect(dropped).toBeGreaterThan(0);
    expect(dropped).toBe(sent.length - received.length);
    const metric = await registry.getSingleMetricAsString("apiserver_audit_error_total");
    expect(metric).toContain(
      `apiserver_audit_error_total{plugin="buffered"} ${sent.length - received.length}`,
    );
  });

  it("with spoolDir, a buffer far too small and a receiver down loses nothing either", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kaudit-outage-spool-"));
    try {
      const r = await startReceiver();
      receivers.push(r);
      const webhook = createWebhookSink({
        kubeconfig: { clusters: [{ cluster: { server: r.url } }] },
        allowInsecureHttp: true,
        initialBackoff: 100,
        attempts: 2,
      });
      const s = buffered(webhook, {
        bufferSize: 20,
        maxBatchSize: 10,
        maxBatchWait: 100,
        throttleEnable: false,
        spoolDir: dir,
      });
      const problems: SinkReport[] = [];
      const failedAttempts: SinkReport[] = [];
      s.on("drop", (x: SinkReport) => problems.push(x));
      // deliveries that failed while the receiver was down are reported, and spooled
      s.on("error", (x: SinkReport) => failedAttempts.push(x));
      let phase = 0;
      const sent = await load(s, 500, 3, (t) => {
        if (phase === 0 && t >= 200) {
          phase = 1;
          void r.stop();
        } else if (phase === 1 && t >= 1700) {
          phase = 2;
          void r.start();
        }
      });
      await s.shutdown();
      expect(problems).toEqual([]);
      expect(failedAttempts.length).toBeGreaterThan(0);
      const received = r.accepted();
      expect(new Set(received)).toEqual(new Set(sent));
      expect(readdirSync(dir).filter((f) => f.endsWith(".spool"))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
