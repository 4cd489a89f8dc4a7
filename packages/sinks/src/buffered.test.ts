import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Registry } from "prom-client";
import { afterAll, describe, expect, it } from "vitest";
import { buffered } from "./buffered";
import type { SinkReport } from "./report";
import { testEvent } from "./testing/events";
import { gate, MemorySink } from "./testing/memory-sink";

const noThrottle = { throttleEnable: false } as const;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function drops(s: ReturnType<typeof buffered>): SinkReport[] {
  const out: SinkReport[] = [];
  s.on("drop", (r: SinkReport) => out.push(r));
  return out;
}

describe("buffered", () => {
  it("is named buffered<delegate>", async () => {
    const s = buffered(new MemorySink("webhook"));
    expect(String(s)).toBe("buffered<webhook>");
    await s.shutdown();
  });

  it("sends full batches at once and the rest at shutdown, in order", async () => {
    const m = new MemorySink();
    const s = buffered(m, { ...noThrottle, maxBatchSize: 400, maxBatchWait: 60_000 });
    const events = Array.from({ length: 1000 }, () => testEvent());
    for (const e of events) expect(s.processEvents([e])).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    expect(m.calls.map((c) => c.length)).toEqual([400, 400]);
    await s.shutdown();
    expect(m.calls.map((c) => c.length)).toEqual([400, 400, 200]);
    expect(m.ids()).toEqual(events.map((e) => e.auditID));
    expect(m.shutdownCalled).toBe(1);
  });

  it("sends a partial batch maxBatchWait after the previous dispatch", async () => {
    const m = new MemorySink();
    const s = buffered(m, { ...noThrottle, maxBatchSize: 100, maxBatchWait: 150 });
    const t0 = performance.now();
    s.processEvents([testEvent(), testEvent()]);
    while (m.calls.length === 0) await new Promise((r) => setTimeout(r, 5));
    const waited = performance.now() - t0;
    expect(m.calls[0]).toHaveLength(2);
    expect(waited).toBeGreaterThanOrEqual(140);
    expect(waited).toBeLessThan(2000);
    await s.shutdown();
  });

  it("copies events: later mutation by the caller is not seen", async () => {
    const m = new MemorySink();
    const s = buffered(m, { ...noThrottle, maxBatchSize: 1 });
    const e = testEvent();
    s.processEvents([e]);
    e.annotations = { changed: "yes" };
    e.stage = "Panic";
    await s.shutdown();
    expect(m.calls[0]![0]!.stage).toBe("ResponseComplete");
    expect(m.calls[0]![0]!.annotations).not.toHaveProperty("changed");
  });

  it("never blocks: a full queue drops the event and the rest of its call, counted exactly", async () => {
    const m = new MemorySink();
    const hold = gate();
    m.behave = async () => {
      await hold.promise;
      return true;
    };
    const registry = new Registry();
    const s = buffered(m, {
      ...noThrottle,
      bufferSize: 10,
      maxBatchSize: 5,
      async: false,
      registry,
    });
    const got = drops(s);
    const sent = Array.from({ length: 40 }, () => testEvent());
    // first call fills a batch that the (held) delegate takes; then the queue fills
    s.processEvents(sent.slice(0, 5));
    await new Promise((r) => setTimeout(r, 20));
    // answered synchronously (a boolean, not a promise) while the delegate is stuck
    expect(s.processEvents(sent.slice(5, 12))).toBe(true); // 7 queued
    expect(s.processEvents(sent.slice(12, 20))).toBe(true); // 3 fit, 5 dropped with the rest
    expect(s.processEvents(sent.slice(20))).toBe(true); // all 20 dropped
    expect(got.map((r) => r.events.length)).toEqual([5, 20]);
    expect(
      got.every((r) => r.plugin === "buffered" && r.error.message === "audit buffer queue blocked"),
    ).toBe(true);
    expect(got[0]!.events.map((e) => e.auditID)).toEqual(sent.slice(15, 20).map((e) => e.auditID));
    hold.open();
    await s.shutdown();
    const dropped = got.reduce((n, r) => n + r.events.length, 0);
    expect(m.ids().length).toBe(sent.length - dropped);
    const metric = await registry.getSingleMetricAsString("apiserver_audit_error_total");
    expect(metric).toContain(`apiserver_audit_error_total{plugin="buffered"} ${dropped}`);
  });

  it("reports an event it cannot encode and queues the rest of the call", async () => {
    const m = new MemorySink();
    const s = buffered(m, { ...noThrottle, maxBatchSize: 10 });
    const errors: SinkReport[] = [];
    s.on("error", (r: SinkReport) => errors.push(r));
    // A value that contains itself is the one thing encodeEvent refuses (EncodeError).
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const bad = testEvent({ requestObject: cyclic as never, level: "Request" });
    const good = [testEvent(), testEvent()];
    expect(s.processEvents([good[0]!, bad, good[1]!])).toBe(true);
    await s.shutdown();
    expect(errors.map((r) => [r.plugin, r.events.map((e) => e.auditID)])).toEqual([
      ["buffered", [bad.auditID]],
    ]);
    expect(m.ids()).toEqual(good.map((e) => e.auditID));
  });

  it("counts events offered after shutdown", async () => {
    const s = buffered(new MemorySink(), noThrottle);
    const got = drops(s);
    await s.shutdown();
    expect(s.processEvents([testEvent(), testEvent()])).toBe(true);
    expect(got[0]!.error.message).toBe("audit backend shut down");
    expect(got[0]!.events).toHaveLength(2);
  });

  it("throttles batches with a token bucket (burst, then qps)", async () => {
    const m = new MemorySink();
    const s = buffered(m, {
      maxBatchSize: 1,
      throttleEnable: true,
      throttleQPS: 20,
      throttleBurst: 2,
    });
    const t0 = performance.now();
    for (let i = 0; i < 10; i++) s.processEvents([testEvent()]);
    await s.shutdown();
    const took = performance.now() - t0;
    expect(m.calls).toHaveLength(10);
    expect(took).toBeGreaterThanOrEqual(((10 - 2) / 20) * 1000 - 20);
    expect(took).toBeLessThan(5000);
  });

  it("bounds concurrent async batches by maxInFlight", async () => {
    const m = new MemorySink();
    let open = 0;
    let peak = 0;
    m.behave = async () => {
      open++;
      peak = Math.max(peak, open);
      await new Promise((r) => setTimeout(r, 20));
      open--;
      return true;
    };
    const s = buffered(m, { ...noThrottle, maxBatchSize: 2, maxInFlight: 3 });
    for (let i = 0; i < 40; i++) s.processEvents([testEvent()]);
    await s.shutdown();
    expect(m.calls).toHaveLength(20);
    expect(peak).toBe(3);
  });

  it("survives a delegate that throws, reporting the batch", async () => {
    const m = new MemorySink();
    m.behave = () => {
      throw new Error("boom");
    };
    const s = buffered(m, { ...noThrottle, maxBatchSize: 2 });
    const errors: SinkReport[] = [];
    s.on("error", (r: SinkReport) => errors.push(r));
    s.processEvents([testEvent(), testEvent()]);
    await s.shutdown();
    expect(errors).toHaveLength(1);
    expect(errors[0]!.events).toHaveLength(2);
  });
});

