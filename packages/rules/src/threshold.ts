/**
 * Windowed thresholds: a rule fires when its condition held `count` times (or for `count`
 * distinct values of a field) within `window`, per key (the values of the `by` fields), once per
 * window and key. Memory is bounded: at most `maxKeys` keys per rule and `count` remembered
 * times per key; keys pushed out to make room are counted as evicted.
 *
 * The state lives in a {@link ThresholdState} apart from the compiled rules, so that a reload of
 * the rules can hand the same state to the new rule set and keep every window that is still
 * meaningful (same rule name, same count/window/by/distinct).
 */

/** What a firing threshold reports. */
export interface ThresholdHit {
  /** How many events (or distinct values) were counted. */
  count: number;
  /** Event time (epoch ms) of the first counted event. */
  firstMs: number;
}

interface KeyWindow {
  /** Times (ms) of the counted events, oldest first, at most `count` of them. */
  times: number[];
  /** Distinct values and when each was last seen (insertion order = oldest first). */
  distinct: Map<string, number> | undefined;
  /** No new alert for this key before this time (ms). */
  mutedUntil: number;
  /** Last time the key was touched (ms), for expiry. */
  last: number;
}

/** Per-rule counters, kept across reloads while the rule's threshold is unchanged. */
export class RuleWindows {
  readonly keys = new Map<string, KeyWindow>();
  /** Keys dropped to make room while their window was still open. */
  evicted = 0;
  /** Keys dropped because their window had passed. */
  expired = 0;

  constructor(
    readonly signature: string,
    private readonly count: number,
    private readonly windowMs: number,
    private readonly maxKeys: number,
    private readonly useDistinct: boolean,
  ) {}

  /**
   * The keys as plain data, leaving out those that can no longer fire or mute at `asOfMs`
   * (their window has passed: keeping them would change nothing but the size).
   */
  snapshot(asOfMs = Number.NEGATIVE_INFINITY): WindowsSnapshot {
    const keys: KeySnapshot[] = [];
    for (const [k, w] of this.keys) {
      if (w.last <= asOfMs - this.windowMs && w.mutedUntil <= asOfMs) continue;
      keys.push([
        k,
        w.times.slice(),
        w.distinct === undefined ? null : [...w.distinct],
        Number.isFinite(w.mutedUntil) ? w.mutedUntil : null,
        w.last,
      ]);
    }
    return { signature: this.signature, evicted: this.evicted, expired: this.expired, keys };
  }

  /** Puts back the keys of a {@link snapshot} (same signature), oldest first. */
  restore(s: WindowsSnapshot): void {
    this.keys.clear();
    this.evicted = s.evicted;
    this.expired = s.expired;
    for (const [k, times, distinct, mutedUntil, last] of s.keys) {
      if (this.keys.size >= this.maxKeys) {
        this.evicted++;
        continue;
      }
      this.keys.set(k, {
        times: times.slice(),
        distinct: this.useDistinct ? new Map(distinct ?? []) : undefined,
        mutedUntil: mutedUntil ?? Number.NEGATIVE_INFINITY,
        last,
      });
    }
  }

  /** Counts one event at `t` (ms) for `key`; returns a hit when the threshold is reached. */
  hit(key: string, t: number, distinctValue?: string): ThresholdHit | undefined {
    let w = this.keys.get(key);
    if (w !== undefined) {
      // Re-insert: the Map's order is least recently used first.
      this.keys.delete(key);
    } else {
      this.makeRoom(t);
      w = {
        times: [],
        distinct: this.useDistinct ? new Map() : undefined,
        mutedUntil: Number.NEGATIVE_INFINITY,
        last: t,
      };
    }
    this.keys.set(key, w);
    w.last = Math.max(w.last, t);
    if (t < w.mutedUntil) return undefined;
    const since = t - this.windowMs;
    if (w.distinct !== undefined) {
      if (distinctValue === undefined) return undefined;
      w.distinct.delete(distinctValue);
      w.distinct.set(distinctValue, t);
      for (const [v, seen] of w.distinct) {
        if (seen > since && w.distinct.size <= this.count) break;
        w.distinct.delete(v);
      }
      if (w.distinct.size >= this.count) {
        const firstMs = Math.min(...w.distinct.values());
        const count = w.distinct.size;
        w.distinct.clear();
        w.mutedUntil = t + this.windowMs;
        return { count, firstMs };
      }
      return undefined;
    }
    const times = w.times;
    times.push(t);
    // Events can arrive slightly out of order; keep the list sorted.
    for (let i = times.length - 1; i > 0 && times[i - 1]! > times[i]!; i--) {
      const tmp = times[i]!;
      times[i] = times[i - 1]!;
      times[i - 1] = tmp;
    }
    while (times.length > 0 && (times[0]! <= since || times.length > this.count)) times.shift();
    if (times.length >= this.count) {
      const hit = { count: times.length, firstMs: times[0]! };
      times.length = 0;
      w.mutedUntil = t + this.windowMs;
      return hit;
    }
    return undefined;
  }

