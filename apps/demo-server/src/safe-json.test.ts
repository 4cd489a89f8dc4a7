import { describe, expect, it } from "vitest";
import { copyJSON, setOwn, stringifyJSON } from "./safe-json";

function deep(n: number, leaf: unknown = 1): unknown {
  let v = leaf;
  for (let i = 0; i < n; i++) v = i % 2 ? { a: v, b: [undefined, null, "x\u2028"] } : [v, 2.5];
  return v;
}

describe("copyJSON and stringifyJSON", () => {
  it("write what JSON.stringify writes and copy what structuredClone copies", () => {
    const values = [
      1,
      "s",
      null,
      { a: undefined, c: Number.NaN, d: [undefined, Infinity], e: { "": -0 } },
      deep(50),
    ];
    for (const v of values) {
      expect(stringifyJSON(v)).toBe(JSON.stringify(v));
      expect(copyJSON(v)).toEqual(structuredClone({ v }).v);
    }
  });

  it("handle 20,000 levels, where the native ones overflow the stack", () => {
    const v = deep(20_000);
    expect(() => JSON.stringify(v)).toThrow(RangeError);
    expect(() => structuredClone(v)).toThrow(RangeError);
    const text = stringifyJSON(v);
    const small = deep(40);
    // the deep writer gives the native text: compare on a depth both can do
    expect(text.startsWith(JSON.stringify(small).slice(0, 20))).toBe(true);
    expect(typeof JSON.parse(text)).toBe("object");
    const copy = copyJSON(v);
    expect(copy === v).toBe(false);
    expect(stringifyJSON(copy) === text).toBe(true);
  });

  it("keep __proto__ as an own key", () => {
    const v = JSON.parse('{"__proto__":{"polluted":1},"constructor":{"prototype":{"x":1}}}');
    const c = copyJSON(v) as Record<string, unknown>;
    expect(Object.keys(c)).toEqual(["__proto__", "constructor"]);
    expect(Object.getPrototypeOf(c)).toBe(Object.prototype);
    expect(stringifyJSON(c)).toBe(
      '{"__proto__":{"polluted":1},"constructor":{"prototype":{"x":1}}}',
    );
    const o: Record<string, unknown> = {};
    setOwn(o, "__proto__", { polluted: 1 });
    expect(Object.getPrototypeOf(o)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
