import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { type Agent, request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { eventually, readJSONLines } from "./helpers";

// KAUDIT_DEMO_BIN runs another build (to measure an older one against the same test)
const BIN =
  process.env.KAUDIT_DEMO_BIN ?? fileURLToPath(new URL("../bin/kaudit-demo.js", import.meta.url));

/** The response of a request made with {@link ChildServer.request}. */
export interface Reply {
  status: number;
  auditID: string;
  headers: Record<string, string | string[] | undefined>;
  /** The body (unless `discard` was asked: then "" and only `bytes`). */
  body: string;
  bytes: number;
  ms: number;
}

/** The built demo server in its own process, so that its memory can be read on its own. */
export interface ChildServer {
  url: string;
  pid: number;
  dir: string;
  adminToken: string;
  ca: Buffer;
  /** Resident and peak resident set size of the server process, in bytes (/proc status). */
  memory(): { rss: number; peak: number };
  request(
    method: string,
    path: string,
    opts?: {
      token?: string;
      body?: string | Buffer;
      contentType?: string;
      agent?: Agent;
      discard?: boolean;
      headers?: Record<string, string>;
    },
  ): Promise<Reply>;
  auditLog(): ReturnType<typeof readJSONLines>;
  /** SIGTERM (the server drains and flushes its log), then removes the directory. */
  stop(): Promise<number | null>;
}

/** Starts `kaudit-demo` (built dist) with the flags, in a temp dir; resolves once it serves. */
export async function startChildServer(flags: string[] = []): Promise<ChildServer> {
  const dir = mkdtempSync(join(tmpdir(), "kaudit-demo-child-"));
  const child: ChildProcess = spawn(process.execPath, [BIN, "--port", "0", ...flags], {
    cwd: dir,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr?.on("data", (c: Buffer) => (out += c.toString()));
  const exit = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  await eventually(() => /export KUBECONFIG=/.test(out) || child.exitCode !== null, 30_000);
  const url = /serving on (https:\/\/\S+)/.exec(out)?.[1];
  if (!url) throw new Error(`kaudit-demo did not start:\n${out}`);
  const kubeconfig = /export KUBECONFIG=(\S+)/.exec(out)?.[1] ?? "";
  const adminToken = /token: (\S+)/.exec(readFileSync(kubeconfig, "utf8"))?.[1] ?? "";
  const ca = readFileSync(join(dir, ".kaudit", "apiserver.crt"));
  const pid = child.pid as number;
  const status = (field: string) => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(
      readFileSync(`/proc/${pid}/status`, "utf8"),
    );
    return Number(m?.[1] ?? 0) * 1024;
  };
  return {
    url,
    pid,
    dir,
    adminToken,
    ca,
    memory: () => ({ rss: status("VmRSS"), peak: status("VmHWM") }),
    request: (method, path, opts = {}) =>
      new Promise((resolve, reject) => {
        const start = performance.now();
        const req = request(
          `${url}${path}`,
          {
            method,
            ca,
            agent: opts.agent,
            headers: {
              ...(opts.token ? { Authorization: `Bearer ${opts.token}` } : {}),
              ...(opts.body !== undefined
                ? { "Content-Type": opts.contentType ?? "application/json" }
                : {}),
              ...opts.headers,
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            let bytes = 0;
            res.on("data", (c: Buffer) => {
              bytes += c.length;
              if (!opts.discard) chunks.push(c);
            });
            res.on("end", () =>
              resolve({
                status: res.statusCode ?? 0,
                auditID: String(res.headers["audit-id"] ?? ""),
                headers: res.headers,
                body: Buffer.concat(chunks).toString("utf8"),
                bytes,
                ms: performance.now() - start,
              }),
            );
            res.on("error", reject);
          },
        );
        req.on("error", reject);
        req.end(opts.body);
      }),
    auditLog: () => readJSONLines(join(dir, ".kaudit", "audit.log")),
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      const code = await exit;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Removes what a child server left (its directory). */
export function removeChildServer(s: ChildServer | undefined): void {
  if (s) rmSync(s.dir, { recursive: true, force: true });
}
