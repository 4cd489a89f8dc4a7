/**
 * MicroTime formatting for event timestamps, allocation-light because it runs on every stage of
 * every audited request: the `YYYY-MM-DDTHH:MM:SS.` prefix is cached per second.
 */

let cachedSecond = Number.NaN;
let cachedPrefix = "";

/**
 * Epoch milliseconds (fractional for µs) → `2026-11-22T10:04:05.123456Z`, UTC, exactly six
 * fractional digits. Rounded to the nearest µs: a float of epoch ms cannot hold the sub-µs
 * digits Go would truncate.
 */
export function formatMicroTimeLocal(epochMs: number): string {
  const micros = Math.round(epochMs * 1000);
  const second = Math.floor(micros / 1e6);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedPrefix = new Date(second * 1000).toISOString().slice(0, 20);
  }
  const frac = micros - second * 1e6;
  return `${cachedPrefix}${String(frac).padStart(6, "0")}Z`;
}

/** The default clock: epoch milliseconds with sub-millisecond precision. */
export function defaultClock(): number {
  return performance.timeOrigin + performance.now();
}
