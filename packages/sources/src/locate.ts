import type { Node } from "yaml";
import { yaml } from "./yaml-lib";

/** Splits a field path (`items[3].user.groups[0]`, `annotations["a.b/c"]`) into keys. */
export function pathKeys(path: string): (string | number)[] {
  const keys: (string | number)[] = [];
  const re = /\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]|\[([^\]]*)\]|([^.[\]]+)/g;
  for (let m = re.exec(path); m !== null; m = re.exec(path)) {
    if (m[1] !== undefined) keys.push(Number(m[1]));
    else if (m[2] !== undefined) keys.push(JSON.parse(`"${m[2]}"`) as string);
    else if (m[3] !== undefined) keys.push(m[3]);
    else if (m[4] !== undefined) keys.push(m[4]);
  }
  return keys;
}

/** A parsed JSON or YAML text that maps field paths to 1-based line and column. */
export interface Locator {
  /** Where the field is (its key, for a map entry), or its nearest existing parent. */
  locate(path: string): { line: number; column: number };
}

/**
 * Builds a {@link Locator} for a JSON or YAML text (JSON is read as YAML, which keeps source
 * positions). Only called when there is something to report, so the cost is paid for errors.
 */
export function createLocator(text: string, lineOffset = 0): Locator {
  const { isMap, isSeq, LineCounter, parseDocument } = yaml();
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false, strict: false });
  const at = (offset: number) => {
    const p = lineCounter.linePos(offset);
    return { line: p.line + lineOffset, column: p.col };
  };
  return {
    locate(path) {
      let node: unknown = doc.contents;
      let offset = (doc.contents as Node | null)?.range?.[0] ?? 0;
      for (const key of pathKeys(path)) {
        if (isMap(node)) {
          const pair = node.items.find(
            (p) => String((p.key as { value?: unknown } | null)?.value ?? p.key) === String(key),
          );
          if (!pair) break;
          const k = pair.key as Node | null;
          offset = k?.range?.[0] ?? offset;
          node = pair.value;
        } else if (isSeq(node) && typeof key === "number") {
          const item = node.items[key] as Node | undefined;
          if (!item) break;
          offset = item.range?.[0] ?? offset;
          node = item;
        } else break;
      }
      return at(offset);
    },
  };
}

/**
 * 1-based column of a JSON.parse error in `text`. V8 gives a position for some errors only
 * (Node 20 says just "Unexpected token" for others): then the longest prefix that is still a
 * valid start of JSON is found by bisection (error paths only, so the cost is paid for errors).
 */
export function jsonErrorColumn(text: string, e: unknown): number {
  const m = /position (\d+)/.exec((e as Error).message);
  if (m) return Number(m[1]) + 1;
  const validPrefix = (n: number): boolean => {
    try {
      JSON.parse(text.slice(0, n));
      return true;
    } catch (err) {
      return /end of JSON input|Unterminated|Expected .* after/.test((err as Error).message);
    }
  };
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (validPrefix(mid)) lo = mid;
    else hi = mid - 1;
  }
  return Math.min(lo + 1, text.length + 1);
}

/** JSON.parse's message without V8's trailing position details and echoed input. */
export function jsonErrorMessage(e: unknown): string {
  const msg = (e as Error).message;
  return (
    msg
      // V8 appends an unescaped excerpt of the input: never echo audit data.
      .replace(/, (?:"|\.\.\.)[\s\S]* is not valid JSON$/, "")
      .replace(/ in JSON at position \d+(?: \(line \d+ column \d+\))?$/, "")
      .trim()
  );
}
