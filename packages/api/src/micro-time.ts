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

/**
 * Parses an RFC 3339 time (any number of fractional digits, `Z` or an offset) into epoch
 * milliseconds, fraction kept to the microsecond. Returns NaN for anything else.
 */
export function parseMicroTime(text: string): number {
  const m = RFC3339.exec(text);
  if (!m) return Number.NaN;
  const [, y, mo, d, h, mi, s, frac = "", zone] = m;
  const base = Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +s!);
  if (Number.isNaN(base)) return Number.NaN;
  let offset = 0;
  if (zone !== "Z" && zone !== "z") {
    const sign = zone!.startsWith("-") ? -1 : 1;
    offset = sign * (+zone!.slice(1, 3) * 60 + +zone!.slice(4, 6)) * 60_000;
  }
  const micros = frac ? +frac.slice(0, 6).padEnd(6, "0") : 0;
  return base - offset + micros / 1000;
}

/**
 * Normalises a MicroTime for output the way a Go round trip does: null/empty stays null, a
 * canonical value is returned as is, anything else parseable is re-rendered in UTC with six
 * digits. Unparseable text is returned unchanged (the validators report it).
 */
export function normalizeMicroTime(value: string | null | undefined): string | null {
  if (value === null || value === undefined || value === "") return null;
  if (value.length === 27 && CANONICAL.test(value)) return value;
  const ms = parseMicroTime(value);
  return Number.isNaN(ms) ? value : formatMicroTime(ms);
}
