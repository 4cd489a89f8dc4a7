import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kaudit-kill-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs the writer until it has acknowledged `want` events, then SIGKILLs it; returns the acked IDs. */
function runAndKill(file: string, run: number, want: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", path.join(__dirname, "testing", "log-writer.ts"), file, String(run)],
      {
        cwd: path.resolve(__dirname, ".."),
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    let err = "";
    let killed = false;
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (!killed && out.split("\n").length > want) {
        killed = true;
        child.kill("SIGKILL");
      }
    });
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.on("error", reject);
    child.on("exit", (_code, signal) => {
      if (signal !== "SIGKILL")
        return reject(new Error(`writer exited without being killed: ${err}`));
      // The last ack line may be cut by the kill: only whole lines count as acknowledged.
      resolve(out.split("\n").slice(0, -1));
    });
  });
}

const KILLS = 20;

describe("log sink under SIGKILL", () => {
  it("leaves only whole JSON lines and every fsync-acknowledged event, across 20 kills with rotation", async () => {
    const file = path.join(dir, "audit.log");
    const acked: string[] = [];
    // Kill points spread out so the kills land at different places in the file and its rotations.
    for (let run = 0; run < KILLS; run++)
      acked.push(...(await runAndKill(file, run, 500 + ((run * 373) % 1100))));
    const present = new Set<string>();
    let lines = 0;
    for (const f of fs.readdirSync(dir)) {
      const text = fs.readFileSync(path.join(dir, f), "utf8");
      if (text !== "") expect(text.endsWith("\n"), `${f} ends in a torn line`).toBe(true);
      for (const l of text.split("\n").filter(Boolean)) {
        present.add((JSON.parse(l) as { auditID: string }).auditID);
        lines++;
      }
    }
    expect(fs.readdirSync(dir).length).toBeGreaterThan(1); // it did rotate
    expect(acked.length).toBeGreaterThan(KILLS * 500);
    expect(acked.filter((id) => !present.has(id))).toEqual([]);
    expect(lines).toBe(present.size);
  }, 180_000);
});
