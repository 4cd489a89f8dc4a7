import { readFileSync } from "node:fs";
import { type Event, upgradeEvent } from "@kaudit/api";
import { describe, expect, it } from "vitest";
import { BoundedLabel, codeClass, createWatchMetrics, type WatchMetrics } from "./metrics";

const fixture = (name: string): Event[] =>
  readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url), "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => upgradeEvent(JSON.parse(l)));

async function values(m: WatchMetrics, name: string) {
  const metric = m.registry.getSingleMetric(name);
  if (!metric) throw new Error(`${name} is not registered`);
  const got = await metric.get();
  return got.values.map((v) => ({ ...v.labels, value: v.value }));
}

function feed(m: WatchMetrics) {
  for (const e of fixture("audit2rbac-demo.v1.jsonl")) m.eventRead("file:demo", e);
  for (const e of fixture("rbac-tool-auditgen-01.v1.jsonl")) m.eventRead("webhook", e);
  for (const e of fixture("v1alpha1.k8s-1.7-docs.jsonl")) m.eventRead("webhook", e);
}

describe("WatchMetrics", () => {
  it("counts every event read by input and stage", async () => {
    const m = createWatchMetrics({ processMetrics: false });
    feed(m);
    expect(await values(m, "kaudit_events_read_total")).toEqual([
      { input: "file:demo", stage: "ResponseComplete", value: 37 },
      { input: "webhook", stage: "ResponseComplete", value: 4 },
      { input: "webhook", stage: "RequestReceived", value: 1 },
    ]);
  });

  it("counts requests once (final stage) by input, verb, resource and code class", async () => {
    const m = createWatchMetrics({ processMetrics: false });
    feed(m);
    const got = await values(m, "kaudit_requests_total");
    // expected counts worked out from the corpus files by hand (see __fixtures__/SOURCES.md)
    expect(got).toEqual(
      expect.arrayContaining([
        { input: "file:demo", verb: "get", resource: "", code_class: "2xx", value: 23 },
        { input: "file:demo", verb: "list", resource: "configmaps", code_class: "4xx", value: 1 },
        { input: "file:demo", verb: "list", resource: "nodes", code_class: "4xx", value: 2 },
        { input: "file:demo", verb: "list", resource: "pods", code_class: "2xx", value: 3 },
        { input: "file:demo", verb: "list", resource: "pods", code_class: "4xx", value: 7 },
        { input: "file:demo", verb: "list", resource: "secrets", code_class: "4xx", value: 1 },
        { input: "webhook", verb: "create", resource: "configmaps", code_class: "2xx", value: 1 },
        { input: "webhook", verb: "create", resource: "pods", code_class: "2xx", value: 1 },
        { input: "webhook", verb: "create", resource: "secrets", code_class: "2xx", value: 1 },
        { input: "webhook", verb: "list", resource: "pods", code_class: "2xx", value: 1 },
      ]),
    );
    expect(got).toHaveLength(10);
    const total = got.reduce((n, v) => n + v.value, 0);
    expect(total).toBe(37 + 3 + 1); // the RequestReceived stage is not a second request
  });

  it("observes latency of final stages in a histogram by verb and resource", async () => {
    const m = createWatchMetrics({ processMetrics: false });
    const base = fixture("rbac-tool-auditgen-01.v1.jsonl")[0]!;
    const at = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms).toISOString();
    for (const [ms, stage, code] of [
      [3, "ResponseComplete", 201],
      [300, "ResponseComplete", 201],
      [2500, "ResponseComplete", 201],
      [9000, "ResponseStarted", 101], // not final (an exec's ResponseComplete comes later)
    ] as const) {
      m.eventRead("x", {
        ...base,
        stage,
        responseStatus: { metadata: {}, code },
        requestReceivedTimestamp: at(0),
        stageTimestamp: at(ms),
      } as Event);
    }
    const got = await values(m, "kaudit_request_duration_seconds");
    const series = (le: number | string) =>
      got.find((v) => (v as Record<string, unknown>).le === le)?.value;
    expect(series(0.005)).toBe(1);
    expect(series(0.4)).toBe(2);
    expect(series(2)).toBe(2);
    expect(series(3)).toBe(3);
    expect(series("+Inf")).toBe(3);
    const raw = await m.registry.getSingleMetric("kaudit_request_duration_seconds")!.get();
    const sum = raw.values.find(
      (v) => (v as { metricName?: string }).metricName === "kaudit_request_duration_seconds_sum",
    );
    expect(sum?.value).toBeCloseTo(2.803, 6);
    expect(sum?.labels).toEqual({ verb: "create", resource: "pods" });
  });

  it("keeps resource and rule labels bounded", async () => {
    const m = createWatchMetrics({ processMetrics: false, maxResources: 2, maxRules: 1 });
    const base = fixture("rbac-tool-auditgen-01.v1.jsonl")[0]!;
    for (let i = 0; i < 50; i++) {
      m.eventRead("x", { ...base, objectRef: { resource: `r${i}` } } as Event);
      m.alert({
        time: "2026-01-01T00:00:00Z",
        rule: `rule ${i}`,
        priority: i % 2 ? "Warning" : "BOGUS",
        source: "k8s_audit",
        output: "",
        output_fields: {},
        tags: [],
      });
    }
    const resources = new Set(
      (await values(m, "kaudit_requests_total")).map((v) => (v as { resource?: string }).resource),
    );
    expect([...resources].sort()).toEqual(["other", "r0", "r1"]);
    expect(await values(m, "kaudit_alerts_total")).toEqual([
      { rule: "rule 0", priority: "other", value: 1 },
      { rule: "other", priority: "warning", value: 25 },
      { rule: "other", priority: "other", value: 24 },
    ]);
    expect(m.overflow()).toEqual({ resources: 48, rules: 49 });
  });

  it("a failed authentication's lone ResponseStarted (401) counts as its request", async () => {
    const m = createWatchMetrics({ processMetrics: false });
    const base = fixture("rbac-tool-auditgen-01.v1.jsonl")[0]!;
    m.eventRead("x", { ...base, stage: "ResponseStarted", responseStatus: { code: 401 } } as Event);
    m.eventRead("x", { ...base, stage: "ResponseStarted", responseStatus: { code: 101 } } as Event);
    expect(await values(m, "kaudit_requests_total")).toEqual([
      { input: "x", verb: "create", resource: "pods", code_class: "4xx", value: 1 },
    ]);
  });

  it("input lag is read time minus the last stageTimestamp", async () => {
    const m = createWatchMetrics({ processMetrics: false });
    const base = fixture("rbac-tool-auditgen-01.v1.jsonl")[0]!;
    const t = Date.UTC(2026, 0, 1);
    m.eventRead(
      "file:a",
      { ...base, stageTimestamp: new Date(t).toISOString() } as Event,
      t + 1500,
    );
    expect(await values(m, "kaudit_input_lag_seconds")).toEqual([{ input: "file:a", value: 1.5 }]);
  });

  it("drops, outputs, followers, receiver and reloads", async () => {
    const m = createWatchMetrics({ processMetrics: false });
    m.outputDropped({ output: "am", reason: "queue-full", count: 3 });
    m.dropped("unreadable_event");
    m.receiverRequest(200);
    m.receiverRequest(429);
    m.receiverRequest(200);
    m.followerPosition("file:a", 4096);
    m.followerRotated("file:a");
    m.rulesLoadedCount(12, "initial");
    m.rulesLoadedCount(0, "error");
    m.rulesLoadedCount(13, "ok");
    expect(await values(m, "kaudit_dropped_total")).toEqual([
      { reason: "output_queue_full", value: 3 },
      { reason: "unreadable_event", value: 1 },
    ]);
    expect(await values(m, "kaudit_receiver_requests_total")).toEqual([
      { code: "200", value: 2 },
      { code: "429", value: 1 },
    ]);
    expect(await values(m, "kaudit_follower_position_bytes")).toEqual([
      { input: "file:a", value: 4096 },
    ]);
    expect(await values(m, "kaudit_follower_rotations_total")).toEqual([
      { input: "file:a", value: 1 },
    ]);
    expect(await values(m, "kaudit_rules_loaded")).toEqual([{ value: 13 }]);
    expect(await values(m, "kaudit_rules_reloads_total")).toEqual([
      { result: "error", value: 1 },
      { result: "ok", value: 1 },
    ]);
    const text = await m.registry.metrics();
    expect(text).toContain('kaudit_dropped_total{reason="output_queue_full"} 3');
  });

  it("process metrics are on by default", async () => {
    const m = createWatchMetrics();
    expect(await m.registry.metrics()).toContain("process_resident_memory_bytes");
  });
});

describe("codeClass and BoundedLabel", () => {
  it.each([
    [200, "2xx"],
    [101, "1xx"],
    [403, "4xx"],
    [599, "5xx"],
    [600, "none"],
    [undefined, "none"],
  ])("%s → %s", (code, cls) => {
    expect(codeClass(code)).toBe(cls);
  });
  it("passes the first max values and folds the rest", () => {
    const b = new BoundedLabel(2);
    expect(["a", "b", "c", "a", "d"].map((v) => b.value(v))).toEqual([
      "a",
      "b",
      "other",
      "a",
      "other",
    ]);
    expect(b.overflowed).toBe(2);
  });
});
