/**
 * MicroTime formatting for event timestamps. Local until `@kaudit/api` exports
 * `formatMicroTime`; kept tiny and allocation-light because it runs twice per audited request.
 */

/** Epoch milliseconds (fractional for µs) → `2026-11-22T10:04:05.123456Z` (to the nearest µs). */
export function formatMicroTimeLocal(epochMs: number): string {
  // Rounded, not truncated: a float of epoch ms cannot hold the sub-µs digits Go would truncate.
  const micros = Math.round(epochMs * 1000);
  const ms = Math.floor(micros / 1000);
  const iso = new Date(ms).toISOString(); // 2026-11-22T10:04:05.123Z
  const sub = micros - ms * 1000;
  return `${iso.slice(0, 23)}${sub < 10 ? "00" : sub < 100 ? "0" : ""}${sub}Z`;
}

/** The default clock: epoch milliseconds with sub-millisecond precision. */
export function defaultClock(): number {
  return performance.timeOrigin + performance.now();
}
