/**
 * Go encoding/json's syntax check (its `checkValid` scanner), which every JSON decoder of
 * kube-apiserver runs before it decodes: the same grammar, the same 10,000-level nesting limit and
 * the same error texts (`invalid character '}' looking for beginning of value`,
 * `invalid character '[' exceeded max depth`, `unexpected end of JSON input`).
 *
 * It never recurses, so input of any depth is safe to check, and a JSON.parse after a successful
 * check cannot fail and builds at most `maxDepth` levels. Its messages name at most the one
 * offending character, never an excerpt of the input (V8's JSON.parse messages quote the text
 * around the error, which for a request body may be a secret).
 */

/** Go's `maxNestingDepth` (encoding/json/scanner.go): kube-apiserver's JSON nesting limit. */
export const GO_JSON_MAX_DEPTH = 10_000;

/** Where and why a text is not JSON, in Go's words. */
export interface GoJSONSyntaxError {
  /** UTF-16 offset in the text of the offending character (the text's length at its end). */
  offset: number;
  /** Go's `SyntaxError` text. */
  message: string;
}

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const HEX = "0123456789abcdef";

/** Go's `quoteChar` for the byte the scanner stopped at (a non-ASCII character: its first UTF-8 byte). */
function quoteChar(text: string, i: number): string {
  const c = text.charCodeAt(i);
  if (c === 0x27) return "'\\''";
  if (c === QUOTE) return "'\"'";
  if (c >= 0x20 && c < 0x7f) return c === BACKSLASH ? "'\\\\'" : `'${text[i]}'`;
  if (c < 0x80) {
    const named: Record<number, string> = {
      7: "a",
      8: "b",
      12: "f",
      10: "n",
      13: "r",
      9: "t",
      11: "v",
    };
    const n = named[c];
    return n ? `'\\${n}'` : `'\\x${HEX[c >> 4]}${HEX[c & 15]}'`;
  }
  // strconv.Quote of a lone lead byte of UTF-8 is invalid UTF-8: written as \x..
  const first = Buffer.from(String.fromCodePoint(text.codePointAt(i) ?? c))[0] ?? 0;
  return `'\\x${HEX[first >> 4]}${HEX[first & 15]}'`;
}

const isSpace = (c: number) => c === SPACE || c === TAB || c === LF || c === CR;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isHex = (c: number) => isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);

/** The container a value is in, which decides what may follow it. */
enum Ctx {
  Object = 0,
  Array = 1,
}

/** Thrown inside the scan only; returned to the caller. */
class Stop {
  constructor(readonly error: GoJSONSyntaxError) {}
}

/**
 * Checks `text` as Go's `json.Valid`/`checkValid` does and returns the first error, or undefined
 * when the text is one valid JSON value nested at most `maxDepth` deep.
 */
