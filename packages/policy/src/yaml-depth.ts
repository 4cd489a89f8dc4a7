import { CST, Lexer } from "yaml";

/** A YAML text nested deeper than allowed: where the collection that passes the limit starts. */
export interface YAMLDepthError {
  /** UTF-16 offset of the token that opens the level past the limit. */
  offset: number;
  /** The limit that was passed. */
  maxDepth: number;
}

/** Lexer tokens that mark a mode, not source text: they take no room in the input. */
const CONTROL = new Set([CST.DOCUMENT, CST.FLOW_END, CST.SCALAR]);

/**
 * Checks how deeply the collections of a YAML (or JSON) text nest, before anything composes it:
 * the yaml library's composer and every decoder after it recurse once per level, and a few
 * thousand levels exhaust the stack (a RangeError; at the edge of the stack V8 can even fail
 * fatally compiling a regular expression). This walks the lexer's tokens with counters only, and
 * stops at the first token past the limit, so even a million-deep input is refused at once.
 *
 * The depth it counts is an upper bound of the real one: flow levels (`[`, `{`), plus the open
 * block indentation levels, plus the block indicators (`-`, `?`, `:`) on the current line (a
 * `- - x` line opens two sequences). A document it passes nests at most `maxDepth` deep; one it
 * refuses nests deeper than about half of it. Aliases are not followed; count them where they are
 * expanded.
 *
 * @returns undefined when the text nests at most `maxDepth` deep.
 */
export function checkYAMLDepth(text: string, maxDepth: number): YAMLDepthError | undefined {
  if (quickBound(text) <= maxDepth) return undefined;
  let offset = 0;
  let flow = 0;
  const indents: number[] = [];
  let lineStart = true;
  let indent = 0;
  let onLine = 0;
  for (const token of new Lexer().lex(text)) {
    const at = offset;
    if (!CONTROL.has(token)) offset += token.length;
    const type = CST.tokenType(token);
    if (type === "newline") {
      lineStart = true;
      indent = 0;
      onLine = 0;
      continue;
    }
    if (type === "space" && lineStart) {
      indent = token.length;
      continue;
    }
    if (type === "doc-start" || type === "doc-end" || type === "doc-mode") {
      indents.length = 0;
      flow = 0;
      continue;
    }
    if (type === "comment" || type === "space" || type === "directive-line") continue;
    if (lineStart && flow === 0) {
      // the first content of a line closes the block levels at its indentation or deeper
      while (indents.length > 0 && (indents[indents.length - 1] as number) >= indent) indents.pop();
      indents.push(indent);
    }
    lineStart = false;
    if (type === "flow-map-start" || type === "flow-seq-start") flow++;
    else if (type === "flow-map-end" || type === "flow-seq-end") flow = Math.max(0, flow - 1);
    else if (
      flow === 0 &&
      (type === "seq-item-ind" || type === "explicit-key-ind" || type === "map-value-ind")
    )
      onLine++;
    else continue;
    if (flow + indents.length + onLine > maxDepth) return { offset: at, maxDepth };
  }
  return undefined;
}

/**
 * A bound of the depth the lexer walk would find, from characters alone (about 20 times faster):
 * every `[` and `{` of the text, plus the most open indentation levels and `- `/`? `/`: ` marks
 * on any line. Quotes and comments are not skipped, so it only ever counts more.
 */
function quickBound(text: string): number {
  let flow = 0;
  let block = 0;
  const indents: number[] = [];
  let lineStart = 0;
  while (lineStart <= text.length) {
    let end = text.indexOf("\n", lineStart);
    if (end < 0) end = text.length;
    let i = lineStart;
    while (i < end && text.charCodeAt(i) === 0x20) i++;
    if (i < end) {
      const indent = i - lineStart;
      while (indents.length > 0 && (indents[indents.length - 1] as number) >= indent) indents.pop();
      indents.push(indent);
      let marks = 0;
      for (; i < end; i++) {
        const c = text.charCodeAt(i);
        if (c === 0x5b || c === 0x7b) flow++;
        else if (c === 0x2d || c === 0x3f || c === 0x3a) {
          const next = text.charCodeAt(i + 1);
          if (i + 1 >= end || next === 0x20 || next === 0x09 || next === 0x0d) marks++;
        }
      }
      if (indents.length + marks > block) block = indents.length + marks;
    }
    lineStart = end + 1;
  }
  return flow + block;
}
