import type { Event } from "@kaudit/api";
import { describe, expect, it } from "vitest";
import { encodeEvent } from "./encode";
import type { SinkReport } from "./report";
import { testEvent } from "./testing/events";
import { MemorySink } from "./testing/memory-sink";
import { ANNOTATION_TRUNCATED, truncate } from "./truncate";

const size = (e: Event) => Buffer.byteLength(encodeEvent(e)) + 1;
const body = (bytes: number) => ({ data: "x".repeat(bytes) });

describe("truncate (§8.9)", () => {
  const small = testEvent();
  const base = size(small);
  // sizes are relative to a Metadata event so the table holds whatever the exact encoding is
  const cases: {
    name: string;
    event: () => Event;
    maxEventSize: () => number;
    outcome: "as-is" | "truncated" | "dropped";
  }[] = [
    {
      name: "small event passes",
      event: () => testEvent(),
      maxEventSize: () => base + 10,
      outcome: "as-is",
    },
    {
      name: "exactly maxEventSize passes",
      event: () => testEvent(),
      maxEventSize: () => base,
      outcome: "as-is",
    },
    {
      name: "Request-level event over the limit loses its bodies",
      event: () => testEvent({ level: "Request", requestObject: body(500) }),
      maxEventSize: () => base + 200,
      outcome: "truncated",
    },
    {
      name: "RequestResponse event over the limit loses both bodies",
      event: () =>
        testEvent({
          level: "RequestResponse",
          requestObject: body(300),
          responseObject: body(300),
        }),
      maxEventSize: () => base + 200,
      outcome: "truncated",
    },
    {
      name: "Metadata event over the limit is dropped, never truncated",
      event: () => testEvent({ annotations: { big: "y".repeat(500) } }),
      maxEventSize: () => base + 200,
      outcome: "dropped",
    },
    {
      name: "still too large after truncating is dropped",
      event: () =>
        testEvent({
          level: "Request",
          requestObject: body(500),
          annotations: { big: "y".repeat(500) },
        }),
      maxEventSize: () => base + 200,
      outcome: "dropped",
    },
  ];

  it.each(cases)("$name", async ({ event, maxEventSize, outcome }) => {
    const m = new MemorySink();
    const s = truncate(m, { maxEventSize: maxEventSize(), maxBatchSize: 10_000_000 });
    const got: SinkReport[] = [];
    s.on("drop", (r: SinkReport) => got.push(r));
    const e = event();
    const before = structuredClone(e);
    // dropping does not make the call fail
    expect(await s.processEvents([e])).toBe(true);
    expect(e).toEqual(before); // the caller's event is untouched
    if (outcome === "dropped") {
      expect(m.calls).toHaveLength(0);
      expect(got).toHaveLength(1);
      expect(got[0]!.plugin).toBe("truncate");
      expect(got[0]!.error.message).toBe("event is too large even after truncating");
      return;
    }
    const out = m.calls[0]![0]!;
    if (outcome === "as-is") {
      expect(out).toEqual(e);
    } else {
      expect(out.requestObject).toBeUndefined();
      expect(out.responseObject).toBeUndefined();
      expect(out.annotations?.[ANNOTATION_TRUNCATED]).toBe("true");
      expect(size(out)).toBeLessThanOrEqual(maxEventSize());
    }
    expect(got).toHaveLength(0);
  });

  it("splits a call into batches of at most maxBatchSize bytes; an event alone may exceed it", async () => {
    const m = new MemorySink();
    const events = Array.from({ length: 10 }, () => testEvent());
    const one = size(events[0]!);
    const s = truncate(m, { maxEventSize: one * 5, maxBatchSize: one * 3 });
    expect(await s.processEvents(events)).toBe(true);
    expect(m.calls.map((c) => c.length)).toEqual([3, 3, 3, 1]);
    expect(m.ids()).toEqual(events.map((e) => e.auditID));
  });

  it("returns the AND of the delegate results", async () => {
    const m = new MemorySink();
    m.behave = (_e, n) => n !== 1;
    const events = Array.from({ length: 4 }, () => testEvent());
    const s = truncate(m, {
      maxEventSize: size(events[0]!) * 2,
      maxBatchSize: size(events[0]!) * 2,
    });
    expect(await s.processEvents(events)).toBe(false);
    expect(m.calls).toHaveLength(2);
  });

  it("keeps the other events of a call when one is dropped", async () => {
    const m = new MemorySink();
    const ok = testEvent();
    const big = testEvent({ annotations: { big: "z".repeat(2000) } });
    const s = truncate(m, { maxEventSize: size(ok) + 10 });
    s.on("drop", () => {});
    expect(await s.processEvents([ok, big, ok])).toBe(true);
    expect(m.calls[0]).toHaveLength(2);
  });

  it("is named truncate<delegate>", () => {
    expect(String(truncate(new MemorySink("webhook")))).toBe("truncate<webhook>");
  });
});
