import type { Event } from "@kaudit/api";
import { describe, expect, it } from "vitest";
import {
  AuditStats,
  EXACT_LIMIT,
  LatencyDigest,
  MAX_ROWS,
  parseGoDuration,
  parseTimeBound,
  ROWS_PER_USER,
  resourceLabel,
  userLabel,
} from "./index";

describe("parseGoDuration (Go time.Duration.String())", () => {
  it.each([
    ["0s", 0],
    ["501.234567ms", 501.234567],
    ["1.2s", 1200],
    ["1m2.5s", 62_500],
    ["800µs", 0.8],
    ["800μs", 0.8],
    ["800us", 0.8],
    ["1500ns", 0.0015],
    ["1h0m0s", 3_600_000],
    ["-3ms", -3],
  ])("%s = %f ms", (text, ms) => {
    expect(parseGoDuration(text)).toBeCloseTo(ms, 9);
  });
  it.each([[""], ["5"], ["ms"], ["1.2 s"], ["3x"], ["1s2"]])("%j is not a duration", (text) => {
    expect(parseGoDuration(text)).toBeUndefined();
  });
});

describe("parseTimeBound", () => {
  const now = Date.UTC(2026, 10, 22, 12, 0, 0);
  it.each([
    ["2026-11-22T10:00:00Z", Date.UTC(2026, 10, 22, 10)],
    ["2026-11-22T10:00:00.5+01:00", Date.UTC(2026, 10, 22, 9, 0, 0, 500)],
    ["2026-11-22", Date.UTC(2026, 10, 22)],
    ["2h", now - 7_200_000],
    ["90m", now - 5_400_000],
    ["7d", now - 7 * 86_400_000],
    ["1h30m", now - 5_400_000],
  ])("%s", (text, expected) => {
    expect(parseTimeBound(text, now)).toBe(expected);
  });
  it.each([["yesterday"], ["2h ago"], ["2026-13-45"], [""]])("%j is refused", (text) => {
    expect(parseTimeBound(text, now)).toBeUndefined();
  });
});

describe("LatencyDigest", () => {
  it("is exact (nearest rank) up to EXACT_LIMIT values", () => {
    const d = new LatencyDigest();
    for (let i = 100; i >= 1; i--) d.add(i);
    expect(d.summary()).toEqual({ count: 100, p50: 50, p99: 99, max: 100 });
  });
  it("stays within 1% once it switches to buckets", () => {
    const d = new LatencyDigest();
    const n = EXACT_LIMIT * 10;
    for (let i = 1; i <= n; i++) d.add(((i * 7919) % n) + 1);
    const p50 = d.quantile(0.5);
    const p99 = d.quantile(0.99);
    expect(Math.abs(p50 - n / 2) / (n / 2)).toBeLessThan(0.011);
    expect(Math.abs(p99 - n * 0.99) / (n * 0.99)).toBeLessThan(0.011);
    expect(d.max).toBe(n);
  });
  it("is empty-safe", () => {
    expect(new LatencyDigest().summary()).toEqual({ count: 0, p50: 0, p99: 0, max: 0 });
  });
});

const ev = (over: Partial<Event>): Event =>
  ({
    level: "Metadata",
    auditID: "a",
    stage: "ResponseComplete",
    requestURI: "/api/v1/pods",
    verb: "list",
    user: { username: "alice" },
    requestReceivedTimestamp: "2026-11-22T10:00:00.000000Z",
    stageTimestamp: "2026-11-22T10:00:00.250000Z",
    ...over,
  }) as Event;

describe("labels", () => {
  it.each([
    [ev({}), "alice"],
    [ev({ user: {} }), "<anonymous>"],
    [
      ev({ user: { username: "system:admin" }, impersonatedUser: { username: "bob" } }),
      "system:admin as bob",
    ],
  ])("userLabel %#", (e, label) => expect(userLabel(e)).toBe(label));
  it.each([
    [ev({ objectRef: { resource: "pods" } }), "pods"],
    [ev({ objectRef: { resource: "pods", subresource: "log" } }), "pods/log"],
    [ev({ objectRef: { resource: "deployments", apiGroup: "apps" } }), "deployments.apps"],
    [ev({ requestURI: "/healthz?verbose=1" }), "(non-resource) /healthz"],
  ])("resourceLabel %#", (e, label) => expect(resourceLabel(e)).toBe(label));
});

