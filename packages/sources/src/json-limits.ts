/**
 * Limits checked on parsed JSON before anything recursive touches it. V8's `JSON.parse` is
 * iterative and takes any depth, but `JSON.stringify`, `structuredClone` and most consumers
 * recurse and throw a RangeError (or worse) a few thousand levels down: one deep event must be
 * refused here, not crash whoever receives it.
 */

/** Default nesting limit of an event: far above any real object, far below stack trouble. */
export const DEFAULT_MAX_DEPTH = 1000;

/** What {@link measureJSON} found. */
export interface JSONMeasure {
  /** True when the value nests deeper than the limit (an object or array counts one level). */
  tooDeep: boolean;
  /**
   * An upper bound of the value's compact JSON size in UTF-8 bytes (each string character
   * counted as its worst-case escape, 6 bytes), so a value under a limit by this bound needs no
   * serialising to be known under it.
   */
  maxBytes: number;
}

/** Walks a parsed JSON value without recursion: its depth against `maxDepth` and a size bound. */
export function measureJSON(value: unknown, maxDepth: number): JSONMeasure {
  if (typeof value !== "object" || value === null) return { tooDeep: false, maxBytes: leaf(value) };
  const stack: unknown[] = [value];
  const depths: number[] = [1];
  let bytes = 0;
  while (stack.length > 0) {
    const v = stack.pop() as object;
    const d = depths.pop() as number;
    if (d > maxDepth) return { tooDeep: true, maxBytes: bytes };
    bytes += 2; // brackets
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const x = v[i];
        bytes += 1;
        if (typeof x === "object" && x !== null) {
          stack.push(x);
          depths.push(d + 1);
        } else bytes += leaf(x);
      }
    } else {
      for (const k in v) {
        const x = (v as Record<string, unknown>)[k];
        bytes += 6 * k.length + 4;
        if (typeof x === "object" && x !== null) {
          stack.push(x);
          depths.push(d + 1);
        } else bytes += leaf(x);
      }
    }
  }
  return { tooDeep: false, maxBytes: bytes };
}

function leaf(x: unknown): number {
  if (typeof x === "string") return 6 * x.length + 2;
  return 24; // numbers, booleans, null
}
