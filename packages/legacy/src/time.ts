/**
 * RFC 3339 timestamps as the legacy format writes them (Go's `time.RFC3339Nano`) and as v1
 * events carry them (metav1.MicroTime: UTC, exactly six fractional digits). Done on strings so
 * that nanoseconds survive (a JavaScript number of milliseconds cannot hold them).
 */

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

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

/** Parses an RFC 3339 time with up to nine fractional digits; `undefined` if it is not one. */
export function parseRfc3339(text: string): ParsedTime | undefined {
  const m = RFC3339.exec(text);
  if (m === null) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = Number(m[6]);
  if (month < 1 || month > 12 || day < 1 || day > DAYS[month - 1]!) return undefined;
  if (month === 2 && day === 29 && !(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0))) {
    return undefined;
  }
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMinutes = 0;
  if (m[8] === undefined) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return undefined;
    offsetMinutes = (m[9] === "-" ? -1 : 1) * (oh * 60 + om);
  }
  let utcSeconds = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}`;
  if (offsetMinutes !== 0) {
    const d = new Date(0);
    d.setUTCFullYear(year, month - 1, day);
    d.setUTCHours(hour, minute - offsetMinutes, second, 0);
    utcSeconds = isoSeconds(d);
  }
  return { utcSeconds, fraction: m[7] ?? "", offsetMinutes };
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
