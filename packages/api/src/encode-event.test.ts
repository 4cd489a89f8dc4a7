import fs from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeEvent } from "./decode";
import { attachRawJSON, compactJSON, encodeEvent, encodeEventList } from "./encode";
import {
  compactJSONReference,
  encodeEventListReference,
  encodeEventReference,
} from "./testing/encode-reference";
import type { Event } from "./types";

// The single-pass writer (encode-event.ts) against the field-by-field writer it replaced
// (testing/encode-reference.ts, checked against kube-apiserver's bytes on the corpus): same bytes,
// same errors, on random events built to hit every branch — characters Go escapes, lone and
// paired surrogates, wrong types, keys JS reorders, bodies of every kind (raw-marked, JS-built,
// arrays, toJSON, BigInt, cycles) — and on every corpus event.

/** The text, or the error's class and message: both writers must agree on either. */
function outcome(f: () => string): string {
  try {
    return `ok ${f()}`;
  } catch (e) {
    return `throws ${(e as Error).name}: ${(e as Error).message}`;
  }
}

const nastyUnit = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("a", "Z", "0", "9", "-", ":", ".", "T", "/", " ") },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      "<",
      ">",
      "&",
      '"',
      "\\",
      "\n",
      "\t",
      "\u0000",
      "\u001f",
      "\u007f",
      "\u2028",
      "\u2029",
      "é",
      "\ue000",
      "\uffff",
      "\ud83d\ude00", // a valid pair: written as is
      "\ud800", // lone lead
      "\udfff", // lone trail
      "\\ud800", // the text of an escape, not a surrogate
    ),
  },
);
const nasty = fc.string({ unit: nastyUnit, maxLength: 12 });
const canonicalTime = fc
  .date({
    min: new Date("1970-01-01T00:00:00Z"),
    max: new Date("2999-12-31T23:59:59Z"),
    noInvalidDate: true,
  })
  .map((d) => `${d.toISOString().slice(0, 19)}.${String(d.getTime() % 1e6).padStart(6, "0")}Z`);
const time = fc.oneof(
  canonicalTime,
  canonicalTime.map((t) => t.replace("Z", "+02:00")),
  canonicalTime.map((t) => `${t.slice(0, 23)}Z`),
  canonicalTime.map((t) => t.replace("T", "t")),
  canonicalTime.map((t) => `${t.slice(0, 20)}<${t.slice(21)}`), // canonical shape, not digits
  fc.constantFrom("", "2026-11-22T10:04:05Z", "2026-13-45T99:99:99.000000Z", "soon"),
  nasty,
  fc.constant(null),
  fc.constant(undefined),
  fc.integer(),
);
/** Where a string belongs: usually a string, sometimes what hostile JSON puts there. */
const stringish = fc.oneof(
  { weight: 8, arbitrary: nasty },
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.constant(null),
      fc.constant(undefined),
      fc.integer(),
      fc.boolean(),
      fc.double(),
    ),
  },
  { weight: 1, arbitrary: fc.constant({}) }, // refused by both: an object where a string belongs
);
const key = fc.oneof(
  nasty,
  fc.constantFrom(
    "0",
    "9",
    "10",
    "a",
    "b",
    "\ud83d\ude00",
    "\ue000",
    "authorization.k8s.io/decision",
  ),
);
/** JSON values with nasty strings and keys JS reorders (integer-like ones). */
const jsonish: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    nasty,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("v"), { maxLength: 4 }),
    fc.dictionary(key, tie("v"), { maxKeys: 4 }),
  ),
})).v;

const body = fc.oneof(
  { weight: 4, arbitrary: fc.dictionary(key, jsonish, { maxKeys: 5 }) }, // a JS-built object
  { weight: 1, arbitrary: jsonish }, // any value: arrays (JSON patches), strings, numbers
  // decoded: written from the text it was parsed from (kept whitespace is compacted)
  {
    weight: 2,
    arbitrary: fc
      .dictionary(key, jsonish, { maxKeys: 4 })
      .map((v) =>
        attachRawJSON(JSON.parse(JSON.stringify(v)) as object, JSON.stringify(v, null, 1)),
      ),
  },
  // an array holding a raw-marked object: the field-by-field path keeps its raw text
  {
    weight: 1,
    arbitrary: fc.constant(null).map(() => [attachRawJSON({ a: 1 }, '{"a" : 1.0}'), "x<y"]),
  },
  // toJSON of its own, a BigInt, a cycle
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(
        () => ({ toJSON: (k: unknown) => ({ called: typeof k }) }),
        () => ({ n: 12345678901234567890n }),
        () => {
          const o: Record<string, unknown> = { a: "<" };
          o.self = o;
          return o;
        },
        () => ({ nested: attachRawJSON({ b: 2 }, '{"b":2.0}') }),
      )
      .map((make) => make()),
  },
  { weight: 2, arbitrary: fc.constantFrom(undefined, null) },
);

