/**
 * Go's `strconv.Quote` (what `fmt.Sprintf("%q", s)` writes for a string) and the matching
 * decoder, for JavaScript strings.
 *
 * A Go string is bytes; a JavaScript string is UTF-16 code units. Valid text maps one to one.
 * The only JavaScript strings that are not valid Unicode are those with lone surrogates; we
 * treat them as the bytes a generalised UTF-8 encoder (WTF-8) gives them (`ED A0 80` for
 * U+D800), which Go, seeing invalid UTF-8, writes as `\xed\xa0\x80`. The decoder maps such a
 * byte triple back to the lone surrogate, so those strings round-trip too.
 */

const HEX = "0123456789abcdef";

/** Printable ASCII other than `"` and `\`: written as is. */
const PLAIN_ASCII = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/**
 * Go's `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols (categories L, M, N, P,
 * S) and the ASCII space. JavaScript's tables come from the Unicode version of the running
 * engine's ICU, Go's from the Unicode version of the Go release; they differ only for code
 * points assigned in between.
 */
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

/** Whether Go's `strconv.IsPrint` holds for the code point (approximately; see PRINTABLE). */
export function isGoPrint(cp: number): boolean {
  if (cp < 0x80) return cp >= 0x20 && cp < 0x7f;
  if (cp >= 0xd800 && cp <= 0xdfff) return false;
  return PRINTABLE.test(String.fromCodePoint(cp));
}

function hex2(b: number): string {
  return `\\x${HEX[b >> 4]}${HEX[b & 15]}`;
}

function hexN(prefix: string, cp: number, digits: number): string {
  return `${prefix}${cp.toString(16).padStart(digits, "0")}`;
}

const ASCII_ESCAPES: Record<number, string> = {
  7: "\\a",
  8: "\\b",
  12: "\\f",
  10: "\\n",
  13: "\\r",
  9: "\\t",
  11: "\\v",
  34: '\\"',
  92: "\\\\",
};

/**
 * Go's `strconv.Quote(s)`: `s` in double quotes with `"` and `\` backslashed, `\a \b \f \n \r
 * \t \v` for those controls, `\xNN` for other C0 controls, DEL and invalid UTF-8 (here: lone
 * surrogates, as their WTF-8 bytes), `\uNNNN` / `\UNNNNNNNN` (lower-case hex) for other
 * non-printable code points, and printable Unicode as is. No HTML escaping.
 *
 * @example
 * goQuote('a "b"\n') // => '"a \\"b\\"\\n"'
 */
export function goQuote(s: string): string {
  if (PLAIN_ASCII.test(s)) return `"${s}"`;
  let out = '"';
  let run = 0; // start of the pending run of characters written as is
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      if (c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c) continue;
      out += s.slice(run, i);
      out += ASCII_ESCAPES[c] ?? hex2(c);
      run = i + 1;
      continue;
    }
    let cp = c;
    let width = 1;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        cp = (c - 0xd800) * 0x400 + (d - 0xdc00) + 0x10000;
        width = 2;
      }
    }
    if (cp >= 0xd800 && cp <= 0xdfff) {
      // A lone surrogate: invalid UTF-8 in Go terms, one \x per byte of its WTF-8 form.
      out += s.slice(run, i);
      out += hex2(0xe0 | (cp >> 12)) + hex2(0x80 | ((cp >> 6) & 0x3f)) + hex2(0x80 | (cp & 0x3f));
      run = i + 1;
      continue;
    }
    if (!isGoPrint(cp)) {
      out += s.slice(run, i);
      out += cp < 0x10000 ? hexN("\\u", cp, 4) : hexN("\\U", cp, 8);
      run = i + width;
    }
    i += width - 1;
  }
  out += s.slice(run);
  return `${out}"`;
}

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
