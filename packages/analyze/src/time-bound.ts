import { parseGoDuration } from "./go-duration";

/**
 * A `--since`/`--until` value in epoch ms: an RFC 3339 time (`2026-11-22T10:00:00Z`, a date
 * `2026-11-22`) or a duration before `now` (`90m`, `2h`, `7d`, `1h30m`).
 */
export function parseTimeBound(text: string, now = Date.now()): number | undefined {
  const s = text.trim();
  const days = /^(\d+(?:\.\d+)?)d$/.exec(s);
  if (days) return now - Number(days[1]) * 86_400_000;
  if (/^[\d.]+(?:ns|us|µs|ms|s|m|h)/.test(s)) {
    const d = parseGoDuration(s);
    return d === undefined ? undefined : now - d;
  }
  if (!/^\d{4}-\d{2}-\d{2}/.test(s)) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}
