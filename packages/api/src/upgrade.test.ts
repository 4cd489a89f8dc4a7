import fs from "node:fs";
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
