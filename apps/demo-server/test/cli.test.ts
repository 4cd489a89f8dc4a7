import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Event } from "@kaudit/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, readJSONLines } from "./helpers";

const BIN = fileURLToPath(new URL("../bin/kaudit-demo.js", import.meta.url));

/** The built CLI as users run it: `--config`, generated files under ./.kaudit, SIGTERM drain. */
describe("kaudit-demo CLI (built dist, child process)", () => {
  let dir: string;
  let child: ChildProcess;
  let stdout = "";
  let url = "";
  let kubeconfig = "";
  let exit: Promise<number | null>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "kaudit-demo-cli-"));
    writeFileSync(join(dir, "demo.yaml"), "port: 0\naudit-log-maxsize: 10\n");
    child = spawn(process.execPath, [BIN, "--config", "demo.yaml"], {
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe"],
    });
    exit = new Promise((r) => child.once("exit", (code) => r(code)));
    child.stdout?.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr?.on("data", (c: Buffer) => (stdout += c.toString()));
    await eventually(() => /export KUBECONFIG=/.test(stdout), 20_000);
    url = /serving on (https:\/\/\S+)/.exec(stdout)?.[1] ?? "";
    kubeconfig = /export KUBECONFIG=(\S+)/.exec(stdout)?.[1] ?? "";
  }, 30_000);

  afterAll(() => {
    if (child.exitCode === null) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("prints the URL, the bundled policy, the backend and the KUBECONFIG line", () => {
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(stdout).toContain("gce-configure-helper-policy.yaml");
    expect(stdout).toMatch(/audit backend: \S*log\S* \(log: .*\/\.kaudit\/audit\.log\)/);
    expect(kubeconfig).toBe(join(dir, ".kaudit", "kubeconfig"));
  });

  it("kubectl works with the printed kubeconfig (token auth over the generated certificate)", async () => {
    const r = await new Promise<{ code: number; out: string }>((resolve) =>
      execFile(
        "kubectl",
        ["--cache-dir", join(dir, "kube-cache"), "get", "namespaces"],
        { env: { ...process.env, KUBECONFIG: kubeconfig, HOME: dir } },
        (err, out, errOut) => resolve({ code: err ? 1 : 0, out: out + errOut }),
      ),
    );
    expect(r.out).toMatch(/NAME\s+STATUS\s+AGE\ndefault\s+Active/);
    expect(r.code).toBe(0);
  });

  it("SIGTERM lets an in-flight request finish and flushes the audit log before exiting 0", async () => {
    const token = /token: (\S+)/.exec(readFileSync(kubeconfig, "utf8"))?.[1];
    const ca = readFileSync(join(dir, ".kaudit", "apiserver.crt"));
    const body = JSON.stringify({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "late" },
      data: { k: "v" },
    });
    const half = Math.floor(body.length / 2);
    const response = new Promise<number>((resolve, reject) => {
      const req = request(
        `${url}/api/v1/namespaces/default/configmaps`,
        {
          method: "POST",
          ca,
          headers: {
            Authorization: `Bearer ${token}`,
            "Content-Type": "application/json",
            "Content-Length": Buffer.byteLength(body),
          },
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", reject);
      req.write(body.slice(0, half));
      setTimeout(() => {
        child.kill("SIGTERM");
        setTimeout(() => req.end(body.slice(half)), 400);
      }, 300);
    });
    expect(await response).toBe(201);
    expect(await exit).toBe(0);
    expect(stdout).toContain("SIGTERM: draining");
    const events = readJSONLines(join(dir, ".kaudit", "audit.log"));
    const late = events.filter((e: Event) => e.objectRef?.name === "late");
    expect(late.map((e) => e.stage)).toEqual(["ResponseComplete"]);
    expect(late[0]?.responseStatus?.code).toBe(201);
  }, 20_000);

  it("a bad config file fails with file:line and the flag name", async () => {
    writeFileSync(join(dir, "bad.yaml"), "port: 0\naudit-log-maxsize: lots\n");
    const r = await new Promise<{ code: number; out: string }>((resolve) =>
      execFile(process.execPath, [BIN, "--config", "bad.yaml"], { cwd: dir }, (err, out, errOut) =>
        resolve({ code: (err as { code?: number } | null)?.code ?? 0, out: out + errOut }),
      ),
    );
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      `kaudit-demo: bad.yaml:2:1: invalid value "lots" for --audit-log-maxsize: expected an integer`,
    );
  });
});
