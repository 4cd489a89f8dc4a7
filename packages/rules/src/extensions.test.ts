import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadRules, RulesError, type RulesSource, ThresholdState } from "./index";

// biome-ignore lint/suspicious/noExplicitAny: corpus events are edited freely in tests
type Loose = Record<string, any>;

const FIX = join(import.meta.dirname, "__fixtures__");
const RBAC_TOOL = JSON.parse(
  readFileSync(join(FIX, "events/rbac-tool-auditgen-01.v1.jsonl"), "utf8").split("\n")[1]!,
) as Loose;

/** rbac-tool's configmap create, from `ip` at `iso` (received = stage time). */
function ev(iso: string, ip = "198.51.100.7", user = "admin", uri = RBAC_TOOL.requestURI): Loose {
  const e = structuredClone(RBAC_TOOL);
  e.requestReceivedTimestamp = iso;
  e.stageTimestamp = iso;
  e.sourceIPs = [ip];
  e.user.username = user;
  e.requestURI = uri;
  return e;
}

const rule = (name: string, cond: string, kaudit: string[]): RulesSource => ({
  name: `${name}.yaml`,
  text: [
    `- rule: ${name}`,
    "  desc: d",
    `  condition: ${cond}`,
    "  output: burst from %kaudit.source_ip",
    "  priority: WARNING",
    "  source: k8s_audit",
    "  kaudit:",
    ...kaudit.map((l) => `    ${l}`),
    "",
  ].join("\n"),
});

const BURST = rule("Burst", "ka.verb = create", [
  "threshold: { count: 3, window: 1m, by: [kaudit.source_ip] }",
]);
const t = (s: number) => new Date(Date.UTC(2026, 11, 1, 9, 0, s)).toISOString();

