// The demo's own audit log, after the requests kube-apiserver logs with non-object bodies
// (`kubectl patch --type=json`: the patch array as requestObject; `kubectl apply --server-side`),
// must validate and be counted by analyze (issue 16 item 1). Runs the built demo and CLI.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Event } from "@kaudit/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kaudit } from "./helpers";

const DEMO = fileURLToPath(new URL("../../demo-server/bin/kaudit-demo.js", import.meta.url));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kaudit-demo-log-"));
const LOG = path.join(dir, "audit.log");
let demo: ChildProcess | undefined;

function kubectl(args: string[], stdin?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      "kubectl",
      ["--kubeconfig", path.join(dir, "kubeconfig"), ...args],
      { timeout: 20_000 },
      (err, stdout, stderr) =>
        err
          ? reject(new Error(`kubectl ${args.join(" ")}: ${stderr || err.message}`))
          : resolve(stdout),
    );
    child.stdin?.end(stdin ?? "");
  });
}

const CONFIGMAP = JSON.stringify({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name: "patched" },
  data: { a: "1" },
});
const APPLIED = JSON.stringify({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name: "applied" },
  data: { b: "2" },
});

beforeAll(async () => {
  // Everything at RequestResponse, so every body kube would keep is in the log.
  fs.writeFileSync(
    path.join(dir, "policy.yaml"),
    "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n- level: RequestResponse\n",
  );
  demo = spawn(
    process.execPath,
    [
      DEMO,
      "--port",
      "0",
      "--data-dir",
      dir,
      "--audit-log-path",
      LOG,
      "--audit-policy-file",
      path.join(dir, "policy.yaml"),
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not start: ${out}`)), 30_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes("export KUBECONFIG=")) {
        clearTimeout(timer);
        resolve();
      }
    };
    demo!.stdout!.on("data", onData);
    demo!.stderr!.on("data", onData);
    demo!.once("exit", (code) => reject(new Error(`demo exited ${code}: ${out}`)));
  });
  await kubectl(["create", "-f", "-"], CONFIGMAP);
  await kubectl([
    "patch",
    "configmap",
    "patched",
    "--type=json",
    "-p",
    '[{"op":"add","path":"/data/x","value":"y"}]',
  ]);
  await kubectl(["apply", "--server-side", "-f", "-"], APPLIED);
  await kubectl(["apply", "--server-side", "-f", "-"], APPLIED.replace('"2"', '"3"'));
  // SIGTERM drains and flushes the log before the process exits.
  const exited = new Promise((r) => demo!.once("exit", r));
  demo.kill("SIGTERM");
  await exited;
}, 90_000);

afterAll(() => {
  if (demo && demo.exitCode === null) demo.kill("SIGKILL");
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("the demo's log after kubectl patch --type=json and apply --server-side", () => {
  const events = () =>
    fs
      .readFileSync(LOG, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Event);

  it("holds the JSON patch as the array it is, and the server-side applies", () => {
    const patch = events().find((e) => e.verb === "patch" && Array.isArray(e.requestObject));
    expect(patch?.requestObject).toEqual([{ op: "add", path: "/data/x", value: "y" }]);
    expect(patch?.responseStatus?.code).toBe(200);
    const applies = events().filter(
      (e) =>
        e.verb === "patch" && e.objectRef?.name === "applied" && e.stage === "ResponseComplete",
    );
    expect(applies.length).toBe(2);
    expect(applies.every((e) => e.requestURI.includes("fieldManager=kubectl"))).toBe(true);
  });

  it("kaudit validate accepts every event", async () => {
    const r = await kaudit(["validate", LOG]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(`${LOG}: valid (${events().length} events)\n`);
    expect(r.code).toBe(0);
  });

  it("kaudit analyze counts every request, the patches included", async () => {
    const r = await kaudit(["analyze", "--json", LOG]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    const all = events();
    const final = all.filter((e) => e.stage === "ResponseComplete" || e.stage === "Panic");
    expect(report.problems).toBe(0);
    expect(report.events).toBe(all.length);
    expect(report.requests).toBe(final.length);
    const patches = final.filter((e) => e.verb === "patch").length;
    expect(patches).toBe(3);
    expect(report.top.verbs).toContainEqual({ verb: "patch", count: patches });
  });
});
