import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Event } from "@kaudit/api";
import { type Receiver, startReceiver } from "../src/receiver";
import { type DemoServer, startDemoServer } from "../src/server";

export const FIXTURES = fileURLToPath(new URL("./__fixtures__/", import.meta.url));

/** A server plus webhook receiver in a temp dir. */
export interface Stack {
  dir: string;
  server: DemoServer;
  receiver: Receiver | undefined;
  adminToken: string;
  developerToken: string;
  kubectl(
    args: string[],
    opts?: { token?: string },
  ): Promise<{ code: number; stdout: string; stderr: string }>;
  auditLog(): Event[];
  webhookEvents(): Event[];
  stop(): Promise<void>;
}

export async function startStack(
  opts: { flags?: Record<string, string | number | boolean>; webhook?: boolean } = {},
): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), "kaudit-demo-test-"));
  const receiver = opts.webhook
    ? await startReceiver({ out: join(dir, "webhook.jsonl"), dataDir: join(dir, "receiver") })
    : undefined;
  const server = await startDemoServer({
    flags: {
      port: 0,
      "data-dir": join(dir, "data"),
      "authorization-policy-file": join(FIXTURES, "abac.jsonl"),
      ...(receiver
        ? {
            "audit-webhook-config-file": receiver.kubeconfigFile,
            "audit-webhook-batch-max-wait": "100ms",
          }
        : {}),
      ...opts.flags,
    },
    logFollowIntervalMs: 100,
  });
  const rows = readFileSync(server.files.tokenFile, "utf8").trim().split("\n");
  const tokenOf = (user: string) => rows.find((r) => r.split(",")[1] === user)?.split(",")[0] ?? "";
  let stopped = false;
  const stack: Stack = {
    dir,
    server,
    receiver,
    adminToken: tokenOf("admin"),
    developerToken: tokenOf("developer"),
    kubectl: (args, o = {}) =>
      new Promise((resolve) => {
        const extra = o.token ? [`--token=${o.token}`] : [];
        execFile(
          "kubectl",
          ["--cache-dir", join(dir, "kube-cache"), ...extra, ...args],
          {
            env: { ...process.env, KUBECONFIG: server.files.kubeconfigFile, HOME: dir },
            timeout: 20_000,
          },
          (err, stdout, stderr) => {
            const code = err ? ((err as { code?: number }).code ?? 1) : 0;
            resolve({ code: typeof code === "number" ? code : 1, stdout, stderr });
          },
        );
      }),
    auditLog: () => readJSONLines(server.auditLogPath),
    webhookEvents: () => (receiver ? readJSONLines(receiver.outFile) : []),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await server.shutdown();
      await receiver?.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return stack;
}

export function readJSONLines(path: string): Event[] {
  let text = "";
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return [];
  }
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Event);
}

/** Events of the requests matching `pred`, grouped by audit ID, in log order. */
export function requests(events: Event[], pred: (e: Event) => boolean): Event[][] {
  const groups = new Map<string, Event[]>();
  for (const e of events) {
    if (!groups.has(e.auditID)) groups.set(e.auditID, []);
    (groups.get(e.auditID) as Event[]).push(e);
  }
  return [...groups.values()].filter((g) => g.some(pred));
}

/** A raw HTTPS request to the server, trusting its certificate. */
export function call(
  server: DemoServer,
  method: string,
  path: string,
  opts: {
    token?: string;
    body?: string | Buffer;
    contentType?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string; raw: Buffer }> {
  const ca = readFileSync(server.files.certFile);
  return new Promise((resolve, reject) => {
    const req = request(
      `${server.url}${path}`,
      {
        method,
        ca,
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
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString("utf8"),
            raw: Buffer.concat(chunks),
          }),
        );
      },
    );
    req.on("error", reject);
    if (opts.body !== undefined) req.end(opts.body);
    else req.end();
  });
}

/** Starts `kubectl` in the background; resolves its output after it is stopped with SIGINT. */
export function kubectlBackground(stack: Stack, args: string[]) {
  const child = spawn("kubectl", ["--cache-dir", join(stack.dir, "kube-cache"), ...args], {
    env: { ...process.env, KUBECONFIG: stack.server.files.kubeconfigFile, HOME: stack.dir },
  });
  let stdout = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stdout += c.toString()));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  return {
    /** What it has printed so far. */
    output: () => stdout,
    stop: async () => {
      child.kill("SIGINT");
      await exited;
      return stdout;
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `fn` returns a truthy value or the time is up. */
export async function eventually<T>(fn: () => T, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v || Date.now() > end) return v;
    await sleep(50);
  }
}
