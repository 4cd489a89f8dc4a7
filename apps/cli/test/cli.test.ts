import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { encodeEvent } from "@kaudit/api";
import { readEvents as readSourceEvents } from "@kaudit/sources";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIX, kaudit } from "./helpers";

let tmp: string;
let cutLength: number;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "kaudit-cli-"));
  // Inputs generated from the fixtures (see __fixtures__/SOURCES.md), shared by the tests.
  const gz = gzipSync(await readFile(join(FIX, "audit2rbac-demo.v1.jsonl")));
  cutLength = Math.floor(gz.length / 2);
  await writeFile(join(tmp, "cut.gz"), gz.subarray(0, cutLength));
  await writeFile(
    join(tmp, "log.txt"),
    gzipSync(await readFile(join(FIX, "rbac-tool-auditgen-01.v1.jsonl"))),
  );
  await writeFile(
    join(tmp, "bad.yaml"),
    "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: [Metadata\n",
  );
  await writeFile(
    join(tmp, "levels.yaml"),
    "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Everything\n- level: None\n  omitStages: [Bogus]\n",
  );
  await writeFile(
    join(tmp, "broken.log"),
    `${await readFile(join(FIX, "basic-audit.k8s-1.6-docs.log"), "utf8")}garbage line\n`,
  );
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const LEGACY_16_JSON =
  '{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"c939d2a7-1c37-4ef1-b2f7-4ba9b1e43b53","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/pods","verb":"list","user":{"username":"admin","groups":["system:masters","system:authenticated"]},"sourceIPs":["127.0.0.1"],"objectRef":{"resource":"pods","namespace":"default","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2017-03-21T07:57:09.106841Z","stageTimestamp":"2017-03-21T07:57:09.108403Z"}\n';