describe("buffered spool", () => {
  const spoolDir = () => {
    const d = mkdtempSync(join(tmpdir(), "kaudit-spool-"));
    dirs.push(d);
    return d;
  };

  it("writes overflow to disk instead of dropping, and delivers it in order", async () => {
    const dir = spoolDir();
    const m = new MemorySink();
    const hold = gate();
    m.behave = async (_e, n) => {
      if (n === 0) await hold.promise;
      return true;
    };
    const s = buffered(m, {
      ...noThrottle,
      bufferSize: 10,
      maxBatchSize: 5,
      async: false,
      spoolDir: dir,
    });
    const got = drops(s);
    const sent = Array.from({ length: 100 }, () => testEvent());
    s.processEvents(sent.slice(0, 5));
    await new Promise((r) => setTimeout(r, 20));
    for (let i = 5; i < 100; i += 5) s.processEvents(sent.slice(i, i + 5));
    expect(readdirSync(dir).length).toBeGreaterThan(0);
    hold.open();
    await s.shutdown();
    expect(got).toHaveLength(0);
    expect(m.ids()).toEqual(sent.map((e) => e.auditID));
  });

  it("keeps batches whose delivery failed and delivers them after a restart, in order", async () => {
    const dir = spoolDir();
    const down = new MemorySink();
    down.behave = () => false;
    const first = buffered(down, { ...noThrottle, maxBatchSize: 10, spoolDir: dir });
    const sent = Array.from({ length: 50 }, () => testEvent());
    for (let i = 0; i < 50; i += 10) first.processEvents(sent.slice(i, i + 10));
    await first.shutdown();
    expect(readdirSync(dir).filter((f) => f.endsWith(".spool")).length).toBeGreaterThan(0);

    const up = new MemorySink();
    const second = buffered(up, { ...noThrottle, maxBatchSize: 10, spoolDir: dir });
    const later = testEvent();
    second.processEvents([later]);
    await second.shutdown();
    expect(up.ids()).toEqual([...sent.map((e) => e.auditID), later.auditID]);
    expect(readdirSync(dir).filter((f) => f.endsWith(".spool"))).toEqual([]);
  });

  it("drops, counted, what exceeds the spool's disk budget", async () => {
    const dir = spoolDir();
    const m = new MemorySink();
    const hold = gate();
    m.behave = async () => {
      await hold.promise;
      return true;
    };
    const s = buffered(m, {
      ...noThrottle,
      bufferSize: 5,
      maxBatchSize: 5,
      async: false,
      spoolDir: dir,
      spoolMaxBytes: 4096,
    });
    const got = drops(s);
    const sent = Array.from({ length: 60 }, () => testEvent());
    for (const e of sent) s.processEvents([e]);
    const dropped = got.reduce((n, r) => n + r.events.length, 0);
    expect(got.every((r) => r.error.message === "audit spool full")).toBe(true);
    expect(dropped).toBeGreaterThan(0);
    hold.open();
    await s.shutdown();
    expect(m.ids().length).toBe(sent.length - dropped);
  });

  it("reports a spool it cannot write, and keeps running", async () => {
    const dir = spoolDir();
    const m = new MemorySink();
    const hold = gate();
    m.behave = async () => {
      await hold.promise;
      return true;
    };
    const s = buffered(m, {
      ...noThrottle,
      bufferSize: 2,
      maxBatchSize: 2,
      async: false,
      spoolDir: dir,
    });
    const errors: SinkReport[] = [];
    s.on("error", (r: SinkReport) => errors.push(r));
    // the spool directory vanishes and a file takes its place: every write now fails
    rmSync(dir, { recursive: true });
    writeFileSync(dir, "not a directory");
    for (let i = 0; i < 10; i++) expect(s.processEvents([testEvent()])).toBe(true);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]!.error.message).toMatch(/^audit spool write failed: ENOTDIR/);
    const failed = errors.reduce((n, r) => n + r.events.length, 0);
    hold.open();
    await s.shutdown();
    expect(m.ids().length + failed).toBe(10);
    rmSync(dir);
    mkdirSync(dir);
  });
});
