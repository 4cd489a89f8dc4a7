import { describe, expect, it } from "vitest";
import { MAX_BUCKETS, Timeline, WRITERS_PER_BUCKET } from "./timeline";

const T0 = Date.UTC(2026, 10, 22, 10, 0, 0);

describe("Timeline", () => {
  it("keeps one-second buckets for a short log, empty ones included", () => {
    const t = new Timeline();
    t.add(T0, { code: 200, cls: "2xx", latency: 5 });
    t.add(T0 + 2500, { code: 403, cls: "4xx" });
    const b = t.report([]);
    expect(t.bucketSeconds).toBe(1);
    expect(b.map((x) => [x.start, x["2xx"], x["4xx"], x["403"], x.latency.count])).toEqual([
      ["2026-11-22T10:00:00.000Z", 1, 0, 0, 1],
      ["2026-11-22T10:00:01.000Z", 0, 0, 0, 0],
      ["2026-11-22T10:00:02.000Z", 0, 1, 1, 0],
    ]);
  });

  it.each([
    [60_000, 1],
    [MAX_BUCKETS * 1000, 1],
    [MAX_BUCKETS * 1000 + 1000, 5],
    [3_600_000, 10],
    [3_600_000 + 10_000, 30],
    [86_400_000, 300],
    [30 * 86_400_000, 10_800],
  ])("a log spanning %i ms gets %i s buckets, never more than MAX_BUCKETS", (span, width) => {
    const t = new Timeline();
    // Out of order on purpose: a merged log is not sorted.
    t.add(T0 + span - 1, { code: 200, cls: "2xx" });
    t.add(T0, { code: 401, cls: "4xx" });
    t.add(T0 + span / 2, { code: 500, cls: "5xx" });
    expect(t.bucketSeconds).toBe(width);
    const b = t.report([]);
    expect(b.length).toBeLessThanOrEqual(MAX_BUCKETS);
    const sum = (k: "2xx" | "4xx" | "5xx" | "401") => b.reduce((n, x) => n + x[k], 0);
    expect([sum("2xx"), sum("4xx"), sum("5xx"), sum("401")]).toEqual([1, 1, 1, 1]);
  });

  it("merges latency and writers when buckets widen", () => {
    const t = new Timeline();
    for (let i = 0; i < 1000; i++) {
      t.add(T0 + i * 1000, { code: 200, cls: "2xx", latency: i, writer: i % 2 ? "alice" : "bob" });
    }
    const b = t.report(["alice"]);
    expect(b.reduce((n, x) => n + x.latency.count, 0)).toBe(1000);
    expect(b.reduce((n, x) => n + (x.writes.alice ?? 0), 0)).toBe(500);
    expect(b.reduce((n, x) => n + (x.writes["(other)"] ?? 0), 0)).toBe(500);
    expect(Math.max(...b.map((x) => x.latency.max))).toBe(999);
  });

  it("counts writers past the per-bucket cap as (other), losing none", () => {
    const t = new Timeline();
    for (let i = 0; i < WRITERS_PER_BUCKET + 10; i++) {
      t.add(T0, { code: 201, cls: "2xx", writer: `u${i}` });
    }
    const [b] = t.report(["u0", `u${WRITERS_PER_BUCKET + 5}`]);
    expect(b!.writes.u0).toBe(1);
    expect(b!.writes[`u${WRITERS_PER_BUCKET + 5}`]).toBeUndefined();
    expect(Object.values(b!.writes).reduce((n, x) => n + x, 0)).toBe(WRITERS_PER_BUCKET + 10);
  });
});
