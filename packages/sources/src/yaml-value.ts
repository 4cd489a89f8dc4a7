import type * as Yaml from "yaml";
import type { Node } from "yaml";
import { yaml } from "./yaml-lib";

/** A YAML text decoded to plain values, or where and why it could not be. */
export type YamlResult =
  | { value: unknown }
  | { error: { line: number; column: number; message: string } };

/** Limits of {@link parseYamlValue}. */
export interface YamlLimits {
  /** The largest the value may grow to through aliases, counted in characters of scalars and keys. */
  maxExpandedBytes: number;
  /** The deepest nesting accepted (maps and sequences). */
  maxDepth: number;
}

/** The most YAML aliases (`*name`) one document may use: each costs the parser about a kilobyte. */
const MAX_YAML_ALIASES = 10_000;

class Refused extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/**
 * The expanded size of a node: what `toJS` would build, in characters, counting each alias as
 * the size of what it points at (memoised per node, so a billion-laughs file is measured in
 * linear time and refused before anything is expanded).
 */
function measure(node: unknown, limits: YamlLimits): number {
  const { isAlias, isMap, isPair, isScalar, isSeq } = yaml();
  const memo = new Map<unknown, number>();
  const anchors = new Map<string, unknown>();
  const walk = (n: unknown, depth: number): number => {
    if (n === null || n === undefined) return 4;
    const known = memo.get(n);
    if (known !== undefined) return known;
    if (depth > limits.maxDepth) {
      throw new Refused(
        `nested more than ${limits.maxDepth} levels deep`,
        (n as Node).range?.[0] ?? 0,
      );
    }
    let size = 0;
    const anchor = (n as { anchor?: unknown }).anchor;
    // Anchors are recorded as the walk meets them (document order), so an alias costs O(1):
    // yaml's Alias.resolve searches the whole document each time.
    if (typeof anchor === "string") anchors.set(anchor, n);
    if (isAlias(n)) {
      const target = anchors.get(n.source);
      if (target === undefined) return 4;
      memo.set(n, 0); // a cycle counts as nothing more
      size = walk(target, depth + 1);
    } else if (isScalar(n)) {
      const v = n.value;
      size = typeof v === "string" ? v.length + 2 : 8;
    } else if (isMap(n)) {
      for (const p of n.items) size += walk(p.key, depth + 1) + walk(p.value, depth + 1) + 2;
    } else if (isSeq(n)) {
      for (const item of n.items) size += walk(item, depth + 1) + 1;
    } else if (isPair(n)) {
      size = walk(n.key, depth + 1) + walk(n.value, depth + 1);
    }
    memo.set(n, size);
    if (size > limits.maxExpandedBytes) {
      throw new Refused(
        `expands to more than ${limits.maxExpandedBytes} characters through YAML aliases`,
        (n as Node).range?.[0] ?? 0,
      );
    }
    return size;
  };
  return walk(node, 0);
}

/**
 * Parses one YAML document to plain values with bounds: nesting depth, and the size the value
 * grows to through aliases (counted in characters, so an alias of a long string is caught too,
 * not only many aliases). Keys repeated in a map keep the last value, as kube's decoder does.
 */
export function parseYamlValue(text: string, limits: YamlLimits, lineOffset = 0): YamlResult {
  const { LineCounter, parseDocument } = yaml();
  const lineCounter = new LineCounter();
  const at = (offset: number) => {
    const p = lineCounter.linePos(offset);
    return { line: p.line + lineOffset, column: p.col };
  };
  // The YAML parser itself needs about a kilobyte per alias: count them before parsing.
  const re = /(?:^|[\s,[{:-])\*[^\s,[\]{}]/g;
  let aliases = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (++aliases > MAX_YAML_ALIASES) {
      const before = text.slice(0, m.index + 1);
      const nl = before.lastIndexOf("\n");
      return {
        error: {
          line: before.split("\n").length + lineOffset,
          column: m.index + 1 - nl,
          message: `more than ${MAX_YAML_ALIASES} YAML aliases in one document; not parsed`,
        },
      };
    }
  }
  let doc: ReturnType<typeof Yaml.parseDocument>;
  try {
    doc = parseDocument(text, { lineCounter, uniqueKeys: false });
  } catch (e) {
    return { error: { ...at(0), message: `invalid YAML: ${(e as Error).message.split("\n")[0]}` } };
  }
  if (doc.errors.length > 0) {
    const err = doc.errors[0]!;
    const message = err.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
    return { error: { ...at(err.pos[0]), message: `invalid YAML: ${message}` } };
  }
  try {
    // Aliases are measured only when there are any: a plain document is as big as its text.
    if (text.includes("*")) measure(doc.contents, limits);
    else measureDepth(doc.contents, limits.maxDepth);
    return { value: doc.toJS({ maxAliasCount: -1 }) };
  } catch (e) {
    if (e instanceof Refused) return { error: { ...at(e.offset), message: e.message } };
    return { error: { ...at(0), message: `invalid YAML: ${(e as Error).message.split("\n")[0]}` } };
  }
}

/** Depth only (no aliases to follow), iteratively so a deep document cannot overflow the stack. */
function measureDepth(root: unknown, maxDepth: number): void {
  const { isMap, isSeq } = yaml();
  const stack: [unknown, number][] = [[root, 0]];
  while (stack.length > 0) {
    const [n, depth] = stack.pop()!;
    if (depth > maxDepth) {
      throw new Refused(`nested more than ${maxDepth} levels deep`, (n as Node).range?.[0] ?? 0);
    }
    if (isMap(n)) for (const p of n.items) stack.push([p.value, depth + 1]);
    else if (isSeq(n)) for (const item of n.items) stack.push([item, depth + 1]);
  }
}