/**
 * Events whose fields come from `stringish` (where a string belongs), `time` and `body`: with
 * hostile leaves they reach the wrong-type branches; with strings only, the common ones (the
 * skipped scans, the reused annotation key order, both bodies in one JSON.stringify call).
 */
function events(
  stringish: fc.Arbitrary<unknown>,
  time: fc.Arbitrary<unknown>,
  body: fc.Arbitrary<unknown>,
): fc.Arbitrary<Event> {
  const word = (words: string[]) => fc.oneof(fc.constantFrom(...words), stringish);
  const stringMap = fc.oneof(
    fc.dictionary(key, stringish, { maxKeys: 4 }),
    fc.dictionary(key, stringish, { maxKeys: 4, noNullPrototype: true }),
    // keys JS orders its own way, keys whose UTF-16 and UTF-8 orders differ, an own __proto__
    fc.constantFrom(
      { "9": "a", "10": "b", c: "d" },
      { "x\ud83d\ude00": "1", "x\ue000": "2" },
      JSON.parse('{"__proto__":"p","a":"b"}') as Record<string, string>,
      JSON.parse('{"b":"y","__proto__":"p"}') as Record<string, string>,
      { a: null, b: "x" },
      { a: "x", b: undefined },
    ),
  );
  const list = fc.oneof(
    fc.array(stringish, { maxLength: 4 }),
    fc.constant(undefined),
    fc.constant(null),
    fc.constant("abc"), // not an array, but has a length: both writers index into it
  );
  const user = fc.oneof(
    fc.record(
      {
        username: stringish,
        uid: stringish,
        groups: list,
        extra: fc.oneof(fc.dictionary(key, list, { maxKeys: 3 }), fc.constant(undefined)),
      },
      { requiredKeys: [] },
    ),
    fc.constant(undefined),
    fc.constant(null),
  );
  const objectRef = fc.record(
    {
      resource: stringish,
      namespace: stringish,
      name: stringish,
      uid: stringish,
      apiGroup: stringish,
      apiVersion: stringish,
      resourceVersion: stringish,
      subresource: stringish,
    },
    { requiredKeys: [] },
  );
  const numberish = fc.oneof(
    fc.integer(),
    fc.double(),
    fc.constantFrom(0, null, undefined, "5", Number.NaN),
  );
  const status = fc.record(
    {
      kind: stringish,
      apiVersion: stringish,
      metadata: fc.oneof(
        fc.record(
          {
            selfLink: stringish,
            resourceVersion: stringish,
            continue: stringish,
            remainingItemCount: numberish,
          },
          { requiredKeys: [] },
        ),
        fc.constant(undefined),
      ),
      status: stringish,
      message: stringish,
      reason: stringish,
      details: fc.oneof(
        fc.record(
          {
            name: stringish,
            group: stringish,
            kind: stringish,
            uid: stringish,
            causes: fc.oneof(
              fc.array(
                fc.oneof(
                  fc.record(
                    { reason: stringish, message: stringish, field: stringish },
                    { requiredKeys: [] },
                  ),
                  fc.constant(null),
                  fc.constant(7),
                ),
                { maxLength: 3 },
              ),
              fc.constant("xy"),
            ),
            retryAfterSeconds: numberish,
          },
          { requiredKeys: [] },
        ),
        fc.constant(undefined),
      ),
      code: numberish,
    },
    { requiredKeys: [] },
  );

  return fc.record(
    {
      level: word(["Metadata", "Request", "RequestResponse", "None"]),
      auditID: stringish,
      stage: word(["RequestReceived", "ResponseStarted", "ResponseComplete", "Panic"]),
      requestURI: stringish,
      verb: word(["get", "list", "watch", "create", "update", "patch", "delete", "proxy"]),
      user,
      impersonatedUser: user,
      authenticationMetadata: fc.oneof(
        fc.record({ impersonationConstraint: stringish }, { requiredKeys: [] }),
        fc.constant(undefined),
      ),
      sourceIPs: list,
      userAgent: stringish,
      objectRef: fc.oneof(objectRef, fc.constant(undefined)),
      responseStatus: fc.oneof(status, fc.constant(undefined)),
      requestObject: body,
      responseObject: body,
      requestReceivedTimestamp: time,
      stageTimestamp: time,
      annotations: fc.oneof(stringMap, fc.constant(undefined), fc.constant(null)),
    },
    { requiredKeys: [] },
  ) as unknown as fc.Arbitrary<Event>;
}

