import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isEventShape } from "./event-shape";
import { upgradeEvent } from "./upgrade";
import { schemaAccepts, schemas, validateEvent } from "./validate";

// isEventShape is validateEvent's fast path: it must say exactly what ajv compiled from
// schemas/Event.json says. These properties compare the two on events built from the schema
// (valid by construction), on those events with one thing changed at a random place (a value of
// another type, a near-miss string, an unknown key, a missing required key, undefined), on
// anything at all, and on the corpus (__fixtures__/SOURCES.md) as is and mutated.

const RUN = { numRuns: 3_000, ...(process.env.CI ? { seed: 20261201 } : {}) };

const dir = fileURLToPath(new URL("./__fixtures__/events/", import.meta.url));

/** Every object of the corpus that is an event or an EventList item, upgraded to v1. */
function corpus(): unknown[] {
  const out: unknown[] = [];
  for (const f of fs.readdirSync(dir, { recursive: true, encoding: "utf8" })) {
    if (!/\.jsonl?$/.test(f)) continue;
    const text = fs.readFileSync(path.join(dir, f), "utf8").trim();
    let docs: unknown[];
    try {
      docs = [JSON.parse(text)];
    } catch {
      docs = text.split("\n").map((l) => JSON.parse(l) as unknown);
    }
    for (const d of docs) {
      const list = d as { kind?: unknown; items?: unknown[]; apiVersion?: string };
      if (list.kind === "EventList" && Array.isArray(list.items))
        for (const item of list.items)
          out.push(upgradeEvent(item, { apiVersion: list.apiVersion }));
      else out.push(upgradeEvent(d));
    }
  }
  return out;
}

const str = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.constantFrom("", "system:masters", "<script>", "\u2028", "\ud800"),
);
const strings = fc.array(str, { maxLength: 3 });
/** Times the MicroTime pattern accepts: canonical, other fractions and zones. */
const validTime = fc
  .tuple(
    fc.integer({ min: 0, max: 9999 }),
    fc.constantFrom("", ".1", ".123456", ".123456789"),
    fc.constantFrom("Z", "+02:00", "-11:30"),
  )
  .map(([y, frac, zone]) => `${String(y).padStart(4, "0")}-01-02T03:04:05${frac}${zone}`);
/** Those and near misses. */
const microTime = fc.oneof(
  validTime,
  fc.constantFrom(
    "2026-11-22T10:04:05.123456Z",
    "2026-11-22t10:04:05Z",
    "2026-11-22T10:04:05z",
    "2026-11-22T10:04:05.Z",
    "2026-11-22T10:04:05.123456Z\n",
    "2026-11-22 10:04:05Z",
    "26-11-22T10:04:05Z",
    "2026-11-22T10:04:05+0200",
    "２０２６-11-22T10:04:05Z",
    "",
  ),
);
const userInfo = fc.record(
  {
    username: str,
    uid: str,
    groups: strings,
    extra: fc.dictionary(str, strings, { maxKeys: 2 }),
  },
  { requiredKeys: [] },
);
const objectRef = fc.record(
  {
    resource: str,
    namespace: str,
    name: str,
    uid: str,
    apiGroup: str,
    apiVersion: str,
    resourceVersion: str,
    subresource: str,
  },
  { requiredKeys: [] },
);
const num = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -0),
);
const status = fc.record(
  {
    kind: str,
    apiVersion: str,
    metadata: fc.record(
      { selfLink: str, resourceVersion: str, continue: str, remainingItemCount: num },
      { requiredKeys: [] },
    ),
    status: str,
    message: str,
    reason: str,
    details: fc.record(
      {
        name: str,
        group: str,
        kind: str,
        uid: str,
        causes: fc.array(
          fc.record({ reason: str, message: str, field: str }, { requiredKeys: [] }),
          { maxLength: 2 },
        ),
        retryAfterSeconds: num,
      },
      { requiredKeys: [] },
    ),
    code: num,
  },
  { requiredKeys: [] },
);
const body = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(null, [], {}, "text", 0, false),
);
/** An event the schema accepts, built from its definitions. */
const validEvent = fc.record(
  {
    kind: fc.constant("Event"),
    apiVersion: fc.constantFrom("audit.k8s.io/v1", ""),
    level: fc.constantFrom("None", "Metadata", "Request", "RequestResponse"),
    auditID: str,
    stage: fc.constantFrom("RequestReceived", "ResponseStarted", "ResponseComplete", "Panic"),
    requestURI: str,
    verb: str,
    user: userInfo,
    impersonatedUser: userInfo,
    authenticationMetadata: fc.record({ impersonationConstraint: str }, { requiredKeys: [] }),
    sourceIPs: strings,
    userAgent: str,
    objectRef,
    responseStatus: status,
    requestObject: body,
    responseObject: body,
    requestReceivedTimestamp: fc.oneof(validTime, fc.constant(null)),
    stageTimestamp: fc.oneof(validTime, fc.constant(null)),
    annotations: fc.dictionary(str, str, { maxKeys: 3 }),
  },
  { requiredKeys: ["level", "auditID", "stage", "requestURI", "verb", "user"] },
);

