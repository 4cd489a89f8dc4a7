import { KauditError } from "@kaudit/api";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { StatusError } from "./status";
import { MAX_JSON_BODY_DEPTH, parseJSONBody, parseYAMLBody } from "./text-body";

const SECRET = "hunter2secret";

/** What a decode gives: the value, or the StatusError's message (anything else fails the test). */
function attempt(
  parse: (t: string, w: string) => unknown,
  text: string,
): { value: unknown } | { message: string } {
  try {
    return { value: parse(text, "Secret") };
  } catch (e) {
    if (!(e instanceof StatusError) || !KauditError.isInstance(e)) throw e;
    expect(e.code).toBe(400);
    return { message: e.message };
  }
}
const decode = (parse: (t: string, w: string) => unknown, text: string): unknown => {
  const r = attempt(parse, text);
  return "message" in r ? r.message : r.value;
};

describe("body decoders", () => {
  it("JSON: Go's texts, kube's 10,000 levels", () => {
    expect(decode(parseJSONBody, '{"kind":"Secret","stringData":{"pw":hunter2}}')).toBe(
      "the object provided is unrecognized (must be of type Secret): couldn't get version/kind; json parse error: invalid character 'h' looking for beginning of value",
    );
    const ok = `${"[".repeat(MAX_JSON_BODY_DEPTH)}${"]".repeat(MAX_JSON_BODY_DEPTH)}`;
    expect(Array.isArray(decode(parseJSONBody, ok))).toBe(true);
    expect(decode(parseJSONBody, `[${ok}]`)).toMatch(
      /json parse error: invalid character '\[' exceeded max depth$/,
    );
  });

  it("YAML: go-yaml's words without the input; depth and alias limits", () => {
    expect(decode(parseYAMLBody, `a: ${"[".repeat(400)}`)).toBe(
      "the object provided is unrecognized (must be of type Secret): yaml: line 1: exceeded max depth of 300",
    );
    expect(decode(parseYAMLBody, `pw: *${SECRET}`)).toBe(
      "the object provided is unrecognized (must be of type Secret): yaml: unknown anchor referenced",
    );
    const chain = Array.from(
      { length: 400 },
      (_, i) => `a${i}: &a${i} [${i ? `*a${i - 1}` : "x"}]`,
    ).join("\n");
    expect(decode(parseYAMLBody, chain)).toMatch(/yaml: /);
  });
});

/**
 * Issue 12's fuzz of the demo decoder: only StatusError (400) comes out, fast, no prototype is
 * reached, and no message carries the body's secret.
 */
describe("body decoders fuzz", () => {
  const nasty = fc.constantFrom("__proto__", "constructor", "prototype", SECRET);
  const json = fc.letrec((tie) => ({
    v: fc
      .oneof(
        { depthSize: "small" },
        fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.constant(null), fc.constant(SECRET)),
        fc.array(tie("v"), { maxLength: 4 }),
        fc
          .array(fc.tuple(fc.oneof(nasty, fc.string({ maxLength: 4 })), tie("v")), { maxLength: 4 })
          .map((pairs) => `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`),
      )
      .map((v) => (typeof v === "string" && !v.startsWith("{") ? JSON.stringify(v) : String(v))),
  })).v as fc.Arbitrary<string>;
  // valid documents, and the same cut, spliced with junk or buried deep
  const text = fc.oneof(
    json,
    fc.tuple(json, fc.nat(), fc.string({ maxLength: 5 })).map(([t, at, junk]) => {
      const i = at % (t.length + 1);
      return `${t.slice(0, i)}${junk}${t.slice(i + 1)}`;
    }),
    fc
      .tuple(fc.integer({ min: 1, max: 20_000 }), json)
      .map(([n, t]) => `${"[".repeat(n)}${t}${"]".repeat(n)}`),
    fc.string({ maxLength: 30 }).map((s) => `${s}: ${SECRET}\n  - [${s}`),
  );

  it("only StatusError, under 100 ms, no prototype reached, no secret in a message", () => {
    fc.assert(
      fc.property(text, (t) => {
        for (const parse of [parseJSONBody, parseYAMLBody]) {
          const start = performance.now();
          const r = attempt(parse, t);
          const ms = performance.now() - start;
          if (ms > 100) {
            // a busy machine (CI runs test files side by side): a slow input is slow every time
            let best = ms;
            for (let i = 0; i < 2 && best > 100; i++) {
              const again = performance.now();
              attempt(parse, t);
              best = Math.min(best, performance.now() - again);
            }
            expect(best, `${t.length} chars`).toBeLessThan(100);
          }
          if ("message" in r) expect(r.message).not.toContain(SECRET.slice(0, 4));
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
          expect(Object.keys(Object.prototype)).toEqual([]);
          const stack = ["value" in r ? r.value : undefined];
          while (stack.length > 0) {
            const x = stack.pop();
            if (typeof x !== "object" || x === null) continue;
            const p = Object.getPrototypeOf(x);
            expect(p === Object.prototype || p === Array.prototype).toBe(true);
            stack.push(...Object.values(x));
          }
        }
      }),
      { numRuns: 400, interruptAfterTimeLimit: 5000 },
    );
  });
});
