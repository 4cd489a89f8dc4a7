/** k8s.io/apimachinery wait.Backoff, as the audit webhook configures it. */
export interface BackoffOptions {
  /** First sleep, ms (the reference: 10 s). */
  initial: number;
  /** Growth per step (1.5). */
  factor: number;
  /** Each sleep is stretched by a random 0..jitter fraction (0.2). */
  jitter: number;
  /** Attempts in all (5), so steps − 1 sleeps. */
  steps: number;
}

/** The sleeps between attempts, before jitter: 10 s, 15 s, 22.5 s, 33.75 s for the defaults. */
export function backoffDelays(o: BackoffOptions, random: () => number = Math.random): number[] {
  const out: number[] = [];
  let d = o.initial;
  for (let i = 1; i < o.steps; i++) {
    out.push(o.jitter > 0 ? d + random() * o.jitter * d : d);
    d *= o.factor;
  }
  return out;
}

/** A sleep that a shutdown cannot cut short but that keeps no process alive on its own. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Parses `Retry-After` (seconds or an HTTP date) into ms; undefined when absent or invalid. */
export function parseRetryAfter(
  value: string | string[] | undefined,
  now = Date.now(),
): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === "") return undefined;
  if (/^\s*\d+\s*$/.test(v)) return Number.parseInt(v, 10) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}
