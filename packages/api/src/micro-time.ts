import type { MicroTime } from "./types";

const CANONICAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Formats a time the way kube's MicroTime marshals: UTC, exactly six fractional digits, `Z`.
 * A number is epoch milliseconds and may carry a fraction (microseconds). It is rounded to the
 * nearest microsecond: a double cannot hold epoch microseconds exactly as a fraction of a
 * millisecond, so truncating would turn `.125094` into `.125093`.
 */
export function formatMicroTime(time: Date | number): MicroTime {
  const ms = typeof time === "number" ? time : time.getTime();
  const micros = Math.round(ms * 1000);
  const seconds = Math.floor(micros / 1e6);
  const frac = micros - seconds * 1e6;
  return `${new Date(seconds * 1000).toISOString().slice(0, 19)}.${String(frac).padStart(6, "0")}Z`;
}

/** The current time as a MicroTime, with microsecond resolution from the monotonic clock. */
export function nowMicroTime(): MicroTime {
  return formatMicroTime(performance.timeOrigin + performance.now());
}

function daysIn(month: number, year: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

const two = (text: string, i: number) =>
  (text.charCodeAt(i) - 0x30) * 10 + text.charCodeAt(i + 1) - 0x30;

/**
 * Why Go's time.Parse refuses `text`, which has the RFC 3339 shape (so its fields sit at fixed
 * places: read there, 4× cheaper than a match's captures), in its words and its order
 * (time/format.go `parse`): month 1–12, hour < 24, minute < 60, second < 60 (no leap second),
 * offset hour ≤ 24 and minute ≤ 60 while reading; the day against its month last. Undefined
 * when the fields are in range.
 */
function rangeError(text: string): string | undefined {
  const month = two(text, 5);
  if (month < 1 || month > 12) return "month out of range";
  if (two(text, 11) > 23) return "hour out of range";
  if (two(text, 14) > 59) return "minute out of range";
  if (two(text, 17) > 59) return "second out of range";
  const last = text.charCodeAt(text.length - 1);
  if (last !== 0x5a && last !== 0x7a) {
    // `±hh:mm` closes the text
    if (two(text, text.length - 5) > 24) return "time zone offset hour out of range";
    if (two(text, text.length - 2) > 60) return "time zone offset minute out of range";
  }
  const day = two(text, 8);
  if (day < 1 || day > daysIn(month, two(text, 0) * 100 + two(text, 2))) return "day out of range";
  return undefined;
}

/**
 * What is wrong with a time that has the schema's MicroTime shape (RFC 3339: date, `T`, time,
 * optional fraction, `Z` or `±hh:mm`) but names no real time — `month out of range`, `day out
 * of range` (a 30 February), … as Go's time.Parse says it, which kube's decoder would refuse.
 * Undefined when it is a real time. Text of another shape: the schema's pattern reports it.
 */
export function microTimeRangeError(text: string): string | undefined {
  return RFC3339.test(text) ? rangeError(text) : undefined;
}

/** Date.UTC, except that years 0–99 stay years 0–99 (Date.UTC reads them as 1900–1999). */
function utcMs(y: number, mo: number, d: number, h: number, mi: number, s: number): number {
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  if (y >= 100) return ms;
  const t = new Date(ms);
  t.setUTCFullYear(y, mo - 1, d);
  return t.getTime();
}

/** Epoch milliseconds (to the microsecond) of `m`, RFC3339's match of `text`; NaN when Go would refuse it. */
function msOf(text: string, m: RegExpExecArray): number {
  if (rangeError(text) !== undefined) return Number.NaN;
  const [, y, mo, d, h, mi, s, frac = "", zone] = m;
  const base = utcMs(+y!, +mo!, +d!, +h!, +mi!, +s!);
  let offset = 0;
  if (zone !== "Z" && zone !== "z") {
    const sign = zone!.startsWith("-") ? -1 : 1;
    offset = sign * (+zone!.slice(1, 3) * 60 + +zone!.slice(4, 6)) * 60_000;
  }
  const micros = frac ? +frac.slice(0, 6).padEnd(6, "0") : 0;
  return base - offset + micros / 1000;
}

/**
 * Parses an RFC 3339 time (any number of fractional digits, `Z` or an offset) into epoch
 * milliseconds, fraction kept to the microsecond. Returns NaN for anything else, and for a
 * time Go would not parse either (a 30 February, hour 24, a leap second: {@link microTimeRangeError}).
 */
export function parseMicroTime(text: string): number {
  const m = RFC3339.exec(text);
  return m === null ? Number.NaN : msOf(text, m);
}

/**
 * Normalises a MicroTime for output the way a Go round trip does: null/empty stays null, a
 * canonical value is returned as is, anything else parseable is re-rendered in UTC with six
 * digits. Unparseable text, and a time Go would not parse ({@link microTimeRangeError}), is
 * returned unchanged (the validators report it): never moved to another day.
 */
export function normalizeMicroTime(value: string | null | undefined): string | null {
  if (value === null || value === undefined || value === "") return null;
  if (value.length === 27 && CANONICAL.test(value)) return value;
  const m = RFC3339.exec(value);
  if (m === null) return value;
  if (m[8] === "Z" || m[8] === "z") {
    // Already UTC: the fields as written, the fraction cut (as Go's Format does) or padded to
    // six digits. No Date in between: cheaper, and years 0–99 stay what they are.
    if (rangeError(value) !== undefined) return value;
    const [, y, mo, d, h, mi, s, frac = ""] = m;
    return `${y}-${mo}-${d}T${h}:${mi}:${s}.${frac.length >= 6 ? frac.slice(0, 6) : frac.padEnd(6, "0")}Z`;
  }
  const ms = msOf(value, m);
  return Number.isNaN(ms) ? value : formatMicroTime(ms);
}
