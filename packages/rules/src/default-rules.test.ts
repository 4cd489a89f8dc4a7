import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type Alert, DEFAULT_RULES_FILE, loadRules, type RulesSource } from "./index";

// biome-ignore lint/suspicious/noExplicitAny: corpus events are edited freely in tests
type Loose = Record<string, any>;

const FIX = join(import.meta.dirname, "__fixtures__");
const lines = (f: string) =>
  readFileSync(join(FIX, f), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
const trace = (f: string) =>
  JSON.parse(readFileSync(join(FIX, "falco-trace-files", f), "utf8")) as Record<string, unknown>;

// Real events: audit2rbac's demo log (impersonation, 403s), rbac-tool's (sourceIPs, 201s).
const AUDIT2RBAC = lines("events/audit2rbac-demo.v1.jsonl");
const RBAC_TOOL = lines("events/rbac-tool-auditgen-01.v1.jsonl");

/** A corpus event with some fields changed (deep-copied first). */
function vary(base: Record<string, unknown>, change: (e: Loose) => void): Record<string, unknown> {
  const e = structuredClone(base) as Loose;
  change(e);
  return e;
}

const at = (seconds: number) =>
  new Date(Date.UTC(2026, 11, 1, 10, 0, 0) + seconds * 1000).toISOString();
/** The event received at `seconds` and finished `latencyMs` later. */
function timed(e: Loose, seconds: number, latencyMs = 5): void {
  e.requestReceivedTimestamp = at(seconds);
  e.stageTimestamp = new Date(Date.parse(at(seconds)) + latencyMs).toISOString();
}

const GET_POD = vary(RBAC_TOOL[0]!, (e) => {
  e.verb = "get";
  e.requestURI = "/api/v1/namespaces/ns1/pods/p1";
  e.objectRef = { resource: "pods", namespace: "ns1", name: "p1", apiVersion: "v1" };
  e.responseStatus = { metadata: {}, code: 200 };
  delete e.requestObject;
  timed(e, 0);
});

function unauthorized(ip: string, seconds: number) {
  return vary(GET_POD, (e) => {
    e.user = {};
    e.sourceIPs = [ip, "10.0.0.1"];
    e.responseStatus = {
      metadata: {},
      status: "Failure",
      message: "Unauthorized",
      reason: "Unauthorized",
      code: 401,
    };
    e.stage = "ResponseStarted";
    timed(e, seconds);
  });
}

function forbidden(user: string, uri: string, seconds: number) {
  return vary(AUDIT2RBAC[0]!, (e) => {
    e.impersonatedUser.username = user;
    e.requestURI = uri;
    timed(e, seconds);
  });
}

const secretList = vary(GET_POD, (e) => {
  e.verb = "list";
  e.requestURI = "/api/v1/namespaces/ns1/secrets";
  e.objectRef = { resource: "secrets", namespace: "ns1", apiVersion: "v1" };
});

const FREEZE: RulesSource = {
  name: "freeze.yaml",
  text: "- kaudit.time_window: kaudit_change_freeze\n  periods: [{ from: 2026-11-30, to: 2026-12-02 }]\n",
};

interface Case {
  rule: string;
  /** Events that together make the rule fire (on the last one), and events that must not. */
  fires: Record<string, unknown>[];
  quiet: Record<string, unknown>[];
  extra?: RulesSource[];
}

const CASES: Case[] = [
  {
    rule: "Unauthorized Burst From Source IP",
    fires: [0, 10, 20, 30, 40].map((s) => unauthorized("203.0.113.9", s)),
    // Five 401s, but over more than a minute, or from five different addresses.
    quiet: [
      ...[0, 20, 40, 60, 80].map((s) => unauthorized("203.0.113.9", s)),
      ...[1, 2, 3, 4, 5].map((n) => unauthorized(`203.0.113.${n}`, n)),
    ],
  },
  {
    rule: "Forbidden Burst By User",
    fires: Array.from({ length: 10 }, (_, i) =>
      forbidden("mallory", `/api/v1/namespaces/ns${i}/pods`, i),
    ),
    // The real demo log: at most four distinct URIs per user; and ten denials on one URI.
    quiet: [
      ...AUDIT2RBAC,
      ...Array.from({ length: 10 }, (_, i) => forbidden("eve", "/api/v1/pods", i)),
    ],
  },
  {
    rule: "Anonymous Request Allowed By Authorizer",
    fires: [trace("anonymous_creates_namespace_foo.json")],
    quiet: [
      vary(trace("anonymous_creates_namespace_foo.json"), (e) => {
        e.requestURI = "/healthz?verbose=1";
      }),
      trace("some-user_creates_namespace_foo.json"),
    ],
  },
  {
    rule: "Impersonated Request",
    fires: [AUDIT2RBAC[0]!],
    quiet: [RBAC_TOOL[0]!, vary(AUDIT2RBAC[0]!, (e) => (e.stage = "RequestReceived"))],
  },
  {
    rule: "Slow API Request",
    fires: [vary(GET_POD, (e) => timed(e, 0, 1500))],
    quiet: [
      vary(GET_POD, (e) => timed(e, 0, 900)),
      // A watch is long-running: slow by design.
      vary(GET_POD, (e) => {
        e.verb = "watch";
        e.requestURI = "/api/v1/namespaces/ns1/pods?watch=true";
        timed(e, 0, 60_000);
      }),
    ],
  },
  {
    rule: "Write During Change Freeze",
    extra: [FREEZE],
    fires: [RBAC_TOOL[1]!].map((e) => vary(e, (x) => timed(x, 0))),
    quiet: [vary(RBAC_TOOL[1]!, (x) => timed(x, 86_400 * 3)), vary(GET_POD, (x) => timed(x, 0))],
  },
  {
    rule: "Exec, Attach Or Port-Forward Into Pod",
    fires: [trace("exec_pod.json")],
    quiet: [vary(trace("exec_pod.json"), (e) => (e.stage = "ResponseComplete")), GET_POD],
  },
  {
    rule: "Secret Read By Person",
    fires: [secretList],
    quiet: [
      vary(
        secretList,
        (e) => (e.user.username = "system:serviceaccount:kube-system:generic-garbage-collector"),
      ),
      AUDIT2RBAC.find((e) => String(e.requestURI).includes("secrets"))!,
    ],
  },
  {
    rule: "Privileged Pod Created",
    fires: [trace("create_nginx_pod_privileged_2nd_container.json")],
    quiet: [trace("create_nginx_pod_unprivileged.json")],
  },
  {
    rule: "HostPath Pod Created",
    fires: [trace("create_nginx_pod_sensitive_mount.json")],
    quiet: [trace("create_nginx_pod_unprivileged.json")],
  },
  {
    rule: "Host Namespace Pod Created",
    fires: [trace("create_nginx_pod_hostnetwork.json")],
    quiet: [trace("create_nginx_pod_nohostnetwork.json")],
  },
  {
    rule: "Binding To Cluster-Admin",
    fires: [trace("attach_cluster_admin_role.json")],
    quiet: [trace("create_clusterrolebinding.json")],
  },
];

function firedBy(
  rule: string,
  events: Record<string, unknown>[],
  extra: RulesSource[] = [],
): Alert[] {
  const rules = extra.length ? loadRules([DEFAULT_RULES_FILE, ...extra]) : loadRules();
  return events.flatMap((e) => rules.evaluate(e)).filter((a) => a.rule === rule);
}

describe("kaudit's default rules", () => {
  it("load without warnings and cover every monitor", () => {
    const rules = loadRules();
    expect(rules.warnings).toEqual([]);
    expect(rules.rules.map((r) => r.name).sort()).toEqual(CASES.map((c) => c.rule).sort());
  });

  it.each(CASES)("$rule fires", ({ rule, fires, extra }) => {
    const alerts = firedBy(rule, fires, extra);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.output).not.toContain("%");
  });

  it.each(CASES)("$rule stays quiet", ({ rule, quiet, extra }) => {
    expect(firedBy(rule, quiet, extra)).toEqual([]);
  });

  it("the freeze rule is off until its window is configured", () => {
    const rules = loadRules();
    expect(rules.rules.find((r) => r.name === "Write During Change Freeze")?.enabled).toBe(false);
    expect(rules.evaluate(vary(RBAC_TOOL[1]!, (x) => timed(x, 0)))).toEqual([]);
  });

  it("threshold alerts carry the key, the window and the count", () => {
    const alerts = firedBy(
      "Unauthorized Burst From Source IP",
      [0, 10, 20, 30, 40].map((s) => unauthorized("203.0.113.9", s)),
    );
    expect(alerts[0]?.kaudit).toEqual({
      key: { "kaudit.source_ip": "203.0.113.9" },
      count: 5,
      window_ms: 60_000,
      first: "2026-12-01T10:00:00.005000000Z",
    });
  });
});
