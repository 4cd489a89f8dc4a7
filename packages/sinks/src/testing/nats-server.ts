import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Where Debian's nats-server lives (`.ci/run` installs it). */
export const NATS_SERVER = "/usr/sbin/nats-server";

/** A nats-server with JetStream on loopback, started by a test. */
export interface NatsServer {
  url: string;
  port: number;
  /** Its JetStream store (kept across {@link NatsServer.restart}). */
  storeDir: string;
  /** The running process's id (undefined while it is down), e.g. to read its CPU time. */
  pid(): number | undefined;
  /** kill -9, as a crash would. */
  kill(): Promise<void>;
  /** Starts it again on the same port and store. */
  restart(): Promise<void>;
  /** Stops it and removes its store. */
  stop(): Promise<void>;
}

/** A free loopback port (the kernel's pick). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts `nats-server -js` on 127.0.0.1. `extraArgs` adds flags (a cluster's `--cluster`,
 * `--routes`, `--server_name`); `storeDir` reuses a store.
 */
export async function startNatsServer(
  options: { port?: number; storeDir?: string; extraArgs?: string[] } = {},
): Promise<NatsServer> {
  const port = options.port ?? (await freePort());
  const storeDir = options.storeDir ?? mkdtempSync(join(tmpdir(), "kaudit-nats-"));
  let child: ChildProcess | undefined;
  const start = () =>
    new Promise<void>((resolve, reject) => {
      const c = spawn(
        NATS_SERVER,
        [
          "-js",
          "-a",
          "127.0.0.1",
          "-p",
          String(port),
          "-sd",
          storeDir,
          ...(options.extraArgs ?? []),
        ],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
      child = c;
      let log = "";
      const timer = setTimeout(() => {
        c.kill("SIGKILL");
        reject(new Error(`nats-server did not start in 10 s:\n${log.slice(-2000)}`));
      }, 10_000);
      c.stderr?.on("data", (b: Buffer) => {
        if (log.length < 100_000) log += b.toString();
        if (log.includes("Server is ready")) {
          clearTimeout(timer);
          resolve();
        }
      });
      c.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`nats-server exited with ${code}:\n${log.slice(-2000)}`));
      });
    });
  const kill = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise((r) => c.once("exit", r));
    c.kill("SIGKILL");
    await gone;
  };
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    pid: () =>
      child && child.exitCode === null && child.signalCode === null ? child.pid : undefined,
    kill,
    restart: async () => {
      await kill();
      await start();
    },
    stop: async () => {
      await kill();
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}