describe("kaudit (framework)", () => {
  it.each([
    ["validate"],
    ["schema"],
    ["convert"],
    ["policy", "explain"],
    ["policy", "simulate"],
    ["analyze"],
  ])("%s %s --help prints usage with an example and exits 0", async (...cmd) => {
    const r = await kaudit([...cmd.filter(Boolean), "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Usage: kaudit ${cmd.filter(Boolean).join(" ")}`);
    expect(r.stdout).toMatch(/Examples?:\n {2}\$ kaudit /);
    expect(r.stderr).toBe("");
  });

  it.each([
    [["validate", "--bogus", "x"], "error: unknown option '--bogus'"],
    [["frobnicate"], "error: unknown command 'frobnicate'"],
    [["validate"], "error: missing required argument 'file'"],
    [["validate", "--kind", "pod", "x"], "error: option '--kind <kind>' argument 'pod' is invalid"],
    [
      ["analyze", "--top", "0", "x"],
      "error: option '--top <n>' argument '0' is invalid. expected a positive integer",
    ],
    [
      ["policy", "explain", "--request", "GET /x"],
      "error: required option '--policy <file>' not specified",
    ],
  ])("usage error %j exits 2 with a message on stderr", async (args, message) => {
    const r = await kaudit(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe("");
  });

  it("`kaudit help validate` prints that command's help, exit 0", async () => {
    const r = await kaudit(["help", "validate"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Usage: kaudit validate");
  });

  it("`kaudit policy` without a subcommand is a usage error", async () => {
    const r = await kaudit(["policy"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Usage: kaudit policy");
  });

  it("no command at all is a usage error (help on stderr, exit 2)", async () => {
    const r = await kaudit([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Usage: kaudit");
  });

  it("--version prints the package version", async () => {
    const pkg = JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8")) as {
      version: string;
    };
    const r = await kaudit(["--version"]);
    expect(r).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: "" });
  });
});

describe("kaudit validate", () => {
  it("accepts the GCE policy", async () => {
    const r = await kaudit(["validate", "gce-configure-helper-policy.yaml"]);
    expect(r).toEqual({
      code: 0,
      stdout: "gce-configure-helper-policy.yaml: valid (policy, 17 rules)\n",
      stderr: "",
    });
  });

  it("warns about the OpenShift `resource:` typo with its position (kube-apiserver decodes leniently)", async () => {
    const r = await kaudit(["validate", "openshift-allrequestbodies.yaml"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(
      'openshift-allrequestbodies.yaml:38:5: warning: rules[2].resources[4].resource: strict decoding error: unknown field "rules[2].resources[4].resource"\n',
    );
    expect(r.stdout).toBe("openshift-allrequestbodies.yaml: valid (policy, 4 rules; 1 warning)\n");
  });

  it("treats the v1beta1 leftovers `metadata`/`timestamp` in v1 events as warnings", async () => {
    const r = await kaudit(["validate", "audit2rbac-demo.v1.jsonl"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("audit2rbac-demo.v1.jsonl: valid (37 events; 74 warnings)\n");
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(74);
    expect(lines[0]).toBe(
      "audit2rbac-demo.v1.jsonl:1:48: warning: metadata: unknown field, ignored by kube-apiserver's decoder (dropped when re-encoded)",
    );
    expect(lines[1]).toBe(
      "audit2rbac-demo.v1.jsonl:1:123: warning: timestamp: unknown field, ignored by kube-apiserver's decoder (dropped when re-encoded)",
    );
  });

  it("reads a pretty-printed EventList, legacy lines, YAML and stdin", async () => {
    const yamlEvent = [
      "apiVersion: audit.k8s.io/v1",
      "kind: Event",
      "level: Metadata",
      "auditID: 3f0f7d8e-2a36-4cf5-b0b4-3c8f1b2b0a11",
      "stage: ResponseComplete",
      "requestURI: /api/v1/namespaces/x/pods",
      "verb: list",
      "user: {username: alice}",
      "requestReceivedTimestamp: '2026-11-22T10:00:00.000000Z'",
      "stageTimestamp: '2026-11-22T10:00:00.120000Z'",
      "",
    ].join("\n");
    await writeFile(join(tmp, "event.yaml"), yamlEvent);
    const r = await kaudit(
      [
        "validate",
        "v1beta1.eventlist-webhook.k8s-1.8-docs.json",
        "basic-audit.k8s-1.6-docs.log",
        join(tmp, "event.yaml"),
        "-",
      ],
      { stdin: await readFile(join(FIX, "rbac-tool-auditgen-01.v1.jsonl")) },
    );
    expect(r.stderr).toBe(
      "v1beta1.eventlist-webhook.k8s-1.8-docs.json:2:5: warning: apiVersion: audit.k8s.io/v1beta1 was removed in Kubernetes 1.24; read by upgrading to audit.k8s.io/v1\n",
    );
    expect(r.stdout).toBe(
      [
        "v1beta1.eventlist-webhook.k8s-1.8-docs.json: valid (1 event; 1 warning)",
        "basic-audit.k8s-1.6-docs.log: valid (1 event)",
        `${join(tmp, "event.yaml")}: valid (1 event)`,
        "<stdin>: valid (3 events)",
        "",
      ].join("\n"),
    );
    expect(r.code).toBe(0);
  });

  it("rejects the invalid Falco fixture with field paths, exit 1", async () => {
    const r = await kaudit(["validate", "fal_01_003.json"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^fal_01_003\.json: invalid \(1 event; \d+ errors?/);
    expect(r.stderr).toMatch(/^fal_01_003\.json:1:\d+: .*auditID/m);
    expect(r.stderr).toMatch(/^fal_01_003\.json:1:\d+: .*stage/m);
  });

  it("reports every broken line of a log with line and column, and goes on", async () => {
    const good = (await readFile(join(FIX, "rbac-tool-auditgen-01.v1.jsonl"), "utf8")).split(
      "\n",
    )[0];
    const bad = good!.replace('"stage":"ResponseComplete"', '"stage":"Done"');
    await writeFile(join(tmp, "mixed.jsonl"), `${good}\n{"kind":"Event",\n\n${bad}\n`);
    const r = await kaudit(["validate", join(tmp, "mixed.jsonl")]);
    expect(r.code).toBe(1);
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines[0]).toMatch(new RegExp(`^${join(tmp, "mixed.jsonl")}:2:17: invalid JSON: `));
    expect(lines[1]).toMatch(new RegExp(`^${join(tmp, "mixed.jsonl")}:4:\\d+: stage: `));
    expect(lines).toHaveLength(2);
  });

  // (the column is the member's, as for the log's other field errors)
  it("refuses a timestamp that names no real time (30 February), where it is, as kube would", async () => {
    const good = (await readFile(join(FIX, "rbac-tool-auditgen-01.v1.jsonl"), "utf8")).split(
      "\n",
    )[0]!;
    const at = /"requestReceivedTimestamp":"([^"]+)"/.exec(good)!;
    const bad = good.replace(at[1]!, "2017-02-30T10:00:00.000000Z");
    await writeFile(join(tmp, "feb30.jsonl"), `${good}\n${bad}\n`);
    const r = await kaudit(["validate", join(tmp, "feb30.jsonl")]);
    expect(r.code).toBe(1);
    expect(r.stderr.trimEnd()).toBe(
      `${join(tmp, "feb30.jsonl")}:2:${at.index + 1}: requestReceivedTimestamp: Invalid value: "2017-02-30T10:00:00.000000Z": day out of range`,
    );
  });

  it("reads gzip'd input whatever its name", async () => {
    const r = await kaudit(["validate", join(tmp, "log.txt")]);
    expect(r).toEqual({
      code: 0,
      stdout: `${join(tmp, "log.txt")}: valid (3 events)\n`,
      stderr: "",
    });
  });

  it("a truncated gzip file is a clear error, exit 1", async () => {
    const r = await kaudit(["validate", join(tmp, "cut.gz")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `${join(tmp, "cut.gz")}: truncated gzip data: unexpected end of file after ${cutLength} compressed bytes`,
    );
  });

  it("a missing file is exit 2 and the other files are still checked", async () => {
    const r = await kaudit(["validate", "no-such-file.yaml", "gce-configure-helper-policy.yaml"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("no-such-file.yaml: cannot read: no such file or directory\n");
    expect(r.stdout).toBe("gce-configure-helper-policy.yaml: valid (policy, 17 rules)\n");
  });

  it("an unreadable input (a directory; EACCES when not root) is exit 2", async () => {
    const r = await kaudit(["validate", tmp]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`${tmp}: cannot read: is a directory\n`);
    if (process.getuid?.() !== 0) {
      await writeFile(join(tmp, "secret.yaml"), "kind: Policy\n");
      await chmod(join(tmp, "secret.yaml"), 0o000);
      const p = await kaudit(["validate", join(tmp, "secret.yaml")]);
      expect(p.code).toBe(2);
      expect(p.stderr).toBe(`${join(tmp, "secret.yaml")}: cannot read: permission denied\n`);
    }
  });

  it("invalid YAML says where, exit 1", async () => {
    const r = await kaudit(["validate", join(tmp, "bad.yaml")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^${join(tmp, "bad.yaml")}:\\d+:\\d+: .+`));
    expect(r.stdout).toBe(`${join(tmp, "bad.yaml")}: invalid (policy, 0 rules; 1 error)\n`);
  });

  it("policy validation errors come with kube-apiserver's wording and positions", async () => {
    const r = await kaudit(["validate", join(tmp, "levels.yaml")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      [
        `${join(tmp, "levels.yaml")}:4:10: rules[0].level: Unsupported value: "Everything": supported values: "None", "Metadata", "Request", "RequestResponse"`,
        `${join(tmp, "levels.yaml")}:6:16: rules[1].omitStages[0]: Invalid value: "Bogus": allowed stages are RequestReceived,ResponseStarted,ResponseComplete,Panic`,
        "",
      ].join("\n"),
    );
  });

  it("a wrong kind is said once, exit 1", async () => {
    const r = await kaudit(["validate", "--kind", "policy", "audit2rbac-demo.v1.jsonl"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'audit2rbac-demo.v1.jsonl:1:2: kind: expected an audit Policy (--kind policy), found kind "Event"\n',
    );
    const e = await kaudit(["validate", "--kind", "event", "gce-configure-helper-policy.yaml"]);
    expect(e.code).toBe(1);
    expect(e.stderr).toBe(
      'gce-configure-helper-policy.yaml:2:1: kind: expected audit Events (--kind event), found kind "Policy"\n',
    );
  });

  it("an empty input is invalid", async () => {
    const r = await kaudit(["validate", "-"], { stdin: "" });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("<stdin>: empty input: no event or policy in it\n");
  });
});

describe("kaudit schema", () => {
  it("lists the schemas and prints one as JSON", async () => {
    const list = await kaudit(["schema"]);
    expect(list.code).toBe(0);
    expect(list.stdout.split("\n")).toContain("Event");
    const one = await kaudit(["schema", "Event"]);
    expect(one.code).toBe(0);
    const schema = JSON.parse(one.stdout) as {
      definitions: { Event: { properties: Record<string, unknown> } };
    };
    expect(Object.keys(schema.definitions.Event.properties)).toEqual(
      expect.arrayContaining(["auditID", "stage", "user"]),
    );
  });

  it("an unknown name is a usage error", async () => {
    const r = await kaudit(["schema", "Pod"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^kaudit schema: unknown schema "Pod"; known: .*Event/);
  });
});

describe("kaudit convert", () => {
  it("converts the 1.6 legacy file to a v1 JSON line", async () => {
    const r = await kaudit(["convert", "basic-audit.k8s-1.6-docs.log"]);
    expect(r).toEqual({ code: 0, stdout: LEGACY_16_JSON, stderr: "" });
  });

  it("re-encodes kube-apiserver's own v1 lines byte for byte, request bodies included", async () => {
    for (const name of ["rbac-tool-auditgen-01.v1.jsonl", "rbac-tool-auditgen-02.v1.jsonl"]) {
      const original = await readFile(join(FIX, name), "utf8");
      expect(original).toContain('"requestObject":');
      const r = await kaudit(["convert", name]);
      expect(r.code).toBe(0);
      // The corpus files lack the final newline; kube-apiserver writes one after every event.
      expect(r.stdout).toBe(original.endsWith("\n") ? original : `${original}\n`);
    }
  });

  it("converts v1 events to legacy lines, and from stdin", async () => {
    const r = await kaudit(["convert", "--to", "legacy", "-"], { stdin: LEGACY_16_JSON });
    expect(r).toEqual({
      code: 0,
      stdout:
        '2017-03-21T07:57:09.106841Z AUDIT: id="c939d2a7-1c37-4ef1-b2f7-4ba9b1e43b53" stage="ResponseComplete" ip="127.0.0.1" method="list" user="admin" groups="\\"system:masters\\",\\"system:authenticated\\"" as="<self>" asgroups="<lookup>" user-agent="" namespace="default" uri="/api/v1/namespaces/default/pods" response="200"\n',
      stderr: "",
    });
  });

  it("upgrades v1beta1 events (an EventList document, a JSON line) to v1", async () => {
    const r = await kaudit([
      "convert",
      "v1beta1.eventlist-webhook.k8s-1.8-docs.json",
      "create_nginx_pod_privileged.json",
    ]);
    expect(r.code).toBe(0);
    const events = r.stdout
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events).toHaveLength(2);
    for (const e of events) {
      expect(e.apiVersion).toBe("audit.k8s.io/v1");
      expect(e).not.toHaveProperty("timestamp");
      expect(e).not.toHaveProperty("metadata");
    }
    expect(events[0]!.auditID).toBe("24f30caf-d7d4-45d5-b7bd-e7af300d7886");
    expect(events[1]!.requestReceivedTimestamp).toMatch(/^2018-10-25T14:09:12\.\d{6}Z$/);
  });

  it("writes exactly encodeEvent's bytes for every event, across many 64 KB chunks", async () => {
    // Legacy lines, v1alpha1/v1beta1/v1 JSON lines and an EventList document from the corpus,
    // repeated so that the output spans many of convert's 64 KB write chunks.
    const names = [
      "basic-audit.k8s-1.6-docs.log",
      "advanced-legacy.k8s-1.7-docs.log",
      "v1alpha1.k8s-1.7-docs.jsonl",
      "create_nginx_pod_privileged.json",
      "audit2rbac-demo.v1.jsonl",
      "rbac-tool-auditgen-01.v1.jsonl",
    ];
    let text = "";
    for (const name of names) {
      const t = await readFile(join(FIX, name), "utf8");
      text += t.endsWith("\n") ? t : `${t}\n`;
    }
    const input = join(tmp, "mixed.log");
    await writeFile(input, text.repeat(40));
    const out = join(tmp, "mixed.jsonl");
    const r = await kaudit(["convert", input, "-o", out]);
    expect(r.code).toBe(0);
    let expected = "";
    let n = 0;
    for await (const rec of readSourceEvents(input, { validate: true })) {
      if ("problem" in rec) throw new Error(rec.problem.message);
      expected += `${encodeEvent(rec.event)}\n`;
      n++;
    }
    expect(n).toBeGreaterThan(1000);
    expect(expected.length).toBeGreaterThan(10 * 65536);
    expect(await readFile(out, "utf8")).toBe(expected);
  });

  it("-o writes atomically and --strict leaves an existing file alone on error", async () => {
    const out = join(tmp, "out.jsonl");
    const ok = await kaudit(["convert", "basic-audit.k8s-1.6-docs.log", "-o", out]);
    expect(ok).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(await readFile(out, "utf8")).toBe(LEGACY_16_JSON);
    const bad = await kaudit(["convert", "--strict", join(tmp, "broken.log"), "-o", out]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(new RegExp(`^${join(tmp, "broken.log")}:3:1: `));
    expect(bad.stderr).toContain(`stopped at the first problem (--strict); ${out} was not written`);
    expect(await readFile(out, "utf8")).toBe(LEGACY_16_JSON);
    const files = (await import("node:fs")).readdirSync(tmp);
    expect(files.filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("without --strict a bad line is reported, skipped, and the exit code is 1", async () => {
    const r = await kaudit(["convert", join(tmp, "broken.log")]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(LEGACY_16_JSON);
    expect(r.stderr).toMatch(new RegExp(`^${join(tmp, "broken.log")}:3:1: `));
  });

  it("a truncated gzip input fails with exit 1 and -o leaves nothing behind", async () => {
    const out = join(tmp, "never.jsonl");
    const r = await kaudit(["convert", join(tmp, "cut.gz"), "-o", out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("truncated gzip data");
    await expect(readFile(out)).rejects.toThrow(/ENOENT/);
  });

  it("a missing input is exit 2 before anything is written", async () => {
    const r = await kaudit(["convert", "basic-audit.k8s-1.6-docs.log", "missing.log"]);
    expect(r).toEqual({
      code: 2,
      stdout: "",
      stderr: "missing.log: cannot read: no such file or directory\n",
    });
  });

  it("a policy is the wrong kind of input", async () => {
    const r = await kaudit(["convert", "k8s-docs-minimal-v1beta1.yaml"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^k8s-docs-minimal-v1beta1\.yaml:\d+:\d+: kind: expected an audit Event or EventList, found kind "Policy"/,
    );
  });
});

describe("kaudit policy explain", () => {
  it("explains a request against the GCE policy, rule by rule", async () => {
    const r = await kaudit([
      "policy",
      "explain",
      "--policy",
      "gce-configure-helper-policy.yaml",
      "--request",
      "GET /api/v1/namespaces/x/pods",
      "--user",
      "alice",
      "--group",
      "system:authenticated",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines.slice(0, 7)).toEqual([
      "request: GET /api/v1/namespaces/x/pods",
      "  user:      alice groups [system:authenticated]",
      "  verb:      list",
      "  resource:  pods (core/v1)",
      "  namespace: x",
      "decision: level Request, omitStages [RequestReceived] (rule 14)",
      "rules:",
    ]);
    expect(lines[7]).toBe(
      '   0  miss   users           user "alice" is not in ["system:kube-proxy"]',
    );
    expect(lines[10]).toBe(
      '   3  miss   userGroups      none of the user\'s groups ["system:authenticated"] is in ["system:nodes"]',
    );
    expect(lines[21]).toMatch(/^ {2}14 {2}match {2}resources/);
    expect(lines[22]).toBe("  rules 15..16 not consulted (the first matching rule wins)");
  });

  it("--json gives the decision and the reasons", async () => {
    const r = await kaudit([
      "policy",
      "explain",
      "--json",
      "--policy",
      "gce-configure-helper-policy.yaml",
      "--request",
      "GET /api/v1/nodes/n1/status",
      "--user",
      "kubelet",
    ]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as {
      decision: { level: string; ruleIndex: number };
      rules: { matched: boolean }[];
    };
    expect(out.decision).toMatchObject({ level: "None", ruleIndex: 2 });
    expect(out.rules.map((x) => x.matched)).toEqual([false, false, true]);
  });

  it("explains each event of a log with --event", async () => {
    const r = await kaudit([
      "policy",
      "explain",
      "--policy",
      "audit2rbac-demo-policy.yaml",
      "--event",
      "rbac-tool-auditgen-01.v1.jsonl",
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout.match(/^event /gm)).toHaveLength(3);
    expect(r.stdout).toContain(
      "event c38408b4-23f7-4942-bcd7-d9019ae2e8ea (rbac-tool-auditgen-01.v1.jsonl:1): create /api/v1/namespaces/ns1/pods",
    );
    expect(r.stdout).toContain("decision: level None (no rule matched: not audited)");
  });

  it.each([
    [["--request", "GET /x", "--event", "a.json"], "give exactly one of --request or --event"],
    [["--request", "fetch pods now"], 'expected "METHOD /path"'],
  ])("usage errors %j exit 2", async (args, message) => {
    const r = await kaudit([
      "policy",
      "explain",
      "--policy",
      "gce-configure-helper-policy.yaml",
      ...args,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });

  it("an invalid policy is reported with positions, exit 1; a missing one exit 2", async () => {
    const bad = await kaudit([
      "policy",
      "explain",
      "--policy",
      join(tmp, "levels.yaml"),
      "--request",
      "GET /api",
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(
      `${join(tmp, "levels.yaml")}:4:10: rules[0].level: Unsupported value: "Everything"`,
    );
    expect(bad.stderr).toContain("not a valid audit policy");
    const missing = await kaudit([
      "policy",
      "explain",
      "--policy",
      "nope.yaml",
      "--request",
      "GET /api",
    ]);
    expect(missing).toEqual({
      code: 2,
      stdout: "",
      stderr: "nope.yaml: cannot read: no such file or directory\n",
    });
    const yaml = await kaudit([
      "policy",
      "explain",
      "--policy",
      join(tmp, "bad.yaml"),
      "--request",
      "GET /api",
    ]);
    expect(yaml.code).toBe(1);
  });
});

describe("kaudit policy simulate", () => {
  it("replays the audit2rbac demo log through the GCE policy", async () => {
    const r = await kaudit([
      "policy",
      "simulate",
      "--policy",
      "gce-configure-helper-policy.yaml",
      "audit2rbac-demo.v1.jsonl",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe("policy gce-configure-helper-policy.yaml: what it would have logged");
    expect(lines[1]).toBe("rule  level                   events  kept  kept bytes  input bytes");
    const row = (i: number) =>
      lines
        .find((l) => l.startsWith(`${String(i).padStart(4)}  `))!
        .trim()
        .split(/\s{2,}/)
        .slice(1);
    expect(row(13)).toEqual(["Metadata", "2", "2", "1545", "1545"]);
    expect(row(14).slice(0, 3)).toEqual(["Request", "12", "12"]);
    expect(row(16)).toEqual(["Metadata", "23", "23", "12027", "12027"]);
    expect(lines.at(-2)).toMatch(/^total: 37 events \(.*\); kept 37 \(.*\); dropped 0 \(0 B\)$/);
    expect(lines.at(-1)).toMatch(
      /^note: 12 kept events were recorded at a lower level than this policy asks for/,
    );
  });

  it("-o writes the log as the policy would have, and --json reports the same totals", async () => {
    const out = join(tmp, "simulated.jsonl");
    const r = await kaudit([
      "policy",
      "simulate",
      "--json",
      "--policy",
      "audit2rbac-demo-policy.yaml",
      "audit2rbac-demo.v1.jsonl",
      "rbac-tool-auditgen-01.v1.jsonl",
      "-o",
      out,
    ]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as {
      total: { events: number; kept: number; dropped: number; keptBytes: number };
    };
    expect(report.total).toMatchObject({ events: 40, kept: 37, dropped: 3 });
    const text = await readFile(out, "utf8");
    expect(Buffer.byteLength(text)).toBe(report.total.keptBytes);
    const events = text
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as { level: string; user: { username: string } });
    expect(events).toHaveLength(37);
    expect(events.every((e) => e.level === "Metadata" && e.user.username === "system:admin")).toBe(
      true,
    );
  });

  it("drops bodies by level when writing the simulated log", async () => {
    await writeFile(
      join(tmp, "meta.yaml"),
      "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n- level: Metadata\n",
    );
    const r = await kaudit([
      "policy",
      "simulate",
      "--policy",
      join(tmp, "meta.yaml"),
      "create_configmap_sensitive_values.json",
      "-o",
      "-",
    ]);
    expect(r.code).toBe(0);
    const events = r.stdout
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events).toHaveLength(6);
    for (const e of events) {
      expect(e.level).toBe("Metadata");
      expect(e).not.toHaveProperty("requestObject");
      expect(e).not.toHaveProperty("responseObject");
    }
    expect(r.stderr).toContain("policy");
    expect(r.stderr).toMatch(/total: 6 events/);
  });
});

describe("kaudit policy simulate: bad input", () => {
  const GCE = "gce-configure-helper-policy.yaml";
  it.each([
    [
      "a missing log",
      () => ["--policy", GCE, "nope.jsonl"],
      2,
      "nope.jsonl: cannot read: no such file or directory",
    ],
    [
      "a missing policy",
      () => ["--policy", "nope.yaml", "audit2rbac-demo.v1.jsonl"],
      2,
      "nope.yaml: cannot read: no such file or directory",
    ],
    [
      "an invalid policy",
      () => ["--policy", join(tmp, "levels.yaml"), "audit2rbac-demo.v1.jsonl"],
      1,
      ':4:10: rules[0].level: Unsupported value: "Everything"',
    ],
    [
      "a policy with invalid YAML",
      () => ["--policy", join(tmp, "bad.yaml"), "audit2rbac-demo.v1.jsonl"],
      1,
      "not a valid audit policy",
    ],
    [
      "a truncated gzip log",
      () => ["--policy", GCE, join(tmp, "cut.gz")],
      1,
      "truncated gzip data",
    ],
    ["a policy given as the log", () => ["--policy", GCE, GCE], 1, 'found kind "Policy"'],
    ["a directory as the log", () => ["--policy", GCE, tmp], 2, ": cannot read: is a directory"],
  ])("%s", async (_name, args, code, message) => {
    const r = await kaudit(["policy", "simulate", ...args()]);
    expect(r.code).toBe(code);
    expect(r.stderr).toContain(message);
  });

  it("-o is not written when the run fails", async () => {
    const out = join(tmp, "sim-fail.jsonl");
    const r = await kaudit([
      "policy",
      "simulate",
      "--policy",
      GCE,
      "audit2rbac-demo.v1.jsonl",
      join(tmp, "cut.gz"),
      "-o",
      out,
    ]);
    expect(r.code).toBe(1);
    await expect(readFile(out)).rejects.toThrow(/ENOENT/);
  });
});

describe("invalid events are reported, left out, and make the exit code 1", () => {
  it.each([
    [["policy", "simulate", "--policy", "gce-configure-helper-policy.yaml"]],
    [["analyze"]],
    [["policy", "explain", "--policy", "gce-configure-helper-policy.yaml", "--event"]],
  ])("%j", async (cmd) => {
    const r = await kaudit([...cmd, "fal_01_003.json"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("fal_01_003.json:1:1: auditID: Required value");
    expect(r.stdout).not.toContain("1 events");
  });
});

describe("kaudit convert: invalid YAML", () => {
  it("says where, exit 1", async () => {
    await writeFile(
      join(tmp, "event-bad.yaml"),
      "apiVersion: audit.k8s.io/v1\nkind: Event\nuser: {username: [alice\n",
    );
    const r = await kaudit(["convert", join(tmp, "event-bad.yaml")]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(
      new RegExp(`^${join(tmp, "event-bad.yaml")}:\\d+:\\d+: invalid YAML: `),
    );
  });
});

describe("kaudit analyze", () => {
  it("reports 403s by user and source IP, top users and errors on the audit2rbac demo log (JSON)", async () => {
    const r = await kaudit(["analyze", "--json", "audit2rbac-demo.v1.jsonl"]);
    expect(r.code).toBe(0);
    const a = JSON.parse(r.stdout);
    expect(a.events).toBe(37);
    expect(a.requests).toBe(37);
    expect(a.denied.byUser).toEqual([
      { user: "system:admin as bob", unauthorized: 0, forbidden: 4 },
      { user: "system:admin as system:serviceaccount:ns1:sa1", unauthorized: 0, forbidden: 4 },
      { user: "system:admin as alice", unauthorized: 0, forbidden: 3 },
    ]);
    expect(a.denied.bySourceIP).toEqual([{ sourceIP: "::1", unauthorized: 0, forbidden: 11 }]);
    expect(a.top.codes).toEqual([
      { code: "200", count: 26 },
      { code: "403", count: 11 },
    ]);
    expect(a.errors).toEqual([
      {
        code: 403,
        reason: "Forbidden",
        count: 11,
        example: 'pods is forbidden: User "bob" cannot list pods in the namespace "default"',
      },
    ]);
    // upgradeEvent recovers the v1beta1 `timestamp`/`metadata.creationTimestamp` (whole seconds).
    expect(a.latency.timed).toBe(37);
    expect(a.timeRange).toEqual({
      first: "2017-09-11T19:55:05.000000Z",
      last: "2017-09-11T20:29:04.000000Z",
    });
  });

  it("prints latency tables for a timed log (exact output)", async () => {
    const r = await kaudit(["analyze", "--top", "2", "rbac-tool-auditgen-01.v1.jsonl"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        "3 events, 3 requests (final stage); by stage: ResponseComplete 3",
        "from 2020-04-08T16:32:36.125094Z to 2020-04-08T16:32:36.678782Z",
        "",
        "Denied requests (401 Unauthorized / 403 Forbidden)",
        "none",
        "",
        "Latency (stageTimestamp - requestReceivedTimestamp of the final stage)",
        "3 timed requests: p50 3.902ms, p99 11.404ms, max 11.404ms",
        "",
        "verb    count      p50       p99       max",
        "------  -----  -------  --------  --------",
        "create      3  3.902ms  11.404ms  11.404ms",
        "",
        "resource    count       p50       p99       max",
        "----------  -----  --------  --------  --------",
        "pods            1  11.404ms  11.404ms  11.404ms",
        "configmaps      1   3.902ms   3.902ms   3.902ms",
        "",
        "Slowest requests",
        " latency  verb    code  user   requestURI",
        "--------  ------  ----  -----  ---------------------------------",
        "11.404ms  create   201  admin  /api/v1/namespaces/ns1/pods",
        " 3.902ms  create   201  admin  /api/v1/namespaces/ns2/configmaps",
        "",
        "Top",
        "user   requests",
        "-----  --------",
        "admin         3",
        "",
        "verb    requests",
        "------  --------",
        "create         3",
        "",
        "resource    requests",
        "----------  --------",
        "configmaps         1",
        "pods               1",
        "",
        "code  requests",
        "----  --------",
        "201          3",
        "",
        "Errors (code >= 400)",
        "none",
        "",
      ].join("\n"),
    );
  });

  it("--since/--until filter by requestReceivedTimestamp", async () => {
    const r = await kaudit([
      "analyze",
      "--json",
      "--since",
      "2020-04-08T16:32:36.2Z",
      "--until",
      "2020-04-08T16:32:36.5Z",
      "rbac-tool-auditgen-01.v1.jsonl",
    ]);
    const a = JSON.parse(r.stdout);
    expect(a.requests).toBe(1);
    expect(a.skipped).toEqual({ outsideRange: 2, undated: 0 });
    expect(a.top.resources).toEqual([{ resource: "configmaps", count: 1, failures: 0 }]);
  });

  it("reads legacy lines and gzip'd logs too", async () => {
    const r = await kaudit([
      "analyze",
      "--json",
      "basic-audit.k8s-1.6-docs.log",
      join(tmp, "log.txt"),
    ]);
    expect(r.code).toBe(0);
    const a = JSON.parse(r.stdout);
    expect(a.requests).toBe(4);
    expect(a.top.users).toEqual([{ user: "admin", count: 4, failures: 0 }]);
  });

  it.each([
    [["--since", "yesterday"], 2, '--since "yesterday": expected an RFC 3339 time'],
    [["no-such.log"], 2, "no-such.log: cannot read: no such file or directory"],
    [[join("..", "__fixtures__", "gce-configure-helper-policy.yaml")], 1, 'found kind "Policy"'],
  ])("bad input %j exits %i", async (args, code, message) => {
    const r = await kaudit(["analyze", ...args]);
    expect(r.code).toBe(code);
    expect(r.stderr).toContain(message);
  });

  it("a truncated gzip log is exit 1", async () => {
    const r = await kaudit(["analyze", join(tmp, "cut.gz")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("truncated gzip data");
  });
});
