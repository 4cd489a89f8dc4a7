import fs from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeEvent, decodeEventList } from "./decode";
import { encodeEvent } from "./encode";
import { upgradeEvent, upgradePolicy } from "./upgrade";

const read = (name: string) =>
  fs.readFileSync(new URL(`./__fixtures__/events/${name}`, import.meta.url), "utf8");

describe("upgradeEvent (§1.6)", () => {
  it("splits a v1alpha1 objectRef.apiVersion at the last slash and takes the timestamps", () => {
    const [rr, rc] = read("k8s-docs/v1alpha1.k8s-1.7-docs.jsonl")
      .split("\n")
      .filter(Boolean)
      .map((l) => decodeEvent(l));
    const up = upgradeEvent(rr);
    expect(up.apiVersion).toBe("audit.k8s.io/v1");
    expect(up.objectRef).toEqual({ resource: "pods", namespace: "default", apiVersion: "v1" });
    expect(up.requestReceivedTimestamp).toBe("2017-07-12T11:02:43Z");
    expect(up.stageTimestamp).toBeUndefined(); // creationTimestamp was null
    expect(up).not.toHaveProperty("timestamp");
    expect(up).not.toHaveProperty("metadata");
    expect(upgradeEvent(rc).responseStatus).toEqual({ metadata: {}, code: 200 });
  });

  it.each([
    ["/v1", undefined, "v1"],
    ["v1", undefined, "v1"],
    ["rbac.authorization.k8s.io/v1beta1", "rbac.authorization.k8s.io", "v1beta1"],
  ])("v1alpha1 objectRef apiVersion %s → group %s version %s", (gv, group, version) => {
    const up = upgradeEvent({
      apiVersion: "audit.k8s.io/v1alpha1",
      objectRef: { resource: "x", apiVersion: gv },
    });
    expect(up.objectRef?.apiGroup).toBe(group);
    expect(up.objectRef?.apiVersion).toBe(version);
  });

  it("keeps a v1beta1 objectRef and takes the list's version for EventList items", () => {
    const list = decodeEventList(read("k8s-docs/v1beta1.eventlist-webhook.k8s-1.8-docs.json"));
    const items = list.items.map((i) => upgradeEvent(i, { apiVersion: list.apiVersion }));
    for (const e of items) {
      expect(e.apiVersion).toBe("audit.k8s.io/v1");
      expect(e.requestReceivedTimestamp).toMatch(/^2017-/);
    }
  });

  it("fills v1 leftovers (audit2rbac) and then encodes with six-digit times", () => {
    const [line] = read("audit2rbac-demo.v1.jsonl").split("\n");
    const out = encodeEvent(upgradeEvent(decodeEvent(line!)));
    expect(out).toContain(
      '"requestReceivedTimestamp":"2017-09-11T19:55:05.000000Z","stageTimestamp":"2017-09-11T19:55:05.000000Z"',
    );
    expect(out).not.toContain('"timestamp"');
    expect(out).not.toContain('"metadata":{"creationTimestamp"');
  });

  it("does not change its input and passes non-objects through", () => {
    const input = {
      apiVersion: "audit.k8s.io/v1beta1",
      timestamp: "2017-01-01T00:00:00Z",
      metadata: {},
    };
    const copy = structuredClone(input);
    upgradeEvent(input);
    expect(input).toEqual(copy);
    expect(upgradeEvent(42)).toBe(42);
    expect(upgradeEvent({ kind: 0 }).kind).toBe(0);
  });
});

describe("upgradeEvent's copy", () => {
  // The copy used to be a rest-destructuring; it is now key by key (faster, and faster to read
  // afterwards). This is the old code, as the reference the new one must equal.
  function spreadCopy(obj: Record<string, unknown>): Record<string, unknown> {
    const { metadata: _m, timestamp: _t, ...rest } = obj;
    return { ...rest, kind: obj.kind ?? "Event", apiVersion: "audit.k8s.io/v1" };
  }
  /** Own keys (strings in order, then symbols) with their values and enumerability. */
  const shape = (o: object) =>
    Reflect.ownKeys(o).map((k) => [k, Object.getOwnPropertyDescriptor(o, k)]);

  it("gives the same keys in the same order and the same values as the spread did", () => {
    const key = fc.oneof(
      fc.constantFrom(
        "kind",
        "apiVersion",
        "metadata",
        "timestamp",
        "__proto__",
        "level",
        "0",
        "7",
      ),
      fc.string({ maxLength: 5 }),
    );
    fc.assert(
      fc.property(
        fc.dictionary(key, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 8 }),
        fc.boolean(),
        (dict, withSymbol) => {
          // JSON.parse, as the decoder does, makes `__proto__` an own key.
          const obj = JSON.parse(JSON.stringify(dict)) as Record<string, unknown>;
          if (withSymbol) (obj as Record<symbol, unknown>)[Symbol.for("s")] = 1;
          Object.defineProperty(obj, "hidden", { value: 1, enumerable: false });
          const up = upgradeEvent(obj) as unknown as Record<string, unknown>;
          const ref = spreadCopy(obj);
          // The timestamps the upgrade fills are appended after the copy; compare the copy part.
          for (const k of ["requestReceivedTimestamp", "stageTimestamp"])
            if (!(k in obj)) delete up[k];
          if (typeof ref.objectRef === "object" && ref.objectRef !== null)
            up.objectRef = ref.objectRef;
          expect(shape(up)).toEqual(shape(ref));
          expect(Object.getPrototypeOf(up)).toBe(Object.prototype);
        },
      ),
      { numRuns: 2_000 },
    );
  });
});

describe("upgradePolicy", () => {
  it.each(["audit.k8s.io/v1alpha1", "audit.k8s.io/v1beta1"])("turns %s into v1", (v) => {
    expect(
      upgradePolicy({ apiVersion: v, kind: "Policy", rules: [{ level: "Metadata" }] }),
    ).toEqual({
      apiVersion: "audit.k8s.io/v1",
      kind: "Policy",
      rules: [{ level: "Metadata" }],
    });
  });
  it("leaves v1 and unknown versions alone", () => {
    const p = { apiVersion: "audit.k8s.io/v2", rules: [] };
    expect(upgradePolicy(p)).toBe(p);
  });
});
