import type { Event } from "@kaudit/api";
import { loadRules, type RulesSource } from "@kaudit/rules";
import { describe, expect, it } from "vitest";
import type { WatchAlert } from "./alert";
import { familyOverride, planFleetRules } from "./fleet-rules";
import { alertId, parseAssignment } from "./nats-input";

const rule = (name: string, threshold?: string): string =>
  [
    `- rule: ${JSON.stringify(name)}`,
    "  desc: d",
    "  condition: ka.verb = get",
    "  output: o %ka.user.name",
    "  priority: NOTICE",
    "  source: k8s_audit",
    ...(threshold ? ["  kaudit:", `    threshold: ${threshold}`] : []),
    "",
  ].join("\n");

const RULES: RulesSource = {
  name: "fleet.yaml",
  text: [
    rule("Single"),
    rule("By user", "{ count: 2, window: 1m, by: [kaudit.user.name, ka.verb] }"),
    rule("By IP", "{ count: 2, window: 1m, by: [kaudit.source_ip] }"),
    rule("By IP list", "{ count: 2, window: 1m, by: ka.sourceips }"),
    rule("By namespace", "{ count: 2, window: 1m, by: [ka.target.namespace] }"),
    rule('Quoted "name": yes', "{ count: 2, window: 1m, by: [ka.user.name] }"),
  ].join("\n"),
};

const event = (id: string): Event => ({
  level: "Metadata",
  auditID: id,
  stage: "ResponseComplete",
  requestURI: "/api/v1/namespaces/a/pods",
  verb: "get",
  user: { username: "alice" },
  sourceIPs: ["10.0.0.1"],
  objectRef: { resource: "pods", namespace: "a", apiVersion: "v1" },
  requestReceivedTimestamp: "2026-11-22T10:04:05.000000Z",
  stageTimestamp: "2026-11-22T10:04:05.000000Z",
});

describe("planFleetRules", () => {
  it("puts source-IP thresholds on the ip family, everything else on the user family, and names the inexact ones", () => {
    const plan = planFleetRules(loadRules([RULES]).rules);
    expect(plan).toEqual({
      user: ["Single", "By user", "By namespace", 'Quoted "name": yes'],
      ip: ["By IP", "By IP list"],
      inexact: [
        { rule: "By namespace", by: ["ka.target.namespace"] },
        { rule: 'Quoted "name": yes', by: ["ka.user.name"] },
      ],
    });
  });

  it("familyOverride turns off the other family's rules: each rule fires in exactly one family", () => {
    const plan = planFleetRules(loadRules([RULES]).rules);
    const fired = (family: "user" | "ip") => {
      const rs = loadRules([RULES, familyOverride(plan, family)]);
      expect(rs.warnings).toEqual([]);
      const names = new Set<string>();
      for (let i = 0; i < 3; i++) for (const a of rs.evaluate(event(`e${i}`))) names.add(a.rule);
      return [...names].sort();
    };
    expect(fired("user")).toEqual(["By namespace", "By user", 'Quoted "name": yes', "Single"]);
    expect(fired("ip")).toEqual(["By IP", "By IP list"]);
  });
});

describe("parseAssignment", () => {
  it.each([
    ["0-3", 8, [0, 1, 2, 3]],
    ["7,0,2-3", 8, [0, 2, 3, 7]],
    [" 1 , 1-2 ", 4, [1, 2]],
    ["all", 3, [0, 1, 2]],
  ])("%s of %i → %j", (text, n, want) => {
    expect(parseAssignment(text, n)).toEqual(want);
  });
  it.each([
    ["8", 8, "8: partitions are 0 to 7"],
    ["3-1", 8, "3-1: the range ends before it starts"],
    ["a", 8, '"a" is not a partition or a range like 0-7'],
    ["1,,2", 8, '"" is not a partition or a range like 0-7'],
  ])("refuses %s of %i", (text, n, message) => {
    expect(() => parseAssignment(text, n)).toThrow(message);
  });
});

describe("alertId", () => {
  const base: WatchAlert = {
    time: "2026-11-22T10:04:05.000000000Z",
    rule: "R",
    priority: "Notice",
    source: "k8s_audit",
    output: "o",
    output_fields: {},
    tags: [],
  };
  it("is rule + key + window start for thresholds, whatever event fired it", () => {
    const th = { ...base, kaudit: { key: { k: "a" }, count: 2, window_ms: 60_000, first: "t0" } };
    expect(alertId(th, event("x"))).toBe(alertId({ ...th, time: "later" }, event("y")));
    expect(alertId(th, event("x"))).not.toBe(
      alertId({ ...th, kaudit: { ...th.kaudit, first: "t1" } }, event("x")),
    );
    expect(alertId(th, event("x"))).not.toBe(
      alertId({ ...th, kaudit: { ...th.kaudit, key: { k: "b" } } }, event("x")),
    );
  });
  it("is rule + auditID + stage for single-event rules", () => {
    expect(alertId(base, event("x"))).toBe(alertId({ ...base, output: "other" }, event("x")));
    expect(alertId(base, event("x"))).not.toBe(alertId(base, event("y")));
    expect(alertId(base, event("x"))).not.toBe(alertId({ ...base, rule: "S" }, event("x")));
    expect(alertId(base, event("x"))).toMatch(/^[0-9a-f]{32}$/);
  });
});
