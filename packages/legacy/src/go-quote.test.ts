import { describe, expect, it } from "vitest";
import { decodeGoBytes, GoUnquoteFailure, goQuote, readGoQuoted } from "./go-quote";

// Expected outputs are hand-derived from Go's strconv.Quote rules (spec §8.3): `"` and `\`
// backslashed, \a\b\f\n\r\t\v, \xNN for other C0 controls / DEL / invalid UTF-8, \u / \U
// (lower-case hex) for non-printable runes, printable Unicode raw, no HTML escaping.
const QUOTE_CASES: [name: string, input: string, quoted: string][] = [
  ["empty", "", '""'],
  ["plain ascii", "system:masters", '"system:masters"'],
  ["double quote", 'a"b', '"a\\"b"'],
  ["backslash", "a\\b", '"a\\\\b"'],
  ["named controls", "\x07\b\f\n\r\t\v", '"\\a\\b\\f\\n\\r\\t\\v"'],
  ["other C0 and DEL", "\x00\x01\x1b\x1f\x7f", '"\\x00\\x01\\x1b\\x1f\\x7f"'],
  ["printable non-ASCII", "é日本😀", '"é日本😀"'],
  ["combining mark", "e\u0301", '"e\u0301"'],
  ["no-break space", "a\u00a0b", '"a\\u00a0b"'],
  ["ideographic space", "\u3000", '"\\u3000"'],
  ["zero-width space", "\u200b", '"\\u200b"'],
  ["BOM", "\ufeff", '"\\ufeff"'],
  ["line separator", "\u2028", '"\\u2028"'],
  ["C1 control", "\u0085", '"\\u0085"'],
  ["private use", "\ue000", '"\\ue000"'],
  ["astral format char", "\u{e0001}", '"\\U000e0001"'],
  ["astral private use", "\u{10ffff}", '"\\U0010ffff"'],
  ["replacement char is printable", "\ufffd", '"\ufffd"'],
  ["lone high surrogate = invalid UTF-8", "a\ud800b", '"a\\xed\\xa0\\x80b"'],
  ["lone low surrogate", "\udfff", '"\\xed\\xbf\\xbf"'],
  ["no HTML escaping", "<a>&", '"<a>&"'],
  [
    "AUDIT: injection",
    '"\n2020-01-01T00:00:00Z AUDIT: id="x',
    '"\\"\\n2020-01-01T00:00:00Z AUDIT: id=\\"x"',
  ],
];

describe("goQuote", () => {
  it.each(QUOTE_CASES)("%s", (_name, input, quoted) => {
    expect(goQuote(input)).toBe(quoted);
  });
});

describe("readGoQuoted", () => {
  it.each(QUOTE_CASES)("decodes goQuote output: %s", (_name, input, quoted) => {
    expect(readGoQuoted(`x${quoted}y`, 1)).toEqual({ value: input, end: quoted.length + 1 });
  });

  const DECODE_CASES: [name: string, literal: string, value: string][] = [
    ["octal escape", '"\\101\\060"', "A0"],
    ["\\x bytes reassembled as UTF-8", '"\\xe6\\x97\\xa5"', "日"],
    ["\\x bytes mixed with text", '"a\\xc3\\xa9b"', "aéb"],
    ["upper-case hex digits", '"\\xC3\\xA9"', "é"],
    ["\\u escape", '"\\u65e5"', "日"],
    ["\\U escape", '"\\U0001F600"', "😀"],
    ["invalid byte → U+FFFD", '"\\xff"', "\ufffd"],
    ["truncated sequence: one U+FFFD per byte, as Go", '"\\xe2\\x82a"', "\ufffd\ufffda"],
    ["overlong encoding", '"\\xc0\\x80"', "\ufffd\ufffd"],
    ["bytes then escape", '"\\xc3\\xa9\\n"', "é\n"],
    [
      "raw control characters other than newline are taken as is, like Go's Unquote",
      '"a\x00\t\x7f"',
      "a\x00\t\x7f",
    ],
  ];
  it.each(DECODE_CASES)("%s", (_name, literal, value) => {
    expect(readGoQuoted(literal, 0)).toEqual({ value, end: literal.length });
  });

  const FAILURES: [name: string, literal: string, offset: number, message: RegExp][] = [
    ["unknown escape", '"a\\qb"', 2, /unknown escape \\q/],
    ["single-quote escape is not valid in a double-quoted string", '"\\\'"', 1, /unknown escape/],
    ["short \\x", '"\\x4"', 4, /2 hex digits after \\x/],
    ["surrogate in \\u", '"\\ud800"', 1, /invalid code point U\+D800/],
    ["\\U over max", '"\\U00110000"', 1, /invalid code point/],
    ["octal over 255", '"\\400"', 1, /over 255/],
    ["short octal", '"\\12"', 4, /3 octal digits/],
    ["unterminated", '"abc', 4, /unterminated/],
    ["unterminated after escape", '"ab\\', 4, /unterminated/],
    ["raw newline", '"a\nb"', 2, /raw newline/],
    ["raw newline after an escape", '"a\\t\nb"', 4, /raw newline/],
    ["no opening quote", "abc", 0, /opening/],
  ];
  it.each(FAILURES)("fails: %s", (_name, literal, offset, message) => {
    const r = readGoQuoted(literal, 0);
    expect(r).toBeInstanceOf(GoUnquoteFailure);
    expect((r as GoUnquoteFailure).offset).toBe(offset);
    expect((r as GoUnquoteFailure).message).toMatch(message);
  });
});

describe("decodeGoBytes", () => {
  it("maps WTF-8 surrogates back to lone surrogates", () => {
    expect(decodeGoBytes([0xed, 0xa0, 0x80])).toBe("\ud800");
  });
  it("decodes 4-byte sequences and rejects F5+", () => {
    expect(decodeGoBytes([0xf0, 0x9f, 0x98, 0x80])).toBe("😀");
    expect(decodeGoBytes([0xf5, 0x80])).toBe("\ufffd\ufffd");
    expect(decodeGoBytes([0xf4, 0x90, 0x80, 0x80])).toBe("\ufffd\ufffd\ufffd\ufffd");
  });
});
