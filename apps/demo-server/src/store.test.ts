import { describe, expect, it } from "vitest";
import { findResource, humanDuration, type ResourceDef } from "./resources";
import { parseSelector, Store, selects } from "./store";

const cm = findResource("", "v1", "configmaps") as ResourceDef;
const ns = findResource("", "v1", "namespaces") as ResourceDef;

describe("Store", () => {
  it("starts with kube's namespaces", () => {
    const s = new Store();
    expect(s.list(ns, undefined).map((o) => o.metadata.name)).toEqual([
      "default",
      "kube-node-lease",
      "kube-public",
      "kube-system",
    ]);
  });
  it("create fills uid, resourceVersion, creationTimestamp, managedFields; generateName gets a suffix", () => {
    const s = new Store();
    const o = s.create(
      cm,
      "default",
      { metadata: { generateName: "cfg-" }, data: { a: "b" } },
      { manager: "kubectl-create" },
    );
    expect(o.metadata.name).toMatch(/^cfg-[a-z0-9]{5}$/);
    expect(o.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(o.metadata.resourceVersion).toBe(s.resourceVersion);
    expect(o.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Object.keys(o)).toEqual(["kind", "apiVersion", "metadata", "data"]);
    expect((o.metadata.managedFields as { manager: string }[])[0]?.manager).toBe("kubectl-create");
  });
  it("update with a stale resourceVersion is a Conflict; unchanged updates keep the version", () => {
    const s = new Store();
    const o = s.create(cm, "default", { metadata: { name: "x" } }, { manager: "m" });
    const same = s.update(cm, "default", "x", { metadata: { name: "x" } }, { manager: "m" });
    expect(same.metadata.resourceVersion).toBe(o.metadata.resourceVersion);
    s.update(cm, "default", "x", { metadata: { name: "x" }, data: { a: "1" } }, { manager: "m" });
    expect(() =>
      s.update(
        cm,
        "default",
        "x",
        { metadata: { name: "x", resourceVersion: o.metadata.resourceVersion }, data: { a: "2" } },
        { manager: "m" },
      ),
    ).toThrow('Operation cannot be fulfilled on configmaps "x"');
  });
  it("creating in a missing namespace is NotFound for the namespace", () => {
    expect(() =>
      new Store().create(cm, "nope", { metadata: { name: "x" } }, { manager: "m" }),
    ).toThrow('namespaces "nope" not found');
  });
  it("watch replays history after a resourceVersion and streams later changes", () => {
    const s = new Store();
    const a = s.create(cm, "default", { metadata: { name: "a" } }, { manager: "m" });
    s.create(cm, "default", { metadata: { name: "b" } }, { manager: "m" });
    const seen: string[] = [];
    const stop = s.watch(cm, "default", a.metadata.resourceVersion as string, (t, o) =>
      seen.push(`${t} ${o.metadata.name}`),
    );
    s.delete(cm, "default", "a");
    stop();
    s.create(cm, "default", { metadata: { name: "c" } }, { manager: "m" });
    expect(seen).toEqual(["ADDED b", "DELETED a"]);
  });
  it("deleting a namespace deletes what is in it", () => {
    const s = new Store();
    s.create(ns, undefined, { metadata: { name: "tmp" } }, { manager: "m" });
    s.create(cm, "tmp", { metadata: { name: "a" } }, { manager: "m" });
    s.delete(ns, undefined, "tmp");
    expect(s.list(cm, "tmp")).toEqual([]);
  });
});

describe("selectors", () => {
  const o = { metadata: { name: "web", namespace: "default", labels: { app: "web", tier: "fe" } } };
  it.each([
    ["app=web", true],
    ["app==web", true],
    ["app!=web", false],
    ["app in (web,db)", true],
    ["app notin (web)", false],
    ["tier", true],
    ["!tier", false],
    ["app=web,tier=be", false],
  ])("labels %s → %s", (sel, want) => {
    expect(selects({ labels: parseSelector(sel, "labelSelector"), fields: [] }, o)).toBe(want);
  });
  it("field selectors on metadata.name", () => {
    expect(
      selects({ labels: [], fields: parseSelector("metadata.name=web", "fieldSelector") }, o),
    ).toBe(true);
    expect(
      selects({ labels: [], fields: parseSelector("metadata.name!=web", "fieldSelector") }, o),
    ).toBe(false);
  });
  it("bad syntax is a 400", () => {
    expect(() => parseSelector("a b c", "labelSelector")).toThrow("unable to parse requirement");
  });
});

describe("humanDuration (apimachinery duration.HumanDuration)", () => {
  it.each([
    [0, "0s"],
    [59_000, "59s"],
    [119_000, "119s"],
    [120_000, "2m"],
    [150_000, "2m30s"],
    [600_000, "10m"],
    [3 * 3600_000, "3h"],
    [3 * 3600_000 + 1_800_000, "3h30m"],
    [9 * 3600_000, "9h"],
    [50 * 3600_000, "2d2h"],
    [10 * 86400_000, "10d"],
    [800 * 86400_000, "2y70d"],
  ])("%d ms → %s", (ms, want) => expect(humanDuration(ms)).toBe(want));
});

describe("deployment status follows spec changes (no controller, so the store plays one)", () => {
  it("generation and observedGeneration move together; replicas are reported ready", () => {
    const deploy = findResource("apps", "v1", "deployments") as ResourceDef;
    const s = new Store();
    const spec = {
      selector: { matchLabels: { a: "b" } },
      template: { spec: { containers: [{ name: "c", image: "i" }] } },
    };
    s.create(
      deploy,
      "default",
      { metadata: { name: "d" }, spec: { ...spec, replicas: 1 } },
      { manager: "m" },
    );
    const cur = s.get(deploy, "default", "d");
    const next = s.update(
      deploy,
      "default",
      "d",
      { ...cur, spec: { ...(cur.spec as object), replicas: 4 } },
      { manager: "m" },
    );
    expect(next.metadata.generation).toBe(2);
    expect(next.status).toMatchObject({ observedGeneration: 2, replicas: 4, readyReplicas: 4 });
  });
});
