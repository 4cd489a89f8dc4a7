/**
 * The decoder matching Go's `strconv.Quote` (which lives in @kaudit/api as `goQuote`), for
 * JavaScript strings.
 *
 * A Go string is bytes; a JavaScript string is UTF-16 code units. Valid text maps one to one.
 * The only JavaScript strings that are not valid Unicode are those with lone surrogates; we
 * treat them as the bytes a generalised UTF-8 encoder (WTF-8) gives them (`ED A0 80` for
 * U+D800), which Go, seeing invalid UTF-8, writes as `\xed\xa0\x80`. The decoder maps such a
 * byte triple back to the lone surrogate, so those strings round-trip too.
 */

export { goQuote } from "@kaudit/api";

/**
 * Decodes bytes as Go's `utf8.DecodeRune` would, one U+FFFD per invalid byte, except that an
 * encoded surrogate (`ED A0..BF 80..BF`, which Go also treats as invalid) becomes that lone
 * surrogate, so that {@link goQuote}'s output for lone surrogates decodes to the same string.
 */
export function decodeGoBytes(bytes: readonly number[]): string {
  let out = "";
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b0 = bytes[i]!;
    if (b0 < 0x80) {
      out += String.fromCharCode(b0);
      i++;
      continue;
    }
    let need = 0;
    let lo = 0x80;
    let hi = 0xbf;
    let cp = 0;
    if (b0 >= 0xc2 && b0 <= 0xdf) {
      need = 1;
      cp = b0 & 0x1f;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      need = 2;
      cp = b0 & 0x0f;
      if (b0 === 0xe0) lo = 0xa0;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      need = 3;
      cp = b0 & 0x07;
      if (b0 === 0xf0) lo = 0x90;
      if (b0 === 0xf4) hi = 0x8f;
    }
    let ok = need > 0 && i + need < n;
    if (ok) {
      for (let k = 1; k <= need; k++) {
        const b = bytes[i + k];
        const l = k === 1 ? lo : 0x80;
        const h = k === 1 ? hi : 0xbf;
        if (b === undefined || b < l || b > h) {
          ok = false;
          break;
        }
        cp = (cp << 6) | (b & 0x3f);
      }
    }
    if (!ok) {
      out += "\ufffd";
      i++;
      continue;
    }
    out += String.fromCodePoint(cp);
    i += need + 1;
  }
  return out;
}

