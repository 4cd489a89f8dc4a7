import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { kaudit } from "./helpers";

// The rules package's fixtures: Falco's k8s_audit rules and trace files (sources in its
// src/__fixtures__/README.md).
const RULES_FIX = fileURLToPath(
  new URL("../../../packages/rules/src/__fixtures__/", import.meta.url),
);
const FALCO = `${RULES_FIX}k8s_audit_rules.yaml`;
const trace = (f: string) => `${RULES_FIX}falco-trace-files/${f}`;

describe("kaudit detect", () => {
  it("Falco's rules on a privileged pod: Falco's text line, exit 1", async () => {
    const r = await kaudit(["detect", "--rules", FALCO, trace("create_nginx_pod_privileged.json")]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      "14:09:12.581541000: Warning Pod started with privileged container (user=system:serviceaccount:kube-system:replicaset-controller pod=nginx-deployment-5cdcc99dbf-rgw6z resource=pods ns=default images=(nginx) init_images=<NA> ephemeral_images=<NA>)\n",
    );
    expect(r.stderr).toBe("");
  });

  it("--json prints one json_output-shaped alert per line", async () => {
    const r = await kaudit([
      "detect",
      "--json",
      "--rules",
      FALCO,
      trace("attach_cluster_admin_role.json"),
    ]);
    expect(r.code).toBe(1);
    const alerts = r.stdout
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(alerts.map((a) => a.rule)).toEqual([
      "Attach to cluster-admin Role",
      "K8s ClusterRoleBinding Created",
    ]);
    expect(Object.keys(alerts[0]).sort()).toEqual([
      "output",
      "output_fields",
      "priority",
      "rule",
      "source",
      "tags",
      "time",
    ]);
    expect(alerts[0].output_fields["ka.req.binding.subjects"]).toEqual([
      '{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"minikube"}',
    ]);
  });

  it("nothing fired: exit 0, no output", async () => {
    const r = await kaudit([
      "detect",
      "--rules",
      FALCO,
      trace("create_nginx_pod_unprivileged.json"),
    ]);
    expect(r).toMatchObject({ code: 0, stdout: "", stderr: "" });
  });

  it("an event the rules cannot read is reported on stderr and skipped", async () => {
    const r = await kaudit([
      "detect",
      "--rules",
      FALCO,
      trace("fal_01_003.json"),
      trace("exec_pod.json"),
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("Notice Attach/Exec to pod");
    expect(r.stderr).toContain("fal_01_003.json:1:1: data not recognized as a k8s audit event");
    expect(r.stderr).toContain("kaudit detect: 1 events, 1 alerts; 1 unreadable event(s) skipped");
  });

  it("reads stdin and uses kaudit's default rules without --rules", async () => {
    const r = await kaudit(["detect"], { stdin: readFileSync(trace("exec_pod.json")) });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      "13:38:34.902914000: Notice Interactive access to a pod (user=minikube-user action=exec pod=nginx-deployment-7998647bdf-phvq7 ns=default command=bash resp=101)\n",
    );
  });

  it("several rules files: a later one switches a rule off", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kaudit-detect-"));
    const off = join(dir, "off.yaml");
    writeFileSync(
      off,
      "- rule: Attach/Exec Pod\n  enabled: false\n  override: { enabled: replace }\n",
    );
    const both = await kaudit(["detect", "--rules", FALCO, trace("exec_pod.json")]);
    expect(both.stdout).toContain("Attach/Exec to pod");
    const r = await kaudit(["detect", "--rules", FALCO, "--rules", off, trace("exec_pod.json")]);
    expect(r).toMatchObject({ code: 0, stdout: "" });
  });

  it("a rules file that cannot be loaded is exit 2 with file:line:col", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kaudit-detect-"));
    writeFileSync(join(dir, "bad.yaml"), "- macro: m\n  condition: ka.verb in (get\n");
    const r = await kaudit(["detect", "--rules", "bad.yaml", "-"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "kaudit detect: bad.yaml:2:29: macro 'm': condition: expected a ')' token\n",
    );
    const missing = await kaudit(["detect", "--rules", "nope.yaml", "-"], { cwd: dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(
      "kaudit detect: nope.yaml:1:1: Could not read file: no such file or directory\n",
    );
    const v = await kaudit(["validate", "bad.yaml"], { cwd: dir });
    expect(v.code).toBe(1);
    expect(v.stderr).toBe("bad.yaml:2:29: macro 'm': condition: expected a ')' token\n");
  });

  it("--list prints the loaded rules with their thresholds and windows", async () => {
    const r = await kaudit(["detect", "--list"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      "Warning       Unauthorized Burst From Source IP (5 in 60s by kaudit.source_ip)\n",
    );
    expect(r.stdout).toContain(
      "Warning       Write During Change Freeze (disabled; inside kaudit_change_freeze)\n",
    );
    expect(r.stdout.split("\n").filter(Boolean)).toHaveLength(12);
  });

  it("a missing log is a usage error", async () => {
    const r = await kaudit(["detect", "/nonexistent/audit.log"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("/nonexistent/audit.log: cannot read: no such file or directory");
  });
});

describe("kaudit validate on rules files", () => {
  it("recognises a Falco rules file", async () => {
    const r = await kaudit(["validate", FALCO]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${FALCO}: valid (rules file, 48 k8s_audit rules)\n`);
  });
});
