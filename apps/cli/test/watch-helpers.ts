import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { BIN } from "./helpers";

/** The writer child (see watch-writer.mjs). */
export const WRITER = fileURLToPath(new URL("./watch-writer.mjs", import.meta.url));

/** A running `kaudit watch`. */
export interface WatchProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when stderr has a line matching `re` (or rejects after `ms`). */
  waitFor(re: RegExp, ms?: number): Promise<void>;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `node bin/kaudit.js watch ...args`. */
export function startWatch(args: string[], cwd?: string): WatchProcess {
  const child = spawn(process.execPath, [BIN, "watch", ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  const waiters: Array<{ re: RegExp; resolve: () => void }> = [];
  child.stdout!.on("data", (b: Buffer) => {
    out += b.toString("utf8");
  });
  child.stderr!.on("data", (b: Buffer) => {
    err += b.toString("utf8");
    for (const w of [...waiters]) {
      if (w.re.test(err)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    waitFor(re, ms = 20_000) {
      if (re.test(err)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const t = setTimeout(
          () => reject(new Error(`no ${re} on stderr within ${ms} ms:\n${err}`)),
          ms,
        );
        const w = {
          re,
          resolve: () => {
            clearTimeout(t);
            resolve();
          },
        };
        waiters.push(w);
        void exited.then((code) => {
          if (waiters.includes(w)) {
            clearTimeout(t);
            reject(new Error(`kaudit watch exited (${code}) before ${re}:\n${err}`));
          }
        });
      });
    },
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const t = setTimeout(() => child.kill("SIGKILL"), 20_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

/** Runs the writer child to its end; resolves with what it printed, rejects on failure. */
export function runWriter(args: string[]): Promise<{ written: number; errors: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (b: Buffer) => {
      out += b.toString("utf8");
    });
    child.stderr.on("data", (b: Buffer) => {
      err += b.toString("utf8");
    });
    child.on("exit", (code) => {
      try {
        const r = JSON.parse(out.trim().split("\n").at(-1) ?? "{}");
        if (code === 0) resolve(r);
        else reject(new Error(`writer ${args[0]} exited ${code}: ${out}${err}`));
      } catch {
        reject(new Error(`writer ${args[0]} exited ${code}: ${out}${err}`));
      }
    });
  });
}

/** A minimal audit.k8s.io/v1 event finished `latencyMs` after it was received, ending now. */
export function auditEvent(
  id: string,
  over: Record<string, unknown> & { latencyMs?: number } = {},
): Record<string, unknown> {
  const { latencyMs = 4, ...rest } = over;
  const end = Date.now();
  return {
    kind: "Event",
    apiVersion: "audit.k8s.io/v1",
    level: "Metadata",
    auditID: id,
    stage: "ResponseComplete",
    requestURI: "/api/v1/namespaces/kube-system/pods?limit=500",
    verb: "list",
    user: { username: "system:kube-scheduler", groups: ["system:authenticated"] },
    sourceIPs: ["10.0.0.2"],
    userAgent: "kube-scheduler/v1.31.0",
    objectRef: { resource: "pods", namespace: "kube-system", apiVersion: "v1" },
    responseStatus: { metadata: {}, code: 200 },
    requestReceivedTimestamp: new Date(end - latencyMs).toISOString(),
    stageTimestamp: new Date(end).toISOString(),
    ...rest,
  };
}
