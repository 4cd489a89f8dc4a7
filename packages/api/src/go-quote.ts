/**
 * Go's `strconv.Quote` (what `fmt.Sprintf("%q", s)` writes for a string), for JavaScript strings:
 * kube-apiserver uses it for legacy log lines and in its error messages.
 *
 * A Go string is bytes; a JavaScript string is UTF-16 code units. Valid text maps one to one.
 * The only JavaScript strings that are not valid Unicode are those with lone surrogates; we
 * treat them as the bytes a generalised UTF-8 encoder (WTF-8) gives them (`ED A0 80` for
 * U+D800), which Go, seeing invalid UTF-8, writes as `\xed\xa0\x80`.
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