/** Every [parent, key] of a value's objects and arrays (bodies included), the root as [holder, "v"]. */
function places(root: unknown): [Record<string, unknown>, string][] {
  const holder = { v: root } as Record<string, unknown>;
  const out: [Record<string, unknown>, string][] = [[holder, "v"]];
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const x = stack.pop();
    if (typeof x !== "object" || x === null) continue;
    for (const k of Object.keys(x)) {
      out.push([x as Record<string, unknown>, k]);
      stack.push((x as Record<string, unknown>)[k]);
    }
  }
  return out;
}

const SCHEMA_KEYS = [
  "kind",
  "level",
  "auditID",
  "stage",
  "user",
  "username",
  "groups",
  "extra",
  "objectRef",
  "responseStatus",
  "metadata",
  "details",
  "causes",
  "code",
  "annotations",
  "timestamp",
  "__proto__",
  "constructor",
  "toString",
];
/** What a mutation puts in: values of every type, near-miss strings, undefined. */
const replacement = fc.oneof(
  fc.anything({ maxDepth: 2, withBigInt: true, withDate: true, withNullPrototype: true }),
  microTime,
  fc.constantFrom(
    undefined,
    null,
    "Event",
    "event",
    "Metadata",
    "metadata",
    "Panic",
    Number.NaN,
    [],
    {},
    [1],
    ["a", 1],
    Object.create(null) as object,
    new String("Event"),
  ),
);
type Mutation = ["set", number, unknown] | ["add", number, string, unknown] | ["delete", number];
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fc.constant("set" as const), fc.nat(), replacement),
  fc.tuple(
    fc.constant("add" as const),
    fc.nat(),
    fc.oneof(fc.constantFrom(...SCHEMA_KEYS), fc.string({ maxLength: 4 })),
    replacement,
  ),
  fc.tuple(fc.constant("delete" as const), fc.nat()),
);

/** A deep copy of `v` with one mutation applied at a place picked by index. */
function mutate(v: unknown, m: Mutation): unknown {
  const copy = structuredClone({ v }).v;
  const all = places(copy);
  const holder = all[0]![0];
  const [parent, key] = all[m[1] % all.length]!;
  if (m[0] === "set") parent[key] = m[2];
  else if (m[0] === "delete") delete parent[key];
  else {
    const target = parent[key];
    if (typeof target !== "object" || target === null) parent[key] = m[3];
    else {
      try {
        // defineProperty, so that `__proto__` becomes an own key as JSON.parse makes it.
        Object.defineProperty(target, m[2], {
          value: m[3],
          enumerable: true,
          writable: true,
          configurable: true,
        });
      } catch {
        // an array's `length`: not a mutation JSON can make
      }
    }
  }
  return holder.v;
}

function show(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? `${x}n` : x)) ?? String(v);
  } catch {
    return String(v);
  }
}

function same(v: unknown): void {
  const ajv = schemaAccepts("Event", v);
  if (isEventShape(v) !== ajv) expect.fail(`ajv says ${ajv} for ${show(v)}`);
}

