import { readdirSync, readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeEvent } from "./decode";
import { encodeEvent } from "./encode";
import { KauditError } from "./errors";
import type { Event } from "./types";
import { validateEvent } from "./validate";

// Fuzz suite (issue 12): decodeEvent, validateEvent and encodeEvent on hostile input throw only
// kaudit's own errors, take under 100 ms per input, and never let `__proto__`/`constructor` keys
// reach a prototype. Seeds are real events (audit2rbac, rbac-tool, Falco; __fixtures__/SOURCES.md).
// Each property runs for a bounded time so the whole file stays near ten seconds.

const fixtures = new URL("./__fixtures__/events/", import.meta.url);
const seeds: string[] = [
  ...["audit2rbac-demo.v1.jsonl", "rbac-tool-auditgen-01.v1.jsonl"].flatMap((f) =>
    readFileSync(new URL(f, fixtures), "utf8")
      .split("\n")
      .filter((l) => l.startsWith("{")),
  ),
  ...readdirSync(new URL("falco-trace-files/", fixtures))
    .slice(0, 12)
    .flatMap((f) =>
      readFileSync(new URL(`falco-trace-files/${f}`, fixtures), "utf8")
        .split("\n")
        .filter((l) => l.startsWith("{")),
    ),
];

const LIMIT_MS = 100;
// CI runs a fixed seed so a red build is reproducible; runs elsewhere explore new inputs (an
// edge found there — e.g. a lone surrogate in an annotation key not round-tripping — is fixed
// and then kept as a case).
const RUN = {
  interruptAfterTimeLimit: 3_500,
  markInterruptAsFailure: false,
  numRuns: 2_000,
  ...(process.env.CI ? { seed: 20261201 } : {}),
};

/** Runs `f`, failing on any error other than a KauditError and on an input slower than 100 ms. */
function bounded<T>(f: () => T): T | undefined {
  // The machine running CI is shared: a slow call is timed again, and only the best of three counts.
  let best = Number.POSITIVE_INFINITY;
  let out: T | undefined;
  for (let attempt = 0; attempt < 3 && best >= LIMIT_MS; attempt++) {
    const t0 = performance.now();
    try {
      out = f();
    } catch (e) {
      if (!KauditError.isInstance(e)) throw e;
      out = undefined;
    }
    best = Math.min(best, performance.now() - t0);
  }
  expect(best).toBeLessThan(LIMIT_MS);
  return out;
}

const PROTO_KEYS = ["__proto__", "constructor", "prototype", "toString", "hasOwnProperty"];
const key = fc.oneof(
  fc.constantFrom(...PROTO_KEYS, "kind", "metadata", "managedFields", "name", "0", "-1"),
  fc.string({ maxLength: 6 }),
);
/** JSON text, with prototype-ish keys and duplicate keys, built as text so nothing is set on a JS object. */
const jsonText: fc.Arbitrary<string> = fc.letrec<{ v: string }>((tie) => ({
  v: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom("null", "true", "false", "0", "-0", "1e400", "1.0", "12345678901234567890"),
    fc.string({ unit: "binary", maxLength: 12 }).map((s) => JSON.stringify(s)),
    fc.array(tie("v"), { maxLength: 4 }).map((a) => `[${a.join(",")}]`),
    fc
      .array(fc.tuple(key, tie("v")), { maxLength: 4 })
      .map((m) => `{${m.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`),
  ),
})).v;

/** Deep text: brackets nested thousands of levels, closed or not, with strings in between. */
const deepText = fc
  .tuple(fc.integer({ min: 900, max: 30_000 }), fc.boolean(), fc.boolean())
  .map(([n, arrays, closed]) => {
    const open = arrays ? "[" : '{"a":';
    const close = arrays ? "]" : "}";
    return `${open.repeat(n)}"x"${closed ? close.repeat(n) : ""}`;
  });

const seed = fc.constantFrom(...seeds);
/** A real event with one field replaced by hostile JSON. */
const eventWithField = fc
  .tuple(
    seed,
    fc.constantFrom(
      "requestObject",
      "responseObject",
      "user",
      "impersonatedUser",
      "annotations",
      "objectRef",
      "responseStatus",
      "sourceIPs",
      "level",
      "stageTimestamp",
      "__proto__",
      "constructor",
    ),
    fc.oneof(jsonText, deepText),
  )
  .map(([line, field, value]) => `${line.replace(/}\s*$/, "")},${JSON.stringify(field)}:${value}}`);