  private makeRoom(t: number): void {
    // Drop keys whose window has passed first; they hold nothing that can still fire.
    for (const [k, w] of this.keys) {
      if (this.keys.size < this.maxKeys && w.last > t - this.windowMs) break;
      if (w.last <= t - this.windowMs && w.mutedUntil <= t) {
        this.keys.delete(k);
        this.expired++;
        continue;
      }
      if (this.keys.size < this.maxKeys) break;
      this.keys.delete(k);
      this.evicted++;
    }
  }
}

/** One key of a {@link WindowsSnapshot}: key, counted times, distinct values and when seen, muted until, last touched. */
export type KeySnapshot = [
  key: string,
  times: number[],
  distinct: [string, number][] | null,
  mutedUntil: number | null,
  last: number,
];

/** The counters of one rule as plain data. */
export interface WindowsSnapshot {
  /** The threshold (count, window, by, distinct) the keys were counted with. */
  signature: string;
  evicted: number;
  expired: number;
  keys: KeySnapshot[];
}

/**
 * A {@link ThresholdState} as plain JSON-safe data (`ThresholdState.snapshot()`), to be stored
 * (a checkpoint) and given back to `new ThresholdState({ restore })` in another process.
 */
export interface ThresholdSnapshot {
  version: 1;
  rules: Record<string, WindowsSnapshot>;
}

/** Counters of a {@link ThresholdState}. */
export interface ThresholdStats {
  rules: { rule: string; keys: number; evicted: number; expired: number }[];
  /** Keys dropped while still counting, over all rules. */
  evicted: number;
  /** Rules whose counters were restarted because a reload changed their threshold. */
  restarted: number;
}

/** Options of {@link ThresholdState}. */
export interface ThresholdStateOptions {
  /** Most keys remembered per rule (default 10,000). */
  maxKeys?: number;
  /**
   * Counters to start from, as a {@link ThresholdState.snapshot} left them. A rule's counters are
   * used when the rule set has that rule with the same threshold; others are dropped (counted as
   * `restarted`).
   */
  restore?: ThresholdSnapshot;
}

/**
 * The counters of all threshold rules. Pass `ruleSet.state` to the next `loadRules(..., {state})`
 * to keep the windows across a reload.
 */
export class ThresholdState {
  readonly maxKeys: number;
  private readonly rules = new Map<string, RuleWindows>();
  private restarted = 0;
  /** Restored counters not yet claimed by a rule (see {@link windowsFor}). */
  private readonly restored = new Map<string, WindowsSnapshot>();

  constructor(options: ThresholdStateOptions = {}) {
    this.maxKeys = options.maxKeys ?? 10_000;
    if (!Number.isInteger(this.maxKeys) || this.maxKeys < 1) {
      throw new RangeError("maxKeys must be a positive integer");
    }
    const r = options.restore;
    if (r !== undefined) {
      if (r === null || typeof r !== "object" || r.version !== 1 || typeof r.rules !== "object") {
        throw new RangeError("restore: not a threshold snapshot of version 1");
      }
      for (const [rule, w] of Object.entries(r.rules)) this.restored.set(rule, w);
    }
  }

  /**
   * Every rule's counters as plain data (JSON-safe). Keys whose window passed before `asOfMs`
   * (event time, ms) are left out: they hold nothing that could still fire or mute.
   */
  snapshot(asOfMs?: number): ThresholdSnapshot {
    const rules: Record<string, WindowsSnapshot> = {};
    for (const [rule, w] of this.rules) rules[rule] = w.snapshot(asOfMs);
    return { version: 1, rules };
  }

  /** The counters of a rule; new ones if the rule is new or its threshold changed. */
  windowsFor(
    rule: string,
    spec: { count: number; windowMs: number; by: readonly string[]; distinct?: string | undefined },
  ): RuleWindows {
    const signature = JSON.stringify([spec.count, spec.windowMs, spec.by, spec.distinct ?? null]);
    const have = this.rules.get(rule);
    if (have !== undefined && have.signature === signature) return have;
    if (have !== undefined) this.restarted++;
    const w = new RuleWindows(
      signature,
      spec.count,
      spec.windowMs,
      this.maxKeys,
      spec.distinct !== undefined,
    );
    const saved = this.restored.get(rule);
    if (saved !== undefined) {
      this.restored.delete(rule);
      if (saved.signature === signature) w.restore(saved);
      else this.restarted++;
    }
    this.rules.set(rule, w);
    return w;
  }

  /** Forgets rules that are no longer loaded. */
  retain(rules: ReadonlySet<string>): void {
    for (const name of [...this.rules.keys()]) if (!rules.has(name)) this.rules.delete(name);
  }

  /** Keys held and dropped, per rule. */
  stats(): ThresholdStats {
    const rules = [...this.rules].map(([rule, w]) => ({
      rule,
      keys: w.keys.size,
      evicted: w.evicted,
      expired: w.expired,
    }));
    return {
      rules,
      evicted: rules.reduce((n, r) => n + r.evicted, 0),
      restarted: this.restarted,
    };
  }
}