export function checkGoJSON(
  text: string,
  maxDepth: number = GO_JSON_MAX_DEPTH,
): GoJSONSyntaxError | undefined {
  const n = text.length;
  const stack: Ctx[] = [];
  let i = 0;
  // At the end of the input Go's scanner is fed one space: where a space is wrong (inside a
  // number, literal or escape) that is the error, elsewhere "unexpected end of JSON input".
  const bad = (context: string, spaceIsWrong = false): never => {
    if (i >= n)
      throw new Stop({
        offset: n,
        message: spaceIsWrong ? `invalid character ' ' ${context}` : "unexpected end of JSON input",
      });
    throw new Stop({ offset: i, message: `invalid character ${quoteChar(text, i)} ${context}` });
  };
  const skipSpace = () => {
    while (i < n && isSpace(text.charCodeAt(i))) i++;
  };
  // Control characters, quotes and backslashes end a plain run inside a string.
  const special = /["\\\u0000-\u001f]/g;
  const string = (): void => {
    i++; // opening quote
    for (;;) {
      special.lastIndex = i;
      const m = special.exec(text);
      if (m === null) {
        i = n;
        bad("in string literal");
      }
      i = (m as RegExpExecArray).index;
      const c = text.charCodeAt(i);
      if (c === QUOTE) {
        i++;
        return;
      }
      if (c < 0x20) bad("in string literal");
      // backslash
      i++;
      const e = text.charCodeAt(i);
      if (e === 0x75) {
        // \uXXXX
        i++;
        for (let k = 0; k < 4; k++, i++) {
          if (!isHex(text.charCodeAt(i))) bad("in \\u hexadecimal character escape", true);
        }
        continue;
      }
      if (!(e === QUOTE || e === BACKSLASH || e === 0x2f || "bfnrt".includes(text[i] ?? "!")))
        bad("in string escape code", true);
      i++;
    }
  };
  const number = (): void => {
    if (text.charCodeAt(i) === 0x2d) {
      i++;
      if (!isDigit(text.charCodeAt(i))) bad("in numeric literal", true);
    }
    if (text.charCodeAt(i) === 0x30) i++;
    else while (isDigit(text.charCodeAt(i))) i++;
    if (text.charCodeAt(i) === 0x2e) {
      i++;
      if (!isDigit(text.charCodeAt(i))) bad("after decimal point in numeric literal", true);
      while (isDigit(text.charCodeAt(i))) i++;
    }
    const e = text.charCodeAt(i);
    if (e === 0x65 || e === 0x45) {
      i++;
      const s = text.charCodeAt(i);
      if (s === 0x2b || s === 0x2d) i++;
      if (!isDigit(text.charCodeAt(i))) bad("in exponent of numeric literal", true);
      while (isDigit(text.charCodeAt(i))) i++;
    }
  };
  const literal = (word: string): void => {
    i++;
    for (let k = 1; k < word.length; k++, i++) {
      if (text[i] !== word[k]) bad(`in literal ${word} (expecting '${word[k]}')`, true);
    }
  };
  const push = (ctx: Ctx): void => {
    stack.push(ctx);
    if (stack.length > maxDepth) bad("exceeded max depth");
    i++;
  };

  try {
    // One loop: at the top, `i` is where a value must begin.
    value: for (;;) {
      skipSpace();
      const c = text.charCodeAt(i);
      if (c === 0x7b) {
        push(Ctx.Object);
        skipSpace();
        if (text.charCodeAt(i) === 0x7d) {
          i++;
          stack.pop();
        } else {
          if (text.charCodeAt(i) !== QUOTE) bad("looking for beginning of object key string");
          string();
          skipSpace();
          if (text.charCodeAt(i) !== 0x3a) bad("after object key");
          i++;
          continue;
        }
      } else if (c === 0x5b) {
        push(Ctx.Array);
        skipSpace();
        if (text.charCodeAt(i) === 0x5d) {
          i++;
          stack.pop();
        } else continue;
      } else if (c === QUOTE) string();
      else if (c === 0x2d || isDigit(c)) number();
      else if (c === 0x74) literal("true");
      else if (c === 0x66) literal("false");
      else if (c === 0x6e) literal("null");
      else bad("looking for beginning of value");

      // A value ended: close containers until one wants another element.
      for (;;) {
        skipSpace();
        const top = stack[stack.length - 1];
        if (top === undefined) {
          if (i < n) bad("after top-level value");
          return undefined;
        }
        const d = text.charCodeAt(i);
        if (top === Ctx.Array) {
          if (d === 0x2c) {
            i++;
            continue value;
          }
          if (d === 0x5d) {
            i++;
            stack.pop();
            continue;
          }
          bad("after array element");
        } else {
          if (d === 0x2c) {
            i++;
            skipSpace();
            if (text.charCodeAt(i) !== QUOTE) bad("looking for beginning of object key string");
            string();
            skipSpace();
            if (text.charCodeAt(i) !== 0x3a) bad("after object key");
            i++;
            continue value;
          }
          if (d === 0x7d) {
            i++;
            stack.pop();
            continue;
          }
          bad("after object key:value pair");
        }
      }
    }
  } catch (e) {
    if (e instanceof Stop) return e.error;
    throw e;
  }
}

/**
 * How deeply a parsed JSON value nests (a scalar is 0, `[]` and `{}` are 1), counting no further
 * than `limit + 1`: a cheap check after `JSON.parse` (which does not recurse) before anything that
 * does recurse. Iterative, so any depth is safe.
 */
export function jsonDepth(value: unknown, limit: number = GO_JSON_MAX_DEPTH): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop() as [unknown, number];
    if (typeof v !== "object" || v === null) continue;
    const depth = d + 1;
    if (depth > max) {
      max = depth;
      if (max > limit) return max;
    }
    if (Array.isArray(v)) {
      for (const x of v) if (typeof x === "object" && x !== null) stack.push([x, depth]);
    } else {
      for (const k in v) {
        const x = (v as Record<string, unknown>)[k];
        if (typeof x === "object" && x !== null) stack.push([x, depth]);
      }
    }
  }
  return max;
}
