import { describe, expect, it } from "vitest";
import { findResource, type ResourceDef } from "./resources";
import { capUpdateManagers, MAX_UPDATE_MANAGERS, Store } from "./store";

const cm = findResource("", "v1", "configmaps") as ResourceDef;

/** Issue 20 case 1: the store's memory is bounded. */
describe("Store limits", () => {
  it("the watch history is bounded by bytes as well as count; past it a watch is 410 too old", () => {
    const s = new Store({ historyEvents: 5000, historyBytes: 1024 * 1024 });
    const big = "x".repeat(100 * 1024);
    const first = s.create(
      cm,
      "default",
      { metadata: { name: "big" }, data: { v: big } },
      { manager: "m" },
    );
    for (let i = 0; i < 50; i++)
      s.update(
        cm,
        "default",
        "big",
        { metadata: { name: "big" }, data: { v: `${i}${big}` } },
        { manager: "m" },
      );
    // 51 events of 100 KiB would be 5 MiB: about ten are kept
    expect(s.historySize.bytes).toBeLessThanOrEqual(1024 * 1024);
    expect(s.historySize.events).toBeGreaterThanOrEqual(9);
    expect(s.historySize.events).toBeLessThanOrEqual(10);
    const from = Number(first.metadata.resourceVersion);
    expect(() => s.watch(cm, "default", String(from), () => {})).toThrow(
      expect.objectContaining({
        code: 410,
        status: expect.objectContaining({
          reason: "Expired",
          message: expect.stringMatching(
            new RegExp(`^too old resource version: ${from} \\(\\d+\\)$`),
          ),
        }),
      }),
    );
    // a recent resourceVersion still replays
    const seen: string[] = [];
    s.watch(cm, "default", String(Number(s.resourceVersion) - 3), (type) => seen.push(type));
    expect(seen).toEqual(["MODIFIED", "MODIFIED", "MODIFIED"]);
  });

  it("by count too: 5000 events by default", () => {
    const s = new Store();
    const rv0 = Number(
      s.create(cm, "default", { metadata: { name: "c" } }, { manager: "m" }).metadata
        .resourceVersion,
    );
    for (let i = 0; i < 5000; i++)
      s.update(
        cm,
        "default",
        "c",
        { metadata: { name: "c" }, data: { i: String(i) } },
        { manager: "m" },
      );
    expect(s.historySize.events).toBe(5000);
    // 5005 events in all (4 namespaces, the create, 5000 updates): the 5 oldest are gone, so
    // resuming after rv0 - 1 would miss the create
    expect(() => s.watch(cm, "default", String(rv0 - 1), () => {})).toThrow(
      /too old resource version/,
    );
    expect(() => s.watch(cm, "default", String(rv0), () => {})).not.toThrow();
  });

  it("caps managedFields as kube's capManagersManager: 500 field managers stay 10, one of them ancient-changes", () => {
    const s = new Store();
    s.create(cm, "default", { metadata: { name: "m" }, data: {} }, { manager: "kubectl-create" });
    let last = s.get(cm, "default", "m");
    for (let i = 0; i < 500; i++) {
      last = s.update(
        cm,
        "default",
        "m",
        { ...last, data: { ...(last.data as object), [`k${i % 20}`]: String(i) } },
        { manager: `mgr-${i}` },
      );
    }
    const managed = last.metadata.managedFields as { manager: string; fieldsV1: unknown }[];
    expect(managed.length).toBe(MAX_UPDATE_MANAGERS);
    expect(managed.filter((e) => e.manager === "ancient-changes")).toHaveLength(1);
    // within one second kube orders entries by name, so which managers stay is by name, not
    // by arrival; what the merged ones set is kept in the bucket
    const bucket = managed.find((e) => e.manager === "ancient-changes") as {
      fieldsV1: { "f:data": object };
    };
    expect(Object.keys(bucket.fieldsV1["f:data"]).length).toBe(20);
    expect(JSON.stringify(last).length).toBeLessThan(20_000);
  });

  it("capUpdateManagers keeps Apply entries and merges per API version, oldest first", () => {
    const e = (manager: string, t: number, apiVersion = "v1", operation = "Update") => ({
      manager,
      operation,
      apiVersion,
      time: new Date(Date.UTC(2026, 0, 1, 0, 0, t)).toISOString().replace(/\.\d+Z$/, "Z"),
      fieldsType: "FieldsV1",
      fieldsV1: { [`f:${manager}`]: {} },
    });
    const entries = [
      e("apply", 0, "v1", "Apply"),
      ...Array.from({ length: 12 }, (_, i) => e(`u${String(i).padStart(2, "0")}`, i + 1)),
    ];
    const out = capUpdateManagers(entries);
    // 12 updaters: u00 becomes the bucket, u01 and u02 merge into it
    expect(out.map((x) => x.manager)).toEqual([
      "apply",
      "ancient-changes",
      ...Array.from({ length: 9 }, (_, i) => `u${String(i + 3).padStart(2, "0")}`),
    ]);
    expect(out[1]?.fieldsV1).toEqual({ "f:u00": {}, "f:u01": {}, "f:u02": {} });
    expect(out[1]?.time).toBe(entries[3]?.time);
    // the input entries are not changed
    expect(entries[1]?.manager).toBe("u00");
  });
});
