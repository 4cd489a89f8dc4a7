import { describe, expect, it } from "vitest";
import { checkGoJSON, GO_JSON_MAX_DEPTH, jsonDepth } from "./go-json";

/**
 * What Go's encoding/json (json.Valid's scanner, which kube-apiserver's decoders run first)
 * reports for each input: `go run` of `json.Unmarshal(in, &v)` with Go 1.23 gives these texts.
 */
const table: [input: string, message: string | undefined, offset?: number][] = [
  ['{"a":1}', undefined],
  ['  [1, 2.5e+3, -0, true, false, null, "x\\u00e9\\n"]\r\n', undefined],
  ["", "unexpected end of JSON input", 0],
  ["   ", "unexpected end of JSON input", 3],
  [
    '{"kind":"Secret","stringData":{"pw":hunter2}}',
    "invalid character 'h' looking for beginning of value",
    36,
  ],
  ['{"a":1,}', "invalid character '}' looking for beginning of object key string", 7],
  ['{"a" 1}', "invalid character '1' after object key", 5],
  ['{"a":1 "b":2}', "invalid character '\"' after object key:value pair", 7],
  ["[1 2]", "invalid character '2' after array element", 3],
  ["[1,]", "invalid character ']' looking for beginning of value", 3],
  ["{} x", "invalid character 'x' after top-level value", 3],
  ["01", "invalid character '1' after top-level value", 1],
  ["-", "invalid character ' ' in numeric literal", 1],
  ["-a", "invalid character 'a' in numeric literal", 1],
  ["1.", "invalid character ' ' after decimal point in numeric literal", 2],
  ["1.x", "invalid character 'x' after decimal point in numeric literal", 2],
  ["1e", "invalid character ' ' in exponent of numeric literal", 2],
  ["1e+x", "invalid character 'x' in exponent of numeric literal", 3],
  ["tru", "invalid character ' ' in literal true (expecting 'e')", 3],
  ["nul1", "invalid character '1' in literal null (expecting 'l')", 3],
  ["fals", "invalid character ' ' in literal false (expecting 'e')", 4],
  ['"abc', "unexpected end of JSON input", 4],
  ['"a\tb"', "invalid character '\\t' in string literal", 2],
  ['"a\u0001"', "invalid character '\\x01' in string literal", 2],
  ['"\\x"', "invalid character 'x' in string escape code", 2],
  ['"\\', "invalid character ' ' in string escape code", 2],
  ['"\\u12g4"', "invalid character 'g' in \\u hexadecimal character escape", 5],
  ["'a'", "invalid character '\\'' looking for beginning of value", 0],
  ["\\", "invalid character '\\\\' looking for beginning of value", 0],
  ["é", "invalid character '\\xc3' looking for beginning of value", 0],
  ['{"a":1', "unexpected end of JSON input", 6],
  ["[", "unexpected end of JSON input", 1],
  ['{"a"', "unexpected end of JSON input", 4],
];

describe("checkGoJSON", () => {
  it.each(table)("%j → %s", (input, message, offset) => {
    const got = checkGoJSON(input);
    if (message === undefined) {
      expect(got).toBeUndefined();
      expect(() => JSON.parse(input)).not.toThrow();
    } else {
      expect(got).toEqual({ message, offset });
      expect(() => JSON.parse(input)).toThrow();
    }
  });

  it("allows 10,000 levels and refuses the 10,001st as Go does, without recursing", () => {
    const ok = `${"[".repeat(GO_JSON_MAX_DEPTH)}${"]".repeat(GO_JSON_MAX_DEPTH)}`;
    expect(checkGoJSON(ok)).toBeUndefined();
    const over = `{"a":${'{"a":'.repeat(GO_JSON_MAX_DEPTH)}1${"}".repeat(GO_JSON_MAX_DEPTH + 1)}`;
    expect(checkGoJSON(over)).toEqual({
      message: "invalid character '{' exceeded max depth",
      offset: 5 * GO_JSON_MAX_DEPTH,
    });
    // a million levels: no stack is used, and the error comes at the 10,001st
    expect(checkGoJSON("[".repeat(1_000_000))?.message).toBe(
      "invalid character '[' exceeded max depth",
    );
    expect(checkGoJSON("[[[1]]]", 2)?.message).toBe("invalid character '[' exceeded max depth");
  });

  it("never quotes more of the input than the one offending character", () => {
    const secret = "hunter2-correct-horse-battery-staple";
    for (const text of [
      `{"pw":${secret}}`,
      `{"pw":"${secret}`,
      `{"pw":"${secret}"`,
      `{"pw":"${secret}" x}`,
      `{"pw":"${secret}\\q"}`,
    ]) {
      const m = checkGoJSON(text)?.message ?? "";
      expect(m).not.toContain("hunter2");
      expect(m).not.toContain("correct");
    }
  });

  it("checks a body in time linear in its size (10x the bytes, not 100x the time)", () => {
    const body = (bytes: number) => {
      const item = JSON.stringify({ name: "x".repeat(50), v: [1, 2.5, true, null, "a\\nb"] });
      return `[${Array(Math.ceil(bytes / item.length))
        .fill(item)
        .join(",")}]`;
    };
    // The best of five runs each: a loaded machine slows single runs, not all five.
    const best = (text: string) => {
      let min = Number.POSITIVE_INFINITY;
      for (let i = 0; i < 5; i++) {
        const t = performance.now();
        expect(checkGoJSON(text)).toBeUndefined();
        min = Math.min(min, performance.now() - t);
      }
      return min;
    };
    const small = body(300 * 1024);
    const large = body(3 * 1024 * 1024);
    best(small);
    // Linear: about 10x (up to ~30x seen on a loaded 2-core machine, GC included); a quadratic
    // scan would be about 100x.
    expect(best(large) / best(small)).toBeLessThan(50);
  });
});

describe("jsonDepth", () => {
  it("measures nesting without recursing, stopping past the limit", () => {
    expect(jsonDepth(1)).toBe(0);
    expect(jsonDepth({})).toBe(1);
    expect(jsonDepth({ a: [1, { b: [] }], c: {} })).toBe(4);
    const deep = JSON.parse(`${"[".repeat(200_000)}${"]".repeat(200_000)}`);
    expect(jsonDepth(deep)).toBe(GO_JSON_MAX_DEPTH + 1);
    expect(jsonDepth(deep, 1_000_000)).toBe(200_000);
  });
});
