import { describe, expect, it } from "vitest";
import { backoffDelays, parseRetryAfter } from "./backoff";

const reference = { initial: 10_000, factor: 1.5, jitter: 0.2, steps: 5 };

describe("backoffDelays (wait.Backoff{10s, 1.5, 0.2, 5})", () => {
  it("sleeps 10 s, 15 s, 22.5 s, 33.75 s between 5 attempts without jitter", () => {
    expect(backoffDelays(reference, () => 0)).toEqual([10_000, 15_000, 22_500, 33_750]);
  });
  it("stretches each sleep by at most 20 %", () => {
    expect(backoffDelays(reference, () => 0.999999).map(Math.round)).toEqual([
      12_000, 18_000, 27_000, 40_500,
    ]);
    expect(backoffDelays(reference, () => 0.5)).toEqual([11_000, 16_500, 24_750, 37_125]);
  });
  it("one step means one attempt and no sleep", () => {
    expect(backoffDelays({ ...reference, steps: 1 })).toEqual([]);
  });
});

describe("parseRetryAfter", () => {
  it.each([
    ["3", 3000],
    [" 0 ", 0],
    ["", undefined],
    [undefined, undefined],
    ["soon", undefined],
    ["Sun, 22 Nov 2026 10:00:05 GMT", 5000],
    ["Sun, 22 Nov 2026 09:00:00 GMT", 0],
  ] as const)("%j → %j", (header, ms) => {
    expect(parseRetryAfter(header, Date.parse("Sun, 22 Nov 2026 10:00:00 GMT"))).toBe(ms);
  });
});
