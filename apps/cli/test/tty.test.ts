import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BIN, FIX } from "./helpers";

// util-linux `script` gives the child a pseudo-terminal, the only way to see TTY-only output.
const SCRIPT = ["/usr/bin/script", "/bin/script"].find((p) => existsSync(p));

function onTTY(args: string, env: NodeJS.ProcessEnv): string {
  const r = spawnSync(SCRIPT!, ["-qec", `"${process.execPath}" "${BIN}" ${args}`, "/dev/null"], {
    cwd: FIX,
    env,
    encoding: "utf8",
    timeout: 30_000,
  });
  expect(r.status).toBe(0);
  return r.stdout;
}

describe.skipIf(!SCRIPT)("on a terminal", () => {
  const { NO_COLOR: _drop, ...env } = process.env;

  it("draws a progress bar, erases it, and colours the tables", () => {
    const out = onTTY("analyze --top 1 rbac-tool-auditgen-01.v1.jsonl", { ...env, TERM: "xterm" });
    expect(out).toMatch(/^\ranalyzing \[#{30}\] 100% 3\.51 kB\/3\.51 kB\x1b\[K\r\x1b\[K/);
    expect(out).toContain("\x1b[1m3 events\x1b[22m");
  });

  it("with stdout redirected, the bar stays on the terminal (stderr) and the data is plain", () => {
    const dir = mkdtempSync(join(tmpdir(), "kaudit-tty-"));
    try {
      const file = join(dir, "out.txt");
      const tty = onTTY(`analyze --top 1 rbac-tool-auditgen-01.v1.jsonl > "${file}"`, {
        ...env,
        TERM: "xterm",
      });
      expect(tty).toMatch(/^\ranalyzing \[#{30}\] 100%/);
      expect(tty).not.toContain("events");
      const data = readFileSync(file, "utf8");
      expect(data.startsWith("3 events, 3 requests")).toBe(true);
      expect(data).not.toContain("\x1b");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("NO_COLOR turns colours off but keeps the progress bar", () => {
    const out = onTTY("analyze --top 1 rbac-tool-auditgen-01.v1.jsonl", {
      ...env,
      TERM: "xterm",
      NO_COLOR: "1",
    });
    expect(out).toContain("\ranalyzing [");
    expect(out).not.toContain("\x1b[1m");
    expect(out).toContain("3 events, 3 requests");
  });
});
