/**
 * Reading rules files with positions: every item, key and scalar keeps where it is in its file,
 * and an offset inside a scalar's value (a column of a condition) maps back to a line and column
 * of the file, through folding and indentation.
 */
import {
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseAllDocuments,
  type YAMLMap,
} from "yaml";
import { RulesError } from "./errors";

/** One loaded file. */
export interface SourceFile {
  name: string;
  text: string;
  lines: LineCounter;
}

/** A value inside a file: the YAML node and the file. */
export interface Located {
  file: SourceFile;
  node: Node;
}

/** Line and column (1-based) of an absolute offset in a file. */
export function lineCol(file: SourceFile, offset: number): { line: number; column: number } {
  const p = file.lines.linePos(Math.max(0, Math.min(offset, file.text.length)));
  return { line: p.line, column: p.col };
}

/** Where a node starts. */
export function nodeStart(loc: Located): { line: number; column: number } {
  return lineCol(loc.file, loc.node.range?.[0] ?? 0);
}

function isWs(c: string | undefined): boolean {
  return c === " " || c === "\t" || c === "\n" || c === "\r";
}

/**
 * The file offset of character `offset` of a scalar's value: walks the value and the source side
 * by side, letting any run of whitespace in one match any run in the other (folding, indents).
 */
export function scalarOffset(loc: Located, offset: number): number {
  const node = loc.node;
  const text = loc.file.text;
  const range = node.range ?? [0, 0, 0];
  let j = range[0];
  const end = range[1];
  if (isScalar(node)) {
    const t = node.type;
    if (t === "QUOTE_DOUBLE" || t === "QUOTE_SINGLE") j++;
    else if (t === "BLOCK_FOLDED" || t === "BLOCK_LITERAL") {
      const nl = text.indexOf("\n", j);
      j = nl < 0 ? j : nl + 1;
    }
  }
  const value = isScalar(node) ? String(node.value ?? "") : "";
  while (j < end && isWs(text[j])) j++;
  let i = 0;
  while (isWs(value[i])) i++;
  while (i < offset && j < end) {
    if (isWs(value[i])) {
      while (i < offset && isWs(value[i])) i++;
      while (j < end && isWs(text[j])) j++;
      continue;
    }
    i++;
    j++;
    // Skip the escaping backslash or doubled quote the value does not show.
    if (text[j - 1] === "\\" && isScalar(node) && node.type === "QUOTE_DOUBLE") j++;
  }
  return j;
}

/** Parses a file into its top-level items (maps); throws RulesError for YAML errors. */
export function readItems(name: string, text: string): { file: SourceFile; items: Located[] } {
  const lines = new LineCounter();
  const file: SourceFile = { name, text, lines };
  const docs = parseAllDocuments(text, {
    lineCounter: lines,
    uniqueKeys: false,
    prettyErrors: false,
  });
  const items: Located[] = [];
  for (const doc of docs) {
    const err = doc.errors[0];
    if (err !== undefined) {
      const at = lineCol(file, err.pos[0]);
      throw new RulesError("LOAD_ERR_YAML_PARSE", err.message.split("\n")[0]!, {
        file: name,
        ...at,
        item: { kind: "rules content", name: "" },
      });
    }
    const root = doc.contents;
    if (root === null || (isScalar(root) && (root.value === null || root.value === ""))) continue;
    if (!isSeq(root)) {
      throw new RulesError("LOAD_ERR_YAML_VALIDATE", "Rules content is not yaml array of objects", {
        file: name,
        ...lineCol(file, root.range?.[0] ?? 0),
        item: { kind: "rules content", name: "" },
      });
    }
    for (const item of root.items) items.push({ file, node: item as Node });
  }
  return { file, items };
}

/** The value node of `key` in a map, or undefined. */
export function child(map: YAMLMap, key: string): Node | undefined {
  for (const pair of map.items) {
    const k = pair.key;
    if ((isScalar(k) ? String(k.value) : String(k)) === key) return (pair.value ?? null) as Node;
  }
  return undefined;
}

/** The keys of a map, in order, with their nodes. */
export function keysOf(map: YAMLMap): { key: string; keyNode: Node; value: Node | null }[] {
  return map.items.map((pair) => ({
    key: isScalar(pair.key) ? String(pair.key.value) : String(pair.key),
    keyNode: pair.key as Node,
    value: (pair.value ?? null) as Node | null,
  }));
}

export { isMap, isScalar, isSeq };
