import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The CLI entry point (needs `pnpm turbo run build --filter=kaudit...` first; turbo builds before tests in CI). */
export const BIN = fileURLToPath(new URL("../bin/kaudit.js", import.meta.url));
if (!existsSync(new URL("../dist/index.js", import.meta.url))) {
  throw new Error(
    "apps/cli/dist is missing: run `pnpm turbo run build --filter=kaudit...` before the end-to-end tests",
  );
}

/** The fixtures directory. */
export const FIX = fileURLToPath(new URL("./__fixtures__/", import.meta.url));

/** What a finished `kaudit` process left. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/kaudit.js ...args` as a child process, with optional stdin, and collects its output. */
export function kaudit(
  args: string[],
  options: {
    stdin?: string | Buffer;
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    nodeArgs?: string[];
  } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), BIN, ...args], {
      cwd: options.cwd ?? FIX,
      env: { ...process.env, NO_COLOR: "1", ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("close", (code) =>
      resolve({
        code,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      }),
    );
    child.stdin.on("error", () => {});
    child.stdin.end(options.stdin ?? "");
  });
}