describe("AuditStats", () => {
  it("counts requests at their final stage only, and times them", () => {
    const s = new AuditStats({ top: 5 });
    s.add(ev({ stage: "RequestReceived", stageTimestamp: "2026-11-22T10:00:00.000000Z" }));
    s.add(ev({ responseStatus: { metadata: {}, code: 200 } }));
    s.add(
      ev({
        stage: "Panic",
        responseStatus: { metadata: {}, code: 500, reason: "InternalError", message: "boom" },
      }),
    );
    s.add(
      ev({
        user: {},
        sourceIPs: ["10.0.0.1"],
        responseStatus: { metadata: {}, code: 401 },
        requestReceivedTimestamp: null,
        stageTimestamp: null,
      }),
    );
    const r = s.report();
    expect(r.events).toBe(4);
    expect(r.requests).toBe(3);
    expect(r.byStage).toEqual({ ResponseComplete: 2, Panic: 1, RequestReceived: 1 });
    expect(r.latency.timed).toBe(2);
    expect(r.latency.overall).toEqual({ count: 2, p50: 250, p99: 250, max: 250 });
    expect(r.denied.byUser).toEqual([{ user: "<anonymous>", unauthorized: 1, forbidden: 0 }]);
    expect(r.denied.bySourceIP).toEqual([{ sourceIP: "10.0.0.1", unauthorized: 1, forbidden: 0 }]);
    expect(r.errors.map((e) => [e.code, e.reason, e.count, e.example])).toEqual([
      [401, "", 1, "list /api/v1/pods"],
      [500, "InternalError", 1, "boom"],
    ]);
  });

  it("keeps the N slowest requests in order", () => {
    const s = new AuditStats({ top: 2 });
    for (const [id, ms] of [
      ["a", 5],
      ["b", 50],
      ["c", 20],
      ["d", 1],
    ] as const) {
      s.add(
        ev({
          auditID: id,
          stageTimestamp: `2026-11-22T10:00:00.${String(ms * 1000).padStart(6, "0")}Z`,
        }),
      );
    }
    expect(s.report().latency.slowest.map((x) => [x.auditID, x.ms])).toEqual([
      ["b", 50],
      ["c", 20],
    ]);
  });

  it("summarises apiserver.latency.k8s.io annotations and ignores malformed ones", () => {
    const s = new AuditStats({ top: 5 });
    s.add(
      ev({
        annotations: {
          "apiserver.latency.k8s.io/etcd": "501.5ms",
          "apiserver.latency.k8s.io/total": "1.2s",
        },
      }),
    );
    s.add(ev({ annotations: { "apiserver.latency.k8s.io/etcd": "bogus", other: "1s" } }));
    expect(s.report().latency.annotations).toEqual([
      { key: "apiserver.latency.k8s.io/etcd", count: 1, p50: 501.5, p99: 501.5, max: 501.5 },
      { key: "apiserver.latency.k8s.io/total", count: 1, p50: 1200, p99: 1200, max: 1200 },
    ]);
  });

  it("filters by time and counts what it left out", () => {
    const s = new AuditStats({
      top: 5,
      since: Date.UTC(2026, 10, 22, 10, 0, 1),
      until: Date.UTC(2026, 10, 22, 10, 0, 3),
    });
    for (const sec of [0, 1, 2, 3])
      s.add(
        ev({ requestReceivedTimestamp: `2026-11-22T10:00:0${sec}.000000Z`, stageTimestamp: null }),
      );
    s.add(ev({ requestReceivedTimestamp: null, stageTimestamp: null }));
    const r = s.report();
    expect(r.requests).toBe(2);
    expect(r.skipped).toEqual({ outsideRange: 2, undated: 1 });
  });
});

