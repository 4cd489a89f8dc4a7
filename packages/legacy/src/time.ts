/**
 * RFC 3339 timestamps as the legacy format writes them (Go's `time.RFC3339Nano`) and as v1
 * events carry them (metav1.MicroTime: UTC, exactly six fractional digits). Done on strings so
 * that nanoseconds survive (a JavaScript number of milliseconds cannot hold them).
 */

/** Go's zero time, written by the legacy backend for an event without requestReceivedTimestamp. */
export const GO_ZERO_TIME = "0001-01-01T00:00:00Z";

/** A parsed RFC 3339 time: whole seconds (UTC, as an ISO date-time without fraction) + fraction digits. */
export interface ParsedTime {
  /** `YYYY-MM-DDTHH:MM:SS` in UTC. */
  utcSeconds: string;
  /** Fractional-second digits as written (up to 9), possibly empty. */
  fraction: string;
  /** Offset from UTC in minutes as written (0 for `Z`). */
  offsetMinutes: number;
}

const DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function digits(text: string, at: number, count: number): number {
  let v = 0;
  for (let i = at; i < at + count; i++) {
    const d = text.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** The last offset conversion, reused: consecutive lines usually share their second. */
let lastLocal = "";
let lastUtc = "";

/** Parses an RFC 3339 time with up to nine fractional digits; `undefined` if it is not one. */
export function parseRfc3339(text: string): ParsedTime | undefined {
  // YYYY-MM-DDTHH:MM:SS[.fffffffff](Z|±HH:MM), checked by position (hot path: every line).
  const n = text.length;
  if (n < 20) return undefined;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  const t = text.charCodeAt(10);
  if (
    year < 0 ||
    month < 1 ||
    day < 1 ||
    hour < 0 ||
    minute < 0 ||
    second < 0 ||
    text.charCodeAt(4) !== 0x2d ||
    text.charCodeAt(7) !== 0x2d ||
    (t !== 0x54 && t !== 0x74) ||
    text.charCodeAt(13) !== 0x3a ||
    text.charCodeAt(16) !== 0x3a
  ) {
    return undefined;
  }
  if (month > 12 || day > DAYS[month - 1]! || hour > 23 || minute > 59 || second > 59)
    return undefined;
  if (month === 2 && day === 29 && !(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0))) {
    return undefined;
  }
  let pos = 19;
  let fraction = "";
  if (text.charCodeAt(pos) === 0x2e) {
    let end = pos + 1;
    while (end < n && end - pos <= 9) {
      const d = text.charCodeAt(end);
      if (d < 0x30 || d > 0x39) break;
      end++;
    }
    if (end === pos + 1) return undefined;
    fraction = text.slice(pos + 1, end);
    pos = end;
  }
  let offsetMinutes = 0;
  const z = text.charCodeAt(pos);
  if (z === 0x5a || z === 0x7a) {
    if (pos + 1 !== n) return undefined;
  } else if (z === 0x2b || z === 0x2d) {
    if (pos + 6 !== n || text.charCodeAt(pos + 3) !== 0x3a) return undefined;
    const oh = digits(text, pos + 1, 2);
    const om = digits(text, pos + 4, 2);
    if (oh < 0 || om < 0 || oh > 23 || om > 59) return undefined;
    offsetMinutes = (z === 0x2d ? -1 : 1) * (oh * 60 + om);
  } else {
    return undefined;
  }
  let utcSeconds = t === 0x54 ? text.slice(0, 19) : `${text.slice(0, 10)}T${text.slice(11, 19)}`;
  if (offsetMinutes !== 0) {
    const local = `${utcSeconds}${text.slice(pos)}`;
    if (local !== lastLocal) {
      const d = new Date(0);
      d.setUTCFullYear(year, month - 1, day);
      d.setUTCHours(hour, minute - offsetMinutes, second, 0);
      lastUtc = isoSeconds(d);
      lastLocal = local;
    }
    utcSeconds = lastUtc;
  }
  return { utcSeconds, fraction, offsetMinutes };
}

function isoSeconds(d: Date): string {
  const y = d.getUTCFullYear();
  const p2 = (n: number) => String(n).padStart(2, "0");
  return `${String(y).padStart(4, "0")}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())}T${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`;
}

/**
 * RFC 3339 text → MicroTime (UTC, six fractional digits, truncated like Go), or `null` for Go's
 * zero time (which the JSON encoder writes as `null`).
 */
export function toMicroTime(t: ParsedTime): string | null {
  if (t.utcSeconds === "0001-01-01T00:00:00" && /^0*$/.test(t.fraction)) return null;
  if (t.fraction.length === 6) return `${t.utcSeconds}.${t.fraction}Z`;
  return `${t.utcSeconds}.${t.fraction.padEnd(6, "0").slice(0, 6)}Z`;
}

/**
 * A MicroTime (or any RFC 3339 time) → Go's `Format(time.RFC3339Nano)` in UTC: fraction with
 * trailing zeros removed, none if zero; `null`/absent → Go's zero time. `undefined` if the
 * text is not an RFC 3339 time.
 */
export function toRfc3339Nano(time: string | null | undefined): string | undefined {
  if (time === null || time === undefined || time === "") return GO_ZERO_TIME;
  const t = parseRfc3339(time);
  if (t === undefined) return undefined;
  const fraction = t.fraction.replace(/0+$/, "");
  return fraction === "" ? `${t.utcSeconds}Z` : `${t.utcSeconds}.${fraction}Z`;
}
