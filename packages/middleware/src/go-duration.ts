/**
 * Go's `time.Duration.String()` for a duration in nanoseconds: `0s`, `800ns`, `1.5µs` (U+00B5),
 * `501.234567ms`, `1.2s`, `1m2.5s`, `2h0m0s`. Used for the `apiserver.latency.k8s.io/*` annotations.
 */
export function formatGoDuration(nanoseconds: number): string {
  let ns = Math.round(nanoseconds);
  if (ns === 0) return "0s";
  const neg = ns < 0;
  if (neg) ns = -ns;
  let out: string;
  if (ns < 1e9) {
    if (ns < 1e3) out = `${ns}ns`;
    else if (ns < 1e6) out = `${fraction(ns, 3)}µs`;
    else out = `${fraction(ns, 6)}ms`;
  } else {
    const totalSeconds = Math.floor(ns / 1e9);
    const frac = ns - totalSeconds * 1e9;
    const s = totalSeconds % 60;
    const totalMinutes = Math.floor(totalSeconds / 60);
    let sec = `${s}`;
    if (frac > 0) sec += `.${String(frac).padStart(9, "0").replace(/0+$/, "")}`;
    out = `${sec}s`;
    if (totalMinutes > 0) {
      out = `${totalMinutes % 60}m${out}`;
      const hours = Math.floor(totalMinutes / 60);
      if (hours > 0) out = `${hours}h${out}`;
    }
  }
  return neg ? `-${out}` : out;
}

/** `n / 10^digits` with the fraction's trailing zeros removed. */
function fraction(n: number, digits: number): string {
  const unit = 10 ** digits;
  const whole = Math.floor(n / unit);
  const rest = n - whole * unit;
  if (rest === 0) return `${whole}`;
  return `${whole}.${String(rest).padStart(digits, "0").replace(/0+$/, "")}`;
}