const event = events(stringish, time, body);
// Well-typed events with JS-built bodies: strings where strings belong (null now and then where
// Go writes null or ""), canonical times, plain-object bodies.
const plainEvent = events(
  fc.oneof(
    { weight: 9, arbitrary: nasty },
    { weight: 1, arbitrary: fc.constantFrom(null, undefined, "") },
  ),
  fc.oneof({ weight: 9, arbitrary: canonicalTime }, { weight: 1, arbitrary: time }),
  fc.oneof(fc.dictionary(key, jsonish, { maxKeys: 5 }), fc.constant(undefined)),
);

const RUN = { numRuns: 3000, ...(process.env.CI ? { seed: 20261201 } : {}) };

describe("encodeEvent (single pass) writes what the field-by-field writer wrote", () => {
  it("on random events with characters Go escapes, wrong types and every kind of body", () => {
    fc.assert(
      fc.property(event, (e) => {
        expect(outcome(() => encodeEvent(e))).toBe(outcome(() => encodeEventReference(e)));
      }),
      RUN,
    );
  });

  it("on random well-typed events with JS-built bodies", () => {
    fc.assert(
      fc.property(plainEvent, (e) => {
        expect(outcome(() => encodeEvent(e))).toBe(outcome(() => encodeEventReference(e)));
      }),
      RUN,
    );
  });

  it("on random EventLists", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(event, plainEvent), { maxLength: 4 }), (events) => {
        expect(outcome(() => encodeEventList(events))).toBe(
          outcome(() => encodeEventListReference(events)),
        );
      }),
      { ...RUN, numRuns: 500 },
    );
  });

  it("when values repeat and when the memory of repeated values rests (mostly distinct values)", () => {
    // Same values, fresh string objects (remembered), then 2,000 distinct ones (the tallies stop
    // remembering), then the same again: every line byte-identical to the reference.
    const make = (i: number, distinct: boolean): Event => {
      const d = distinct ? `-${i}<&>` : "";
      return {
        level: "Metadata",
        auditID: `id-${i}`,
        stage: "ResponseComplete",
        requestURI: `/api/v1/pods?x=${i}&y=<z>`,
        verb: i % 3 ? "get" : "escalate",
        user: { username: `alice${d}`, groups: [`dev${d}`, "system:authenticated"] },
        sourceIPs: [`10.0.0.${distinct ? i : 1}`],
        userAgent: `kubectl/v1.31${d}`,
        objectRef: { resource: "pods", namespace: `ns${d}`, apiVersion: "v1" },
        requestReceivedTimestamp: "2026-11-22T10:04:05.123456Z",
        stageTimestamp: "2026-11-22T10:04:05.1Z",
        annotations: i % 5 ? { b: `v${d}`, a: "\u2028" } : { "x\ud83d\ude00": "1", "x\ue000": "2" },
      };
    };
    const events = [
      ...Array.from({ length: 300 }, (_, i) => make(i, false)),
      ...Array.from({ length: 2000 }, (_, i) => make(i, true)),
      ...Array.from({ length: 300 }, (_, i) => make(i, false)),
    ];
    const mismatches = events.filter((e) => encodeEvent(e) !== encodeEventReference(e));
    expect(mismatches.length).toBe(0);
  });

  it("a body that can only be written as null is left out, so the line reads back as the same event", () => {
    // Found by fuzz.test.ts: a duplicate key `"requestObject":1e400` decodes to Infinity.
    const text =
      '{"level":"Request","auditID":"a","stage":"ResponseComplete","requestURI":"/","verb":"create","user":{},"requestObject":{"a":1},"requestReceivedTimestamp":null,"stageTimestamp":null,"requestObject":1e400}';
    const out = encodeEvent(decodeEvent(text));
    expect(out).not.toContain("requestObject");
    expect(encodeEvent(decodeEvent(out))).toBe(out);
    for (const body of [Number.NaN, Number.NEGATIVE_INFINITY, () => 1]) {
      const e = { ...decodeEvent(text), requestObject: body, responseObject: { b: 2 } } as Event;
      expect(encodeEvent(e)).toContain(',"responseObject":{"b":2},');
      expect(encodeEvent(e)).not.toContain("requestObject");
      expect(encodeEvent(e)).toBe(encodeEventReference(e));
    }
  });

  it("times: a time Go would not parse is written as given, never moved to another day", () => {
    const e = {
      level: "Metadata",
      auditID: "a",
      stage: "ResponseComplete",
      requestURI: "/",
      verb: "get",
      user: {},
      requestReceivedTimestamp: "2017-02-30T10:00:00Z",
      stageTimestamp: "0017-06-01T12:00:00Z",
    } as Event;
    // (validateEvent refuses the first; the second, year 17, used to come out as 1917)
    expect(encodeEvent(e)).toContain(
      '"requestReceivedTimestamp":"2017-02-30T10:00:00Z","stageTimestamp":"0017-06-01T12:00:00.000000Z"',
    );
  });

  it("times: the last canonical times remembered do not leak into later events", () => {
    // encodeEvent remembers the last two times it found canonical; whatever follows one must
    // still be written as the reference writes it (null for empty, normalised when not canonical).
    const t = "2026-11-22T10:04:05.123456Z";
    const seq: unknown[] = [
      t,
      t,
      "",
      null,
      undefined,
      "2026-11-22T10:04:05.1Z",
      t,
      "1970-01-01T00:00:00.000000Z",
      "",
      "2026-11-22T11:04:05+01:00",
      t,
      "x".repeat(27),
      42,
      t,
    ];
    for (const a of seq)
      for (const b of seq) {
        const e = {
          level: "Metadata",
          auditID: "a",
          stage: "RequestReceived",
          requestURI: "/",
          verb: "get",
          user: {},
          requestReceivedTimestamp: a,
          stageTimestamp: b,
        } as unknown as Event;
        expect(outcome(() => encodeEvent(e))).toBe(outcome(() => encodeEventReference(e)));
      }
  });

  it("audit IDs and URIs: the last one remembered does not leak into later events", () => {
    // encodeEvent keeps the last audit ID's and URI's text (the stages of a request share them).
    const values: unknown[] = [
      "a",
      "a",
      "",
      "<&>",
      "<&>",
      "\ud800x",
      null,
      undefined,
      7,
      "a",
      "\u2028",
      "",
    ];
    for (const id of values)
      for (const uri of values) {
        const e = {
          level: "Metadata",
          auditID: id,
          stage: "ResponseComplete",
          requestURI: uri,
          verb: "get",
          user: {},
          requestReceivedTimestamp: "2026-11-22T10:04:05.123456Z",
          stageTimestamp: null,
        } as unknown as Event;
        expect(outcome(() => encodeEvent(e))).toBe(outcome(() => encodeEventReference(e)));
      }
  });

  it("on every corpus event, decoded and re-built from JSON.parse (JS-built bodies)", () => {
    const dir = new URL("./__fixtures__/events/", import.meta.url);
    const files = [
      ...fs.readdirSync(dir).filter((f) => f.endsWith(".jsonl")),
      ...fs.readdirSync(new URL("falco-trace-files/", dir)).map((f) => `falco-trace-files/${f}`),
    ];
    let n = 0;
    for (const f of files) {
      for (const line of fs.readFileSync(new URL(f, dir), "utf8").split("\n")) {
        if (!line.startsWith("{")) continue;
        for (const e of [decodeEvent(line), JSON.parse(line) as Event]) {
          expect(
            outcome(() => encodeEvent(e)),
            `${f}`,
          ).toBe(outcome(() => encodeEventReference(e)));
          n++;
        }
      }
    }
    expect(n).toBeGreaterThan(100);
  });
});