describe("isEventShape says what ajv says (validateEvent's fast path)", () => {
  it("accepts every event built from the schema's definitions, as ajv does", () => {
    fc.assert(
      fc.property(validEvent, (e) => {
        expect(schemaAccepts("Event", e)).toBe(true); // the generator is right
        expect(isEventShape(e)).toBe(true);
      }),
      RUN,
    );
  });

  it("agrees with ajv on those events with one thing changed anywhere", () => {
    let rejected = 0;
    fc.assert(
      fc.property(validEvent, mutation, (e, m) => {
        const v = mutate(e, m);
        same(v);
        if (!schemaAccepts("Event", v)) rejected++;
      }),
      RUN,
    );
    // The mutations must reach invalid events often, or this would test little.
    expect(rejected).toBeGreaterThan(RUN.numRuns / 4);
  });

  it("agrees with ajv on anything at all", () => {
    fc.assert(
      fc.property(
        fc.anything({ maxDepth: 3, withBigInt: true, withDate: true, withNullPrototype: true }),
        same,
      ),
      RUN,
    );
  });

  it("agrees with ajv on the corpus, as is and mutated", () => {
    const events = corpus();
    expect(events.length).toBeGreaterThan(100);
    let accepted = 0;
    for (const e of events) {
      same(e);
      if (isEventShape(e)) accepted++;
    }
    expect(accepted).toBe(events.length - 1); // falco-trace-files/fal_01_003.json is {"kind": 0}
    fc.assert(
      fc.property(fc.constantFrom(...events), mutation, (e, m) => same(mutate(e, m))),
      RUN,
    );
  });

  it("covers every property the schema defines, so a schema change cannot go unnoticed", () => {
    // The fast path lists the Event's properties by hand: each must be accepted with a valid
    // value and nothing else may be. Checked against the shipped schema.
    const defs = (schemas.Event as { definitions: Record<string, { properties?: object }> })
      .definitions;
    const base = {
      level: "Metadata",
      auditID: "a",
      stage: "Panic",
      requestURI: "/",
      verb: "get",
      user: {},
    };
    for (const [name, def] of Object.entries(defs)) {
      for (const key of Object.keys(def.properties ?? {})) {
        // Every object of the Event is present (empty), and this key gets a value no schema
        // type accepts: both must refuse it, wherever the object is.
        const cause: Record<string, unknown> = {};
        const details: Record<string, unknown> = { causes: [cause] };
        const listMeta: Record<string, unknown> = {};
        const status: Record<string, unknown> = { metadata: listMeta, details };
        const user: Record<string, unknown> = {};
        const authn: Record<string, unknown> = {};
        const ref: Record<string, unknown> = {};
        const e: Record<string, unknown> = {
          ...base,
          user,
          authenticationMetadata: authn,
          objectRef: ref,
          responseStatus: status,
        };
        const where: Record<string, Record<string, unknown>> = {
          Event: e,
          UserInfo: user,
          AuthenticationMetadata: authn,
          ObjectReference: ref,
          Status: status,
          ListMeta: listMeta,
          StatusDetails: details,
          StatusCause: cause,
        };
        const obj = where[name];
        expect(obj, `definition ${name} is not known to event-shape.ts`).toBeDefined();
        obj![key] = Symbol("not JSON"); // a value no schema type accepts
        same(e);
        expect(isEventShape(e)).toBe(false);
      }
    }
    expect(Object.keys(defs).sort()).toEqual(
      [
        "AuthenticationMetadata",
        "Event",
        "Level",
        "ListMeta",
        "MicroTime",
        "ObjectReference",
        "RawObject",
        "Stage",
        "Status",
        "StatusCause",
        "StatusDetails",
        "UserInfo",
      ].sort(),
    );
  });

  it("validateEvent of valid events never loads ajv; an invalid one does, for its message", () => {
    // In a child process, so no earlier test has loaded ajv already.
    const script = `
      import { createRequire } from "node:module";
      import { validateEvent } from "./src/validate.ts";
      const require = createRequire(import.meta.url);
      const loaded = () => Object.keys(require.cache).some((k) => /[\\\\/]ajv[\\\\/]/.test(k));
      const e = { level: "Metadata", auditID: "a", stage: "Panic", requestURI: "/", verb: "get", user: {} };
      const ok = validateEvent(e).ok;
      const before = loaded();
      const bad = validateEvent({ ...e, level: "metadata" });
      console.log(JSON.stringify({ ok, before, bad, after: loaded() }));
    `;
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", script],
      {
        cwd: fileURLToPath(new URL("..", import.meta.url)),
        encoding: "utf8",
        timeout: 30_000,
      },
    );
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout) as {
      ok: boolean;
      before: boolean;
      bad: { ok: boolean; issues: unknown[] };
      after: boolean;
    };
    expect(out).toMatchObject({ ok: true, before: false, after: true });
    expect(out.bad.ok).toBe(false);
    expect(out.bad.issues).toEqual([
      {
        path: "level",
        message:
          'Unsupported value: "metadata": supported values: "None", "Metadata", "Request", "RequestResponse"',
      },
    ]);
  });

  it("validateEvent still reports a body nested too deep, on the fast path's events too", () => {
    let deep: unknown = "x";
    for (let i = 0; i < 1100; i++) deep = [deep];
    const e = {
      level: "RequestResponse",
      auditID: "a",
      stage: "Panic",
      requestURI: "/",
      verb: "get",
      user: {},
      requestObject: deep,
    };
    expect(isEventShape(e)).toBe(true);
    const r = validateEvent(e);
    expect(r.ok).toBe(false);
  });
});
