import { describe, expect, it } from "vitest";
import { formatMicroTime, nowMicroTime, parseMicroTime } from "./micro-time";

describe("MicroTime", () => {
  it("formats Dates and fractional epoch milliseconds with six digits", () => {
    expect(formatMicroTime(new Date("2026-11-22T10:04:05.123Z"))).toBe(
      "2026-11-22T10:04:05.123000Z",
    );
    expect(formatMicroTime(Date.UTC(2020, 3, 8, 16, 32, 36) + 125.094)).toBe(
      "2020-04-08T16:32:36.125094Z",
    );
    expect(formatMicroTime(0)).toBe("1970-01-01T00:00:00.000000Z");
  });
  it("parses what it formats, offsets included", () => {
    for (const t of ["2020-04-08T16:32:36.125094Z", "1999-12-31T23:59:59.999999Z"]) {
      expect(formatMicroTime(parseMicroTime(t))).toBe(t);
    }
    expect(formatMicroTime(parseMicroTime("2020-04-08T18:32:36.5+02:00"))).toBe(
      "2020-04-08T16:32:36.500000Z",
    );
    expect(parseMicroTime("yesterday")).toBeNaN();
  });
  it("gives the current time with a microsecond field", () => {
    const now = nowMicroTime();
    expect(now).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
    expect(Math.abs(parseMicroTime(now) - Date.now())).toBeLessThan(1000);
  });
});
