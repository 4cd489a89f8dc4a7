import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIX, kaudit } from "./helpers";

// Managed-cluster exports and the per-line format rule, through every command (issue 13, issue
// 12 item 5, issue 20 item 5). Inputs are built from the fixtures (see __fixtures__/SOURCES.md).

let tmp: string;
let lines: string[];
let v1: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "kaudit-managed-"));
  lines = (await readFile(join(FIX, "rbac-tool-auditgen-01.v1.jsonl"), "utf8"))
    .split("\n")
    .filter((l) => l.trim() !== "");
  // kube's own bytes for these events: what `convert` of the plain log writes.
  v1 = (await kaudit(["convert", "rbac-tool-auditgen-01.v1.jsonl"])).stdout;
  const page = {
    events: lines.map((message, i) => ({
      logStreamName: "kube-apiserver-audit-0f1e2d3c",
      timestamp: 1736935200123 + i,
      message,
      ingestionTime: 1736935201456,
      eventId: `3871234567890123456789012345678901234567890123456789${i}`,
    })),
    searchedLogStreams: [],
  };
  await writeFile(join(tmp, "eks-page.json"), JSON.stringify(page, null, 2));
  await writeFile(
    join(tmp, "eks-export.gz"),
    gzipSync(lines.map((m, i) => `2025-01-15T10:00:0${i}.123Z ${m}`).join("\n")),
  );
  const record = (log: string) => ({
    time: "2025-01-15T10:00:00.1250000Z",
    resourceId:
      "/SUBSCRIPTIONS/0/RESOURCEGROUPS/RG1/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/AKS1",
    category: "kube-audit",
    operationName: "Microsoft.ContainerService/managedClusters/diagnosticLogs/Read",
    properties: { pod: "kube-apiserver-0", stream: "stdout", containerID: "4f3e", log },
  });
  await writeFile(
    join(tmp, "PT1H.json"),
    [
      ...lines.map((l) => JSON.stringify(record(l))),
      JSON.stringify({ ...record("I0115 started"), category: "guard" }),
    ].join("\n"),
  );
  await writeFile(join(tmp, "empty.log"), "");
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("GKE, EKS and AKS exports go into every command unchanged", () => {
  it.each([["eks-page.json"], ["eks-export.gz"], ["PT1H.json"]])(
    "kaudit convert %s writes kube's v1 JSON lines",
    async (name) => {
      const r = await kaudit(["convert", join(tmp, name)]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(v1);
    },
  );

  it("kaudit validate and analyze read a GKE LogEntry (YAML) and an EKS page", async () => {
    const v = await kaudit([
      "validate",
      "khi-container_recorder_test_1_1.logentry.yaml",
      join(tmp, "eks-page.json"),
    ]);
    expect(v.stdout).toBe(
      `khi-container_recorder_test_1_1.logentry.yaml: valid (1 event)\n${join(tmp, "eks-page.json")}: valid (3 events)\n`,
    );
    expect(v.code).toBe(0);
    const a = await kaudit([
      "analyze",
      "--json",
      "khi-container_recorder_test_1_1.logentry.yaml",
      join(tmp, "PT1H.json"),
    ]);
    expect(a.code).toBe(0);
    expect((JSON.parse(a.stdout) as { events: number }).events).toBe(4);
  });

  it("kaudit convert of a GKE entry keeps the real outcome and the annotations", async () => {
    const r = await kaudit(["convert", "khi-container_recorder_test_1_1.logentry.yaml"]);
    expect(r.code).toBe(0);
    const e = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(e).toMatchObject({
      auditID: "85371f7c-2383-4041-96e8-dad63d2d1990",
      verb: "create",
      requestURI: "/api/v1/namespaces/1-2-deployment-update/pods",
      responseStatus: { code: 201 },
      annotations: { "authorization.k8s.io/decision": "allow" },
    });
  });

  it("kaudit policy simulate replays an EKS export", async () => {
    const r = await kaudit([
      "policy",
      "simulate",
      "--policy",
      "audit2rbac-demo-policy.yaml",
      "--json",
      join(tmp, "eks-export.gz"),
    ]);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { total: { events: number } }).total.events).toBe(3);
  });
});

describe("one line never decides the format of the others (issue 12 item 5)", () => {
  it("a JSON log whose first event has `User-Agent: x AUDIT: y` is analyzed fully", async () => {
    const first = JSON.parse(lines[0]!) as Record<string, unknown>;
    first.userAgent = "x AUDIT: y";
    const log = [JSON.stringify(first), ...lines.slice(1)].join("\n");
    const r = await kaudit(["analyze", "--json", "-"], { stdin: log });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { events: number }).events).toBe(3);
    const c = await kaudit(["convert", "-"], { stdin: log });
    expect(c.stdout.trimEnd().split("\n")).toHaveLength(3);
  });
});

describe("an empty input: one rule for every command (issue 20 item 5)", () => {
  it.each([
    [["validate"], "empty input: no event or policy in it"],
    [["convert"], "empty input: no audit events in it"],
    [["analyze"], "empty input: no audit events in it"],
    [
      ["policy", "simulate", "--policy", "audit2rbac-demo-policy.yaml"],
      "empty input: no audit events in it",
    ],
  ])("kaudit %j on an empty file reports it and exits 1", async (cmd, message) => {
    const r = await kaudit([...cmd, join(tmp, "empty.log")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${join(tmp, "empty.log")}: ${message}`);
  });
});
