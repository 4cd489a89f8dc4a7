import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WatchAlert } from "./alert";
import { createJsonLinesOutput } from "./json-lines-output";
import type { OutputDrop } from "./output";

const alert = (i: number): WatchAlert => ({
  time: "2026-12-01T10:00:00Z",
  rule: "r",
  priority: "Notice",
  source: "k8s_audit",
  output: `line ${i}`,
  output_fields: { "ka.verb": "get" },
  tags: [],
});

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "kaudit-jl-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("JSON lines output", () => {
  it("appends one JSON alert per line to a 0600 file", async () => {
    const path = join(dir, "alerts.jsonl");
    for (const round of [0, 1]) {
      const out = createJsonLinesOutput({ path });
      for (let i = 0; i < 3; i++) out.send(alert(round * 3 + i));
      await out.close();
      expect(out.stats()).toMatchObject({ sent: 3, dropped: 0 });
    }
    const lines = (await readFile(path, "utf8")).trimEnd().split("\n");
    expect(lines.map((l) => JSON.parse(l).output)).toEqual(
      [0, 1, 2, 3, 4, 5].map((i) => `line ${i}`),
    );
    expect(JSON.parse(lines[0]!)).toEqual(alert(0));
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it("a reader that stops reading: bounded buffer, then counted drops", async () => {
    const stuck = new Writable({ highWaterMark: 16, write() {} }); // never calls back
    const out = createJsonLinesOutput({ stream: stuck, maxBufferBytes: 1000 });
    const drops: OutputDrop[] = [];
    out.on("drop", (d: OutputDrop) => drops.push(d));
    for (let i = 0; i < 100; i++) out.send(alert(i));
    const written = 100 - drops.length;
    expect(drops.every((d) => d.reason === "queue-full")).toBe(true);
    expect(written).toBeGreaterThan(0);
    expect(written * JSON.stringify(alert(10)).length).toBeLessThan(1000 + 300);
    await out.close(50); // does not hang on a stuck stream
  });

  it("a write error (EPIPE) stops the output and counts later alerts as write-error", async () => {
    const broken = new Writable({
      write(_chunk, _enc, cb) {
        cb(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
      },
    });
    const out = createJsonLinesOutput({ stream: broken });
    const drops: OutputDrop[] = [];
    const failures: unknown[] = [];
    out.on("drop", (d: OutputDrop) => drops.push(d));
    out.on("failure", (f) => failures.push(f));
    out.send(alert(1));
    await new Promise((r) => setImmediate(r));
    out.send(alert(2));
    expect(failures).toHaveLength(1);
    expect(drops.map((d) => d.reason)).toEqual(["write-error", "write-error"]);
    await out.close();
  });
});