describe("compactJSON's fast path writes what the walk wrote", () => {
  // Text that is JSON or nearly: whitespace in and out of strings, escapes (also before HTML
  // characters and at the end), unterminated strings, stray backslashes.
  const piece = fc.oneof(
    fc.constantFrom('"', "\\", " ", "\n", "\t", "\r", "{", "}", "[", "]", ":", ",", "1", "a"),
    fc.constantFrom("<", ">", "&", "\u2028", "\u2029", '\\"', "\\\\", "\\<", "\\u003c", "é"),
    fc.constantFrom('{"a":"x y"}', '{"a": 1}', '["<b>", "c&d"]', '"\\\\"', "null"),
  );
  const text = fc.array(piece, { maxLength: 24 }).map((p) => p.join(""));
  // Strings (with spaces, HTML characters, escapes, escapes before HTML characters) between
  // structural characters, no whitespace outside them: what the fast path takes.
  const inString = fc.constantFrom(
    "a",
    " ",
    "<",
    "&",
    "\u2028",
    '\\"',
    "\\\\",
    "\\<",
    "\\&",
    "\\n",
  );
  const token = fc.oneof(
    fc.array(inString, { maxLength: 6 }).map((p) => `"${p.join("")}"`),
    fc.constantFrom("{", "}", "[", "]", ":", ",", "1", "\\", " "),
  );
  const tokens = fc.array(token, { maxLength: 12 }).map((p) => p.join(""));
  const json = jsonish.map((v) => JSON.stringify(v, null, 1));
  const compactText = jsonish.map((v) => JSON.stringify(v));

  it("on near-JSON text, pretty-printed JSON and compact JSON", () => {
    fc.assert(
      fc.property(fc.oneof(text, tokens, json, compactText), (t) => {
        expect(compactJSON(t)).toBe(compactJSONReference(t));
      }),
      { ...RUN, numRuns: 5000 },
    );
  });
});