/** Where and why a Go-quoted string could not be decoded (offset is into the input text). */
export class GoUnquoteFailure {
  constructor(
    readonly offset: number,
    readonly message: string,
  ) {}
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/**
 * Reads one Go double-quoted string literal starting at `text[start]` (which must be `"`), as
 * Go's `strconv.Unquote` would (plus lone surrogates, see {@link decodeGoBytes}), and returns
 * the decoded value and the index just past the closing quote. Like Go's Unquote, raw control
 * characters other than a newline are taken as they are. Returns a {@link GoUnquoteFailure}
 * instead of throwing, so callers can add their own context.
 */
export function readGoQuoted(
  text: string,
  start: number,
): { value: string; end: number } | GoUnquoteFailure {
  const r = readGoQuotedFast(text, start);
  return typeof r === "string" ? { value: r, end: quotedEnd.value } : r;
}

/** Where the last successful {@link readGoQuotedFast} ended (index past the closing quote). */
export const quotedEnd = { value: 0 };

/**
 * {@link readGoQuoted} without allocating a result object: returns the value and leaves the
 * end index in `quotedEnd.value`.
 */
export function readGoQuotedFast(text: string, start: number): string | GoUnquoteFailure {
  if (text.charCodeAt(start) !== 0x22) {
    return new GoUnquoteFailure(start, 'expected an opening `"`');
  }
  const from = start + 1;
  const close = text.indexOf('"', from);
  const backslash = text.indexOf("\\", from);
  if (close !== -1 && (backslash === -1 || backslash > close)) {
    // Fast path: no escapes (indexOf is much faster than a character loop).
    const newline = text.indexOf("\n", from);
    if (newline !== -1 && newline < close) return rawNewline(newline);
    quotedEnd.value = close + 1;
    return text.slice(from, close);
  }
  return readEscaped(text, from, from);
}

/** The slow path of readGoQuotedFast: `text[from..]` has an escape at `i` (or ends there). */
function readEscaped(text: string, from: number, i: number): string | GoUnquoteFailure {
  let out = "";
  let bytes: number[] | undefined;
  let run = from;
  const n = text.length;
  const flushBytes = () => {
    if (bytes !== undefined) {
      out += decodeGoBytes(bytes);
      bytes = undefined;
    }
  };
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      if (i > run) {
        flushBytes();
        out += text.slice(run, i);
      }
      flushBytes();
      quotedEnd.value = i + 1;
      return out;
    }
    if (c === 0x0a) return rawNewline(i);
    if (c !== 0x5c) {
      i++;
      continue;
    }
    if (i > run) {
      flushBytes();
      out += text.slice(run, i);
    }
    const e = text.charCodeAt(i + 1);
    let simple: string | undefined;
    switch (e) {
      case 0x61:
        simple = "\x07";
        break;
      case 0x62:
        simple = "\b";
        break;
      case 0x66:
        simple = "\f";
        break;
      case 0x6e:
        simple = "\n";
        break;
      case 0x72:
        simple = "\r";
        break;
      case 0x74:
        simple = "\t";
        break;
      case 0x76:
        simple = "\v";
        break;
      case 0x5c:
        simple = "\\";
        break;
      case 0x22:
        simple = '"';
        break;
    }
    if (simple !== undefined) {
      flushBytes();
      out += simple;
      i += 2;
      run = i;
      continue;
    }
    if (e === 0x78 || e === 0x75 || e === 0x55) {
      const digits = e === 0x78 ? 2 : e === 0x75 ? 4 : 8;
      let v = 0;
      for (let k = 0; k < digits; k++) {
        const h = hexValue(text.charCodeAt(i + 2 + k));
        if (h < 0) {
          const esc = `\\${String.fromCharCode(e)}`;
          return new GoUnquoteFailure(
            i + 2 + k,
            `expected ${digits} hex digits after ${esc}, found ${describeAt(text, i + 2 + k)}`,
          );
        }
        v = v * 16 + h;
      }
      if (e === 0x78) {
        bytes ??= [];
        bytes.push(v);
      } else {
        if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
          return new GoUnquoteFailure(
            i,
            `invalid code point U+${v.toString(16).toUpperCase()} in \\${String.fromCharCode(e)} escape`,
          );
        }
        flushBytes();
        out += String.fromCodePoint(v);
      }
      i += 2 + digits;
      run = i;
      continue;
    }
    if (e >= 0x30 && e <= 0x37) {
      let v = 0;
      for (let k = 0; k < 3; k++) {
        const d = text.charCodeAt(i + 1 + k);
        if (!(d >= 0x30 && d <= 0x37)) {
          return new GoUnquoteFailure(
            i + 1 + k,
            `expected 3 octal digits after \\, found ${describeAt(text, i + 1 + k)}`,
          );
        }
        v = v * 8 + (d - 0x30);
      }
      if (v > 255)
        return new GoUnquoteFailure(i, `octal escape \\${text.slice(i + 1, i + 4)} is over 255`);
      bytes ??= [];
      bytes.push(v);
      i += 4;
      run = i;
      continue;
    }
    if (Number.isNaN(e)) break;
    return new GoUnquoteFailure(
      i,
      `unknown escape \\${String.fromCharCode(e)}: expected one of \\a \\b \\f \\n \\r \\t \\v \\\\ \\" \\xNN \\NNN \\uNNNN \\UNNNNNNNN`,
    );
  }
  return new GoUnquoteFailure(n, 'unterminated quoted value: expected a closing `"`');
}

function rawNewline(i: number): GoUnquoteFailure {
  return new GoUnquoteFailure(i, "raw newline inside a quoted value (Go's %q writes it as \\n)");
}

/** A short description of the character at `i` for error messages. */
export function describeAt(text: string, i: number): string {
  if (i >= text.length) return "end of line";
  const cp = text.codePointAt(i)!;
  if (cp >= 0x20 && cp < 0x7f) return `"${String.fromCharCode(cp)}"`;
  return `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;
}