describe("windowed thresholds", () => {
  it("fire when the condition held count times in the window, once per window and key", () => {
    const rules = loadRules([BURST]);
    const fired = [0, 10, 20, 30, 40, 50, 65, 80, 95, 100].map(
      (s) => rules.evaluate(ev(t(s))).length,
    );
    // The third event fires; the key is quiet for a minute after it (20 → 80), then 80, 95 and
    // 100 count towards the next alert.
    expect(fired).toEqual([0, 0, 1, 0, 0, 0, 0, 0, 0, 1]);
  });

  it("count each key apart and report the key", () => {
    const rules = loadRules([BURST]);
    const alerts = [0, 1, 2, 3, 4].flatMap((s) =>
      rules.evaluate(ev(t(s), s % 2 ? "10.0.0.1" : "10.0.0.2")),
    );
    expect(alerts.map((a) => a.kaudit?.key)).toEqual([{ "kaudit.source_ip": "10.0.0.2" }]);
    expect(alerts[0]?.kaudit).toEqual({
      key: { "kaudit.source_ip": "10.0.0.2" },
      count: 3,
      window_ms: 60_000,
      first: `${t(0).slice(0, 19)}.000000000Z`,
    });
  });

  it("do not fire when the events are spread wider than the window", () => {
    const rules = loadRules([BURST]);
    expect([0, 40, 80, 120].flatMap((s) => rules.evaluate(ev(t(s))))).toEqual([]);
  });

  it("count distinct values when asked (403s on many URIs)", () => {
    const rules = loadRules([
      rule("Probe", "ka.verb = create", [
        "threshold: { count: 3, window: 5m, by: ka.user.name, distinct: ka.uri }",
      ]),
    ]);
    const same = [0, 1, 2, 3].flatMap((s) => rules.evaluate(ev(t(s), "x", "alice", "/api/v1/a")));
    expect(same).toEqual([]);
    const many = ["/a", "/b", "/a", "/c"].flatMap((u, i) =>
      rules.evaluate(ev(t(10 + i), "x", "bob", u)),
    );
    expect(many.map((a) => a.kaudit?.count)).toEqual([3]);
  });

  it("hold at most maxKeys keys and count what they evict", () => {
    const rules = loadRules([BURST], { maxKeys: 100 });
    for (let i = 0; i < 1000; i++) rules.evaluate(ev(t(0), `10.1.${i >> 8}.${i & 255}`));
    const s = rules.stats().thresholds.rules[0]!;
    expect(s.keys).toBe(100);
    expect(s.evicted).toBe(900);
  });

  it("expire keys whose window passed before evicting live ones", () => {
    const rules = loadRules([BURST], { maxKeys: 10 });
    for (let i = 0; i < 10; i++) rules.evaluate(ev(t(0), `10.2.0.${i}`));
    for (let i = 0; i < 10; i++) rules.evaluate(ev(t(120), `10.3.0.${i}`));
    expect(rules.stats().thresholds.rules[0]).toMatchObject({ keys: 10, expired: 10, evicted: 0 });
  });

  it("keep their counts across a reload that keeps the threshold, restart them when it changes", () => {
    const first = loadRules([BURST]);
    first.evaluate(ev(t(0)));
    first.evaluate(ev(t(1)));
    const reloaded = loadRules([BURST], { state: first.state });
    expect(reloaded.evaluate(ev(t(2)))).toHaveLength(1);
    const changed = rule("Burst", "ka.verb = create", [
      "threshold: { count: 4, window: 1m, by: [kaudit.source_ip] }",
    ]);
    const again = loadRules([changed], { state: reloaded.state });
    for (const s of [10, 11, 12]) expect(again.evaluate(ev(t(s)))).toEqual([]);
    expect(again.stats().thresholds.restarted).toBe(1);
    expect(again.evaluate(ev(t(13)))).toHaveLength(1);
  });

  it("survive a snapshot taken through JSON: a restored state fires exactly where the original does", () => {
    // Two keys, a distinct-counting rule and a muted key: every part of the state matters.
    const probe = rule("Probe", "ka.verb = create", [
      "threshold: { count: 3, window: 5m, by: ka.user.name, distinct: ka.uri }",
    ]);
    const feed = [0, 1, 5, 6, 7, 8, 9, 20, 21, 22, 30, 31, 70, 80, 81, 90].map((s, i) =>
      ev(t(s), s % 2 ? "10.0.0.1" : "10.0.0.2", i % 3 ? "alice" : "bob", `/u/${i % 4}`),
    );
    const whole = loadRules([BURST, probe]);
    const expected = feed.map((e) => whole.evaluate(e).map((a) => [a.rule, a.kaudit?.first]));
    expect(expected.flat().length).toBeGreaterThan(3);
    for (let cut = 1; cut < feed.length; cut++) {
      const before = loadRules([BURST, probe]);
      const got = feed
        .slice(0, cut)
        .map((e) => before.evaluate(e).map((a) => [a.rule, a.kaudit?.first]));
      const saved = JSON.parse(JSON.stringify(before.state.snapshot()));
      const after = loadRules([BURST, probe], { state: new ThresholdState({ restore: saved }) });
      for (const e of feed.slice(cut))
        got.push(after.evaluate(e).map((a) => [a.rule, a.kaudit?.first]));
      expect(got, `cut after ${cut} events`).toEqual(expected);
    }
  });

  it("snapshots leave out keys whose window has passed, restore drops changed thresholds", () => {
    const rules = loadRules([BURST]);
    rules.evaluate(ev(t(0), "10.9.0.1"));
    rules.evaluate(ev(t(50), "10.9.0.2"));
    const asOf = Date.parse(t(100));
    const snap = rules.state.snapshot(asOf);
    expect(snap.rules.Burst?.keys.map((k) => k[0])).toEqual([
      `${JSON.stringify("10.9.0.2")}\u0000`,
    ]);
    const changed = rule("Burst", "ka.verb = create", [
      "threshold: { count: 4, window: 1m, by: [kaudit.source_ip] }",
    ]);
    const again = loadRules([changed], { state: new ThresholdState({ restore: snap }) });
    expect(again.stats().thresholds).toMatchObject({ restarted: 1, rules: [{ keys: 0 }] });
    expect(() => new ThresholdState({ restore: { version: 2 } as never })).toThrow(/version 1/);
  });

  it("state is its own object, shareable before any rules exist", () => {
    const state = new ThresholdState({ maxKeys: 5 });
    const rules = loadRules([BURST], { state });
    expect(rules.state).toBe(state);
  });

  it.each([
    ["threshold: { count: 0, window: 1m }", "threshold.count must be a positive integer"],
    [
      "threshold: { count: 2, window: soon }",
      "threshold.window must be a duration like 30s, 1m, 5m, 1h",
    ],
    [
      "threshold: { count: 2, window: 1m, by: [ka.nope] }",
      "filter_check called with nonexistent field ka.nope",
    ],
    [
      "threshold: { count: 2, window: 1m, per: x }",
      "Unknown key 'per' in threshold (count, window, by, distinct)",
    ],
    ["inside: [nowhere]", "Undefined time window 'nowhere'"],
    ["colour: red", "Unknown key 'colour' (kaudit takes threshold, inside, outside)"],
  ])("%s is an error with a position", (line, message) => {
    let err: unknown;
    try {
      loadRules([rule("Bad", "ka.verb = create", [line])]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RulesError);
    expect((err as RulesError).message).toContain(`Bad.yaml:8:5: rule 'Bad': kaudit: ${message}`);
  });
});

describe("time windows", () => {
  const windows: RulesSource = {
    name: "windows.yaml",
    text: [
      "- kaudit.time_window: freeze",
      "  periods:",
      "    - { from: 2026-12-20T00:00:00+01:00, to: 2027-01-04 }",
      "- kaudit.time_window: office",
      "  time_zone: Europe/Berlin",
      "  weekdays: [mon, tue, wed, thu, fri]",
      '  hours: "09:00-18:00"',
      "",
    ].join("\n"),
  };
  const inFreeze = rule("Frozen", "ka.verb = create", ["inside: [freeze]"]);
  const afterHours = rule("AfterHours", "ka.verb = create", ["outside: [office]"]);

  it.each([
    ["2026-12-19T22:59:59Z", false],
    ["2026-12-19T23:00:00Z", true], // midnight in +01:00
    ["2027-01-03T23:59:59Z", true],
    ["2027-01-04T00:00:00Z", false],
  ])("a freeze between two dates: %s → %s", (iso, fires) => {
    expect(loadRules([windows, inFreeze]).evaluate(ev(iso)).length).toBe(fires ? 1 : 0);
  });

  it.each([
    ["2026-12-01T07:59:00Z", true], // Tuesday 08:59 in Berlin
    ["2026-12-01T08:00:00Z", false], // Tuesday 09:00
    ["2026-12-01T16:59:00Z", false], // 17:59
    ["2026-12-01T17:00:00Z", true], // 18:00
    ["2026-12-05T12:00:00Z", true], // Saturday
    ["2026-07-01T07:30:00Z", false], // Wednesday 09:30 in summer time (UTC+2)
  ])("outside working hours in Europe/Berlin: %s → %s", (iso, fires) => {
    expect(loadRules([windows, afterHours]).evaluate(ev(iso)).length).toBe(fires ? 1 : 0);
  });

  it("hour and weekday fields use the configured time zone", () => {
    const r = rule("Night", "kaudit.hour < 6 and kaudit.weekday in (sat, sun)", []);
    const text = r.text.replace("  kaudit:\n", "");
    const sunday3am = ev("2026-12-06T02:00:00Z");
    expect(loadRules([{ name: "n.yaml", text }]).evaluate(sunday3am)).toHaveLength(1);
    expect(
      loadRules([{ name: "n.yaml", text }], { timeZone: "America/New_York" }).evaluate(sunday3am),
    ).toHaveLength(0);
  });

  it("a later file configures a window an earlier one declared empty", () => {
    const declared: RulesSource = { name: "d.yaml", text: "- kaudit.time_window: freeze\n" };
    expect(loadRules([declared, inFreeze]).rules[0]?.enabled).toBe(false);
    expect(
      loadRules([declared, windows, inFreeze]).evaluate(ev("2026-12-24T12:00:00Z")),
    ).toHaveLength(1);
  });
});
