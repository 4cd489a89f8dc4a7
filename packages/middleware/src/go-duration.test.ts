import { describe, expect, it } from "vitest";
import { formatGoDuration } from "./go-duration";

describe("formatGoDuration (Go time.Duration.String)", () => {
  const cases: [number, string][] = [
    [0, "0s"],
    [1, "1ns"],
    [999, "999ns"],
    [1000, "1µs"],
    [1500, "1.5µs"],
    [800_000, "800µs"],
    [1_000_000, "1ms"],
    [501_234_567, "501.234567ms"],
    [500_000_001, "500.000001ms"],
    [1_000_000_000, "1s"],
    [1_200_000_000, "1.2s"],
    [62_500_000_000, "1m2.5s"],
    [120_000_000_000, "2m0s"],
    [3_600_000_000_000, "1h0m0s"],
    [3_723_000_000_001, "1h2m3.000000001s"],
    [-1_500_000, "-1.5ms"],
  ];
  for (const [ns, want] of cases) {
    it(`${ns}ns → ${want}`, () => expect(formatGoDuration(ns)).toBe(want));
  }
});