describe("AuditStats for the report", () => {
  it("times long-running requests apart (kube's rule: watch, exec, …)", () => {
    const s = new AuditStats({ top: 5 });
    s.add(ev({ verb: "watch", stageTimestamp: "2026-11-22T10:05:00.000000Z" }));
    s.add(
      ev({
        verb: "create",
        requestURI: "/api/v1/namespaces/d/pods/p/exec?command=sh",
        objectRef: { resource: "pods", subresource: "exec", namespace: "d", name: "p" },
        stageTimestamp: "2026-11-22T10:01:00.000000Z",
      }),
    );
    s.add(ev({}));
    const r = s.report();
    expect(r.latency.overall).toEqual({ count: 1, p50: 250, p99: 250, max: 250 });
    expect(r.latency.longRunning.count).toBe(2);
    expect(r.latency.longRunning.max).toBe(300_000);
    expect(r.latency.slowest.map((x) => x.verb)).toEqual(["list"]);
  });

  it("ranks users, agents, IPs, resources and namespaces by requests and by failures", () => {
    const s = new AuditStats({ top: 5 });
    const add = (user: string, code: number, ns?: string) =>
      s.add(
        ev({
          user: { username: user },
          userAgent: `${user}-agent`,
          sourceIPs: [`10.0.0.${user.length}`],
          objectRef: { resource: "pods", ...(ns ? { namespace: ns } : {}) },
          responseStatus: { metadata: {}, code },
        }),
      );
    add("alice", 200, "a");
    add("alice", 200, "a");
    add("mallory", 403, "b");
    add("mallory", 403, "b");
    add("mallory", 200);
    const r = s.report();
    expect(r.top.users).toEqual([
      { user: "mallory", count: 3, failures: 2 },
      { user: "alice", count: 2, failures: 0 },
    ]);
    expect(r.top.namespaces).toEqual([
      { namespace: "a", count: 2, failures: 0 },
      { namespace: "b", count: 2, failures: 2 },
      { namespace: "<cluster>", count: 1, failures: 0 },
    ]);
    expect(r.failures.users).toEqual([{ user: "mallory", count: 2 }]);
    expect(r.failures.userAgents).toEqual([{ userAgent: "mallory-agent", count: 2 }]);
    expect(r.failures.sourceIPs).toEqual([{ sourceIP: "10.0.0.7", count: 2 }]);
    expect(r.failures.total).toBe(2);
    expect(r.byClass).toEqual({ "2xx": 3, "3xx": 0, "4xx": 2, "5xx": 0, other: 0 });
    expect(r.denied.total).toBe(2);
    expect(r.denied.rows.map((x) => [x.user, x.code, x.namespace])).toEqual([
      ["mallory", 403, "b"],
      ["mallory", 403, "b"],
    ]);
  });

  it("keeps the most recent MAX_ROWS writes, and each user's last ROWS_PER_USER, in time order", () => {
    const s = new AuditStats({ top: 5 });
    const at = (i: number) =>
      `2026-11-22T10:${String(Math.floor(i / 60)).padStart(2, "0")}:${String(i % 60).padStart(2, "0")}.000000Z`;
    // mallory writes early, then everybody else writes MAX_ROWS times.
    for (let i = 0; i < ROWS_PER_USER + 5; i++) {
      s.add(
        ev({
          auditID: `m${i}`,
          verb: "delete",
          user: { username: "mallory" },
          requestReceivedTimestamp: at(i),
        }),
      );
    }
    for (let i = 0; i < MAX_ROWS; i++) {
      s.add(
        ev({
          auditID: `w${i}`,
          verb: i % 2 ? "patch" : "create",
          user: { username: `u${i % 4}` },
          requestReceivedTimestamp: at(100 + i),
        }),
      );
    }
    s.add(ev({ auditID: "r", verb: "get" }));
    const r = s.report();
    expect(r.writes.total).toBe(MAX_ROWS + ROWS_PER_USER + 5);
    const ids = r.writes.rows.map((x) => x.auditID);
    expect(ids.filter((id) => id.startsWith("m"))).toEqual(
      Array.from({ length: ROWS_PER_USER }, (_, i) => `m${i + 5}`),
    );
    expect(ids.filter((id) => id.startsWith("w"))).toHaveLength(MAX_ROWS);
    expect(r.writes.rows.map((x) => x.time)).toEqual(r.writes.rows.map((x) => x.time).sort());
    expect(r.writes.byUser).toContainEqual({ user: "mallory", count: ROWS_PER_USER + 5 });
  });

  it("gives the slowest requests their apiserver.latency.k8s.io breakdown", () => {
    const s = new AuditStats({ top: 1 });
    s.add(
      ev({
        annotations: {
          "apiserver.latency.k8s.io/etcd": "200ms",
          "authorization.k8s.io/decision": "allow",
        },
      }),
    );
    expect(s.report().latency.slowest[0]!.breakdown).toEqual({
      "apiserver.latency.k8s.io/etcd": "200ms",
    });
  });
});
