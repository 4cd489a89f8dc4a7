/**
 * MicroTime formatting for event timestamps, allocation-light because it runs on every stage of
 * every audited request: the `YYYY-MM-DDTHH:MM:SS.` prefix is cached per second and the
 * millisecond digits per millisecond, so a call is one lookup and one concatenation.
 */

let cachedSecond = Number.NaN;
let secondPrefix = "";
let cachedMilli = Number.NaN;
let milliPrefix = "";

/** "000".."999": the millisecond digits. */
const DIGITS = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, "0"));
/** "000Z".."999Z": the microsecond digits and the zone. */
const MICROS = DIGITS.map((d) => `${d}Z`);

/**
 * Epoch milliseconds (fractional for µs) → `2026-11-22T10:04:05.123456Z`, UTC, exactly six
 * fractional digits. Rounded to the nearest µs: a float of epoch ms cannot hold the sub-µs
 * digits Go would truncate.
 */
export function formatMicroTimeLocal(epochMs: number): string {
  const micros = Math.round(epochMs * 1000);
  const milli = Math.floor(micros / 1000);
  if (milli !== cachedMilli) {
    const second = Math.floor(milli / 1000);
    if (second !== cachedSecond) {
      cachedSecond = second;
      secondPrefix = new Date(second * 1000).toISOString().slice(0, 20);
    }
    cachedMilli = milli;
    milliPrefix = secondPrefix + DIGITS[milli - second * 1000];
  }
  return milliPrefix + MICROS[micros - milli * 1000];
}

// Read once: `performance.timeOrigin` is a getter that checks its receiver on every read.
const TIME_ORIGIN = performance.timeOrigin;

/** The default clock: epoch milliseconds with sub-millisecond precision. */
export function defaultClock(): number {
  return TIME_ORIGIN + performance.now();
}
