import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DecodeError, decodeEvent, decodeEventList } from "./decode";
import { EncodeError, encodeEvent } from "./encode";
import { jsonDepthExceeded, MAX_JSON_DEPTH } from "./json-depth";
import type { Event } from "./types";
import { validateEvent, validateEventList } from "./validate";

// A real event (audit2rbac's demo log, see __fixtures__/SOURCES.md) to nest bodies into.
const line = readFileSync(
  new URL("./__fixtures__/events/audit2rbac-demo.v1.jsonl", import.meta.url),
  "utf8",
).split("\n")[0] as string;

const deepText = (n: number) => `${'{"a":'.repeat(n)}1${"}".repeat(n)}`;
function deepValue(n: number, arrays = false): unknown {
  let v: unknown = 1;
  for (let i = 0; i < n; i++) v = arrays ? [v] : { a: v };
  return v;
}
const withBody = (body: unknown): Event => ({
  ...decodeEvent(line),
  requestObject: body as Event["requestObject"],
});

describe("jsonDepthExceeded", () => {
  it.each([
    ["[]", 1, -1],
    ["[[]]", 1, 1],
    ['{"a":[{"b":1}]}', 3, -1],
    ['{"a":[{"b":1}]}', 2, 6],
    ['["[[[[[[", "\\"[[[[["]', 1, -1],
    ['["\\\\", [[1]]]', 2, 8],
    ['{"k\\\\\\"{{{{{": [1]}', 2, -1],
  ])("%s at limit %i → %i", (text, limit, at) => {
    expect(jsonDepthExceeded(text, limit)).toBe(at);
  });

  it("clears text with fewer brackets than the limit without a full scan, and finds deep ones", () => {
    expect(jsonDepthExceeded(line, 3)).toBe(-1);
    expect(jsonDepthExceeded(deepText(MAX_JSON_DEPTH), MAX_JSON_DEPTH)).toBe(-1);
    expect(jsonDepthExceeded(deepText(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH)).toBe(
      MAX_JSON_DEPTH * 5,
    );
  });
});

describe("decodeEvent / decodeEventList nesting limit", () => {
  it.each([5_000, 6_000, 100_000])(
    "refuses a body nested %i deep with a DecodeError, before parsing",
    (n) => {
      const text = line.replace(/}$/, `,"requestObject":${deepText(n)}}`);
      let err: unknown;
      try {
        decodeEvent(text);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DecodeError);
      expect((err as DecodeError).message).toMatch(/nests deeper than 1024 levels at offset \d+/);
      expect(() => decodeEventList(`{"items":[${text}]}`)).toThrow(DecodeError);
    },
  );

  it("accepts a body as deep as the middleware records (1,000) inside an EventList", () => {
    const text = line.replace(/}$/, `,"requestObject":${deepText(1_000)}}`);
    const list = decodeEventList(`{"kind":"EventList","items":[${text}]}`);
    const r = validateEventList(list);
    // (The 2017 demo line carries metadata/timestamp, which v1 reports as unknown fields.)
    expect(r.ok ? [] : r.issues.filter((i) => i.path.includes("Object"))).toEqual([]);
    expect(encodeEvent(list.items[0] as Event)).toContain(deepText(1_000));
  });

  it("a maxDepth option narrows or widens the limit", () => {
    expect(() => decodeEvent(line, { maxDepth: 2 })).toThrow(/deeper than 2 levels/);
    expect(
      decodeEvent(line.replace(/}$/, `,"requestObject":${deepText(5_000)}}`), { maxDepth: 6_000 })
        .requestObject,
    ).toBeDefined();
  });

  it("never quotes the input in a syntax error", () => {
    const secret = '{"kind":"Secret","stringData":{"pw":hunter2}}';
    expect(() => decodeEvent(secret)).toThrow(DecodeError);
    try {
      decodeEvent(secret);
    } catch (e) {
      expect((e as Error).message).not.toContain("hunter2");
      expect((e as Error).message).toBe("invalid JSON: unexpected token");
    }
  });
});

describe("validateEvent nesting", () => {
  it.each([5_000, 6_000, 100_000])(
    "reports a JS-built body nested %i deep as an issue, no RangeError",
    (n) => {
      const r = validateEvent(withBody(deepValue(n)));
      expect(r.ok).toBe(false);
      if (!r.ok)
        expect(r.issues).toContainEqual({
          path: "requestObject",
          message: "Invalid value: nests deeper than 1022 levels",
        });
    },
  );

  it("quotes a deep or huge wrong-typed value briefly instead of overflowing", () => {
    const r = validateEvent({ ...decodeEvent(line), user: deepValue(100_000, true) });
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.issues.find((i) => i.path === "user")?.message).toMatch(
        /^Invalid value: \[…\]: must be of type object$/,
      );
    const big = validateEvent({ ...decodeEvent(line), verb: { s: "x".repeat(1_000_000) } });
    if (!big.ok) for (const i of big.issues) expect(i.message.length).toBeLessThan(300);
  });
});

describe("encodeEvent on deep values", () => {
  it.each([5_000, 6_000, 100_000])(
    "writes a JS-built object body nested %i deep (no RangeError)",
    (n) => {
      const out = encodeEvent(withBody(deepValue(n)));
      expect(out).toContain(`"requestObject":${deepText(n)}`);
      expect(JSON.parse(out).kind).toBe("Event");
    },
  );

  it.each([5_000, 100_000])("writes nested arrays %i deep as the recursive writer would", (n) => {
    const out = encodeEvent(withBody({ a: deepValue(n, true) }));
    expect(out).toContain(`"requestObject":{"a":${"[".repeat(n)}1${"]".repeat(n)}}`);
  });

  it("writes deep values with the same bytes as shallow ones are written (escapes, key order, toJSON)", () => {
    const leaf = { "<b>": "x\u2028&", z: [new Date(0), undefined, null], a: "\ud800" };
    let v: unknown = leaf;
    for (let i = 0; i < 6_000; i++) v = { k: v };
    const shallow = encodeEvent(withBody(leaf));
    const body = shallow.slice(
      shallow.indexOf('"requestObject":') + 16,
      shallow.indexOf(',"requestReceivedTimestamp"'),
    );
    expect(encodeEvent(withBody(v))).toContain(
      `${'{"k":'.repeat(6_000)}${body}${"}".repeat(6_000)}`,
    );
  });

  it("refuses a body that contains itself with an EncodeError naming the field", () => {
    const cyc: Record<string, unknown> = { a: [] };
    (cyc.a as unknown[]).push(cyc);
    expect(() =>
      encodeEvent({ ...withBody({}), responseObject: cyc as Event["responseObject"] }),
    ).toThrow(EncodeError);
    expect(() =>
      encodeEvent({ ...withBody({}), responseObject: cyc as Event["responseObject"] }),
    ).toThrow(/^responseObject: the value contains itself$/);
  });
});
