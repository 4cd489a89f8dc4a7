import { describe, expect, it } from "vitest";
import {
  formatMicroTime,
  microTimeRangeError,
  normalizeMicroTime,
  nowMicroTime,
  parseMicroTime,
} from "./micro-time";

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

/**
 * Go's time.Parse (time/format.go `parse`), which kube's MicroTime decoder calls: it checks the
 * month, hour, minute, second and offset as it reads them, in that order, and the day against
 * its month last; the output column is what a Go round trip writes (UTC, six digits, `Z`).
 */
const GO_PARSE: [text: string, refused: string | undefined, written: string | undefined][] = [
  ["2017-13-01T00:00:00Z", "month out of range", undefined],
  ["2017-00-01T00:00:00Z", "month out of range", undefined],
  ["2017-02-29T00:00:00Z", "day out of range", undefined],
  ["1900-02-29T00:00:00Z", "day out of range", undefined],
  ["2017-04-31T12:00:00Z", "day out of range", undefined],
  ["2017-01-00T12:00:00Z", "day out of range", undefined],
  ["2017-01-01T24:00:00Z", "hour out of range", undefined],
  ["2017-01-01T23:60:00Z", "minute out of range", undefined],
  ["2016-12-31T23:59:60Z", "second out of range", undefined],
  // the hour is read before the day is checked; the month before the hour
  ["2017-02-30T25:00:00Z", "hour out of range", undefined],
  ["2017-13-45T25:00:00Z", "month out of range", undefined],
  ["2017-01-01T00:00:00+25:00", "time zone offset hour out of range", undefined],
  ["2017-01-01T00:00:00+01:61", "time zone offset minute out of range", undefined],
  // in range: Go allows offsets of 24 hours and 60 minutes
  ["2017-01-01T00:00:00+24:00", undefined, "2016-12-31T00:00:00.000000Z"],
  ["2017-01-01T00:00:00-00:60", undefined, "2017-01-01T01:00:00.000000Z"],
  ["2016-02-29T00:00:00Z", undefined, "2016-02-29T00:00:00.000000Z"],
  ["2000-02-29T23:59:59.999999Z", undefined, "2000-02-29T23:59:59.999999Z"],
  ["0017-06-01T12:00:00Z", undefined, "0017-06-01T12:00:00.000000Z"],
  ["0017-06-01T12:00:00+01:00", undefined, "0017-06-01T11:00:00.000000Z"],
  ["0000-01-01T00:00:00.5Z", undefined, "0000-01-01T00:00:00.500000Z"],
  ["2017-09-05T06:08:19.885328047Z", undefined, "2017-09-05T06:08:19.885328Z"],
  ["2017-09-05T08:08:19.1+02:00", undefined, "2017-09-05T06:08:19.100000Z"],
];

describe("MicroTime ranges, as Go's time.Parse", () => {
  it.each(GO_PARSE)("%s: %s", (text, refused, written) => {
    expect(microTimeRangeError(text)).toBe(refused);
    if (refused === undefined) {
      expect(normalizeMicroTime(text)).toBe(written);
      expect(formatMicroTime(parseMicroTime(text))).toBe(written);
    } else {
      // never moved to another day: left as written, for the validators to report
      expect(normalizeMicroTime(text)).toBe(text);
      expect(parseMicroTime(text)).toBeNaN();
    }
  });

  it("has nothing to say of text that is not RFC 3339 (the schema's pattern says that)", () => {
    expect(microTimeRangeError("yesterday")).toBeUndefined();
    expect(microTimeRangeError("2017-02-30")).toBeUndefined();
  });
});
