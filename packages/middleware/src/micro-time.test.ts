import { formatMicroTime } from "@kaudit/api";
import { describe, expect, it } from "vitest";
import { formatMicroTimeLocal } from "./micro-time";

// The middleware keeps a per-second cached formatter on its hot path; it must agree with
// @kaudit/api's formatMicroTime everywhere.
describe("formatMicroTimeLocal", () => {
  const cases: [number, string][] = [
    [Date.UTC(2026, 10, 22, 10, 4, 5) + 123.456, "2026-11-22T10:04:05.123456Z"],
    [Date.UTC(2026, 10, 22, 10, 4, 5), "2026-11-22T10:04:05.000000Z"],
    [Date.UTC(2026, 10, 22, 10, 4, 5) + 999.9996, "2026-11-22T10:04:06.000000Z"],
    [Date.UTC(1999, 11, 31, 23, 59, 59) + 0.001, "1999-12-31T23:59:59.000001Z"],
    [0, "1970-01-01T00:00:00.000000Z"],
  ];
  for (const [ms, want] of cases) {
    it(want, () => {
      expect(formatMicroTimeLocal(ms)).toBe(want);
      expect(formatMicroTime(ms)).toBe(want);
    });
  }

  it("agrees with @kaudit/api formatMicroTime on 20k times, across second boundaries", () => {
    let t = Date.UTC(2026, 0, 1) - 5000;
    for (let i = 0; i < 20_000; i++) {
      t += ((i * 7919) % 1000) / 1.7 + 0.0013;
      expect(formatMicroTimeLocal(t)).toBe(formatMicroTime(t));
    }
  });
});
