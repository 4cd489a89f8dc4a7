/**
 * kaudit time windows: named periods a rule can be limited to (`inside`) or kept out of
 * (`outside`) — a change freeze between two dates, working hours on weekdays in a time zone.
 */
import { localParts, WEEKDAYS } from "./local-time";

/** A time window as written in a rules file (`- kaudit.time_window: name`). */
export interface TimeWindowSpec {
  name: string;
  /** Absolute periods `[from, to)`, epoch ms. Empty: the window is never open. */
  periods?: { from: number; to: number }[] | undefined;
  /** Days the window is open, `mon` ... `sun`, in `timeZone`. */
  weekdays?: string[] | undefined;
  /** Minutes after local midnight `[from, to)` the window is open, in `timeZone`. */
  hours?: { from: number; to: number } | undefined;
  /** IANA zone for weekdays and hours; defaults to the rule set's time zone. */
  timeZone?: string | undefined;
}

/** A compiled window: `open(ms)` says whether an instant falls inside it. */
export interface TimeWindow {
  name: string;
  /** True when neither periods, weekdays nor hours are given: such a window is never open. */
  unconfigured: boolean;
  open(ms: number): boolean;
}

/** Builds the window's test; `defaultZone` is used when the window names none. */
export function compileTimeWindow(spec: TimeWindowSpec, defaultZone: string): TimeWindow {
  const tz = spec.timeZone ?? defaultZone;
  const { periods, weekdays, hours } = spec;
  const unconfigured = periods === undefined && weekdays === undefined && hours === undefined;
  const days = weekdays === undefined ? undefined : new Set(weekdays);
  return {
    name: spec.name,
    unconfigured,
    open(ms) {
      if (unconfigured) return false;
      if (periods !== undefined && !periods.some((p) => ms >= p.from && ms < p.to)) return false;
      if (days === undefined && hours === undefined) return true;
      const local = localParts(ms, tz);
      if (days !== undefined && !days.has(local.weekday)) return false;
      if (hours !== undefined) {
        const m = local.hour * 60 + local.minute;
        // A range that wraps midnight (22:00-06:00) is open on both sides of it.
        const inside =
          hours.from <= hours.to
            ? m >= hours.from && m < hours.to
            : m >= hours.from || m < hours.to;
        if (!inside) return false;
      }
      return true;
    },
  };
}

/** Parses `09:00-18:00` into minutes; undefined when malformed. */
export function parseHours(text: string): { from: number; to: number } | undefined {
  const m = /^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$/.exec(text.trim());
  if (m === null) return undefined;
  const from = Number(m[1]) * 60 + Number(m[2]);
  const to = Number(m[3]) * 60 + Number(m[4]);
  if (from > 24 * 60 || to > 24 * 60 || Number(m[2]) > 59 || Number(m[4]) > 59) return undefined;
  return { from, to };
}

/** True for `mon` ... `sun`. */
export function isWeekday(s: string): boolean {
  return (WEEKDAYS as readonly string[]).includes(s);
}

/** Parses a duration `30s`, `1m`, `5m`, `1h`, `1d` (or a number of milliseconds). */
export function parseDuration(v: unknown): number | undefined {
  if (typeof v === "number") return v > 0 ? v : undefined;
  if (typeof v !== "string") return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(v.trim());
  if (m === null) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as "ms"];
  const ms = Number(m[1]) * unit;
  return ms > 0 ? ms : undefined;
}
