// `pnpm demo` as the root README.md and apps/demo-server/README.md start it, stopped as they say
// (a SIGTERM to the process the user started): the server must drain, flush its log and exit,
// leaving no orphan behind and the port free (issue 16 item 6).
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kaudit-pnpm-demo-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

it("SIGTERM to `pnpm demo` drains and stops the server (no orphan, port free)", async () => {
  const pnpm = spawn(
    "pnpm",
    ["demo", "--port", "0", "--data-dir", dir, "--audit-log-path", path.join(dir, "audit.log")],
    {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  pnpm.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  pnpm.stderr.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((r) => pnpm.on("exit", (code) => r(code)));
  const deadline = Date.now() + 150_000; // `pnpm demo` builds first (cache hits in CI)
  while (!out.includes("export KUBECONFIG=") && Date.now() < deadline) {
    if (pnpm.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const url = /serving on https:\/\/127\.0\.0\.1:(\d+)/.exec(out);
  expect(url, out).not.toBeNull();
  const port = Number(url![1]);
  // One audited request, so there is something to flush.
  const kubeconfig = path.join(dir, "kubeconfig");
  expect(
    execFileSync("kubectl", ["--kubeconfig", kubeconfig, "get", "ns", "-o", "name"], {
      encoding: "utf8",
    }),
  ).toContain("namespace/default");

  pnpm.kill("SIGTERM");
  const code = await exited;
  // The server is pnpm's child; give its exit a moment to be visible after pnpm's.
  const serverPid = Number(
    fs
      .readdirSync("/proc")
      .filter((p) => /^\d+$/.test(p))
      .find((p) => {
        try {
          return fs.readFileSync(`/proc/${p}/cmdline`, "utf8").includes(dir);
        } catch {
          return false;
        }
      }) ?? 0,
  );
  const until = Date.now() + 20_000;
  while (serverPid && alive(serverPid) && Date.now() < until)
    await new Promise((r) => setTimeout(r, 100));
  expect(serverPid && alive(serverPid), `kaudit-demo (pid ${serverPid}) outlived pnpm`).toBeFalsy();
  expect(out).toContain(
    "kaudit-demo: SIGTERM: draining in-flight requests and flushing audit sinks",
  );
  expect(out).toContain("kaudit-demo: stopped");
  expect(out).not.toContain("ELIFECYCLE");
  expect(code).toBe(0);
  // The port is free again: the next `pnpm demo` would not fail with EADDRINUSE.
  await new Promise<void>((resolve, reject) => {
    const s = net.createServer().once("error", reject);
    s.listen(port, "127.0.0.1", () => s.close(() => resolve()));
  });
  const log = fs.readFileSync(path.join(dir, "audit.log"), "utf8");
  expect(log).toContain('"requestURI":"/api/v1/namespaces?limit=500"');
}, 200_000);