/** A real event cut, spliced or sprinkled with bytes that matter to a JSON scanner. */
const mutated = fc
  .tuple(
    seed,
    fc.nat(),
    fc.nat(),
    fc.constantFrom('"', "\\", "{", "[", "}", "]", ",", ":", "\u0000", "\ud800", ""),
  )
  .map(([line, a, b, ins]) => {
    const i = a % (line.length + 1);
    const j = Math.min(line.length, i + (b % 8));
    return line.slice(0, i) + ins + line.slice(j);
  });
const anyText = fc.oneof(
  eventWithField,
  mutated,
  jsonText,
  deepText,
  fc.string({ unit: "binary" }),
);

const protoBefore = Object.getOwnPropertyNames(Object.prototype).sort().join();
function prototypesUntouched(): void {
  expect(Object.getOwnPropertyNames(Object.prototype).sort().join()).toBe(protoBefore);
  expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  expect(({} as Record<string, unknown>).a).toBeUndefined();
}

/** True when no object in the value (walked iteratively) has a prototype other than Object's, Array's or null. */
function plainPrototypes(v: unknown): boolean {
  const stack = [v];
  let budget = 100_000;
  while (stack.length > 0 && budget-- > 0) {
    const x = stack.pop();
    if (typeof x !== "object" || x === null) continue;
    const p = Object.getPrototypeOf(x);
    if (p !== Object.prototype && p !== Array.prototype && p !== null) return false;
    for (const c of Object.values(x)) stack.push(c);
  }
  return true;
}

describe("fuzz: decodeEvent, validateEvent, encodeEvent", () => {
  it("decodeEvent throws only DecodeError, within 100 ms, and builds plain objects only", () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const ev = bounded(() => decodeEvent(text));
        if (ev !== undefined) expect(plainPrototypes(ev)).toBe(true);
        prototypesUntouched();
      }),
      RUN,
    );
  });

  it("validateEvent never throws and answers within 100 ms, on decoded and on JS-built values", () => {
    const jsBuilt = fc.anything({
      maxDepth: 4,
      withBigInt: true,
      withDate: true,
      withMap: true,
      withNullPrototype: true,
      withObjectString: true,
      withSparseArray: true,
      key: key,
    });
    fc.assert(
      fc.property(fc.oneof(anyText, jsBuilt), (input) => {
        let value: unknown = input;
        if (typeof input === "string") {
          try {
            value = decodeEvent(input);
          } catch {
            return;
          }
        }
        const t0 = performance.now();
        const r = validateEvent(value); // must not throw at all
        const ms = performance.now() - t0;
        expect(ms < LIMIT_MS || bounded(() => validateEvent(value)) !== undefined).toBe(true);
        expect(typeof r.ok).toBe("boolean");
        prototypesUntouched();
      }),
      RUN,
    );
  });

  it("encodeEvent of any decoded event throws only EncodeError, within 100 ms; valid events round-trip", () => {
    fc.assert(
      fc.property(fc.oneof(eventWithField, mutated, seed), (text) => {
        let ev: Event;
        try {
          ev = decodeEvent(text, { maxDepth: 40_000 });
        } catch {
          return;
        }
        const out = bounded(() => encodeEvent(ev));
        prototypesUntouched();
        if (out === undefined || !validateEvent(ev).ok) return;
        // What a valid event encodes to is one JSON object that decodes to an equally valid event.
        const back = decodeEvent(out, { maxDepth: 40_000 });
        expect(validateEvent(back).ok).toBe(true);
        // Go writes a lone surrogate as the escape `\ufffd` and the U+FFFD that decodes to as the
        // character itself, so only then may the second line differ; from there on it is fixed.
        const again = encodeEvent(back);
        if (!out.includes("\\ufffd")) expect(again).toBe(out);
        expect(encodeEvent(decodeEvent(again, { maxDepth: 40_000 }))).toBe(again);
      }),
      RUN,
    );
  });

  it("keeps __proto__ and constructor as ordinary keys end to end", () => {
    const text = seeds[0]!.replace(
      /}\s*$/,
      ',"annotations":{"__proto__":"a","constructor":"b"},"requestObject":{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}}',
    );
    const ev = decodeEvent(text);
    expect(Object.hasOwn(ev.annotations!, "__proto__")).toBe(true);
    const out = encodeEvent(ev);
    expect(out).toContain('"annotations":{"__proto__":"a","constructor":"b"}');
    expect(out).toContain(
      '"requestObject":{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}',
    );
    prototypesUntouched();
  });
});
