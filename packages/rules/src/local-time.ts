/**
 * Wall-clock parts (hour, weekday, date) of an instant in an IANA time zone, for the
 * `kaudit.hour` / `kaudit.weekday` fields and working-hours windows. Intl formatting is slow, so
 * each zone remembers the last minute it formatted: a log is mostly in time order.
 */

/** The wall-clock parts of an instant in a time zone. */
export interface LocalParts {
  /** 0 ... 23 */
  hour: number;
  /** 0 ... 59 */
  minute: number;
  /** `mon`, `tue`, ... `sun` */
  weekday: string;
  /** `2026-12-24` */
  date: string;
}

/** The weekday names used by `kaudit.weekday` and time windows, Monday first. */
export const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;

interface ZoneCache {
  format: Intl.DateTimeFormat;
  minute: number;
  parts: LocalParts | undefined;
}

const zones = new Map<string, ZoneCache>();

/** True when `tz` names a time zone this runtime knows (`UTC`, `Europe/Berlin`, ...). */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function zone(tz: string): ZoneCache {
  let z = zones.get(tz);
  if (z === undefined) {
    z = {
      format: new Intl.DateTimeFormat("en-US", {
        timeZone: tz,
        hourCycle: "h23",
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
        hour: "2-digit",
        minute: "2-digit",
        weekday: "short",
      }),
      minute: Number.NaN,
      parts: undefined,
    };
    zones.set(tz, z);
  }
  return z;
}

/** Hour, minute, weekday and date of `ms` (epoch milliseconds) in `tz`. */
export function localParts(ms: number, tz: string): LocalParts {
  const z = zone(tz);
  const minute = Math.floor(ms / 60000);
  if (minute === z.minute && z.parts !== undefined) return z.parts;
  const p: Record<string, string> = {};
  for (const part of z.format.formatToParts(new Date(minute * 60000))) p[part.type] = part.value;
  const parts: LocalParts = {
    hour: Number(p.hour),
    minute: Number(p.minute),
    weekday: (p.weekday ?? "").toLowerCase().slice(0, 3),
    date: `${p.year}-${p.month}-${p.day}`,
  };
  z.minute = minute;
  z.parts = parts;
  return parts;
}
