/**
 * The nesting limit of every JSON text kaudit decodes from outside (`decodeEvent`,
 * `decodeEventList`): deeper text is refused before anything recursive runs. V8's
 * `JSON.stringify` and any recursive walk of a decoded value overflow the stack somewhere past
 * 4,000 levels, and less inside a deep call stack; 1,024 leaves room for an event whose body
 * nests 1,000 deep (the middleware's body limit) inside an EventList.
 */
export const MAX_JSON_DEPTH = 1024;

/** How many times `ch` occurs in `text`, counting no further than `cap`. */
function countUpTo(text: string, ch: string, cap: number): number {
  let n = 0;
  for (let i = text.indexOf(ch); i !== -1 && n < cap; i = text.indexOf(ch, i + 1)) n++;
  return n;
}

/** The index of the quote closing the string opened at `i`, or the text's length. */
function stringEnd(text: string, i: number): number {
  for (let q = text.indexOf('"', i + 1); q !== -1; q = text.indexOf('"', q + 1)) {
    let backslashes = 0;
    while (text.charCodeAt(q - 1 - backslashes) === 0x5c) backslashes++;
    if (backslashes % 2 === 0) return q;
  }
  return text.length;
}

/**
 * Where JSON text first nests deeper than `limit` arrays and objects: the offset of the opening
 * bracket one level too deep, or -1 when it never does. Iterative, and linear in the text; a
 * text with no more opening brackets than `limit` is cleared by native scans alone.
 */
export function jsonDepthExceeded(text: string, limit: number = MAX_JSON_DEPTH): number {
  if (text.length <= limit) return -1;
  const cap = limit + 1;
  if (countUpTo(text, "{", cap) + countUpTo(text, "[", cap) <= limit) return -1;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) i = stringEnd(text, i);
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return i;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return -1;
}
