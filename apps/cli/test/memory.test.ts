import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateLog } from "./generate-log";
import { kaudit } from "./helpers";

/** Prints the child's peak RSS (bytes) on stderr as it exits. */
const RSS_REPORTER = `data:text/javascript,${encodeURIComponent(
  'import { writeSync } from "node:fs"; process.on("exit", () => writeSync(2, "\\nmaxrss=" + process.resourceUsage().maxRSS * 1024 + "\\n"));',
)}`;

const SIZE = 250e6;
/** A run that held the log in memory would need more than the file; we allow a fixed budget. */
const RSS_BUDGET = 200 * 1024 * 1024;

function maxRss(stderr: string): number {
  const m = /maxrss=(\d+)/.exec(stderr);
  if (!m) throw new Error(`no maxrss in stderr: ${stderr.slice(-500)}`);
  return Number(m[1]);
}

let dir: string;
let log: string;
let events: number;

describe("constant memory on a 250 MB log (and its gzip)", () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "kaudit-mem-"));
    log = join(dir, "big.jsonl");
    events = await generateLog(log, SIZE);
    await pipeline(createReadStream(log), createGzip({ level: 1 }), createWriteStream(`${log}.gz`));
  }, 60_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("analyze streams it, and its gzip'd copy after it", async () => {
    const r = await kaudit(["analyze", "--json", log, `${log}.gz`], {
      nodeArgs: ["--import", RSS_REPORTER],
    });
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as {
      events: number;
      latency: { timed: number; annotations: unknown[]; longRunning: { count: number } };
    };
    expect(report.events).toBe(2 * events);
    // Watches are timed apart (kube's long-running rule); every request is timed once.
    expect(report.latency.longRunning.count).toBeGreaterThan(0);
    expect(report.latency.timed + report.latency.longRunning.count).toBe(2 * events);
    expect(report.latency.annotations.length).toBe(2);
    const rss = maxRss(r.stderr);
    expect(rss).toBeLessThan(RSS_BUDGET);
  }, 120_000);

  it("report streams it into a page of bounded size", async () => {
    const out = join(dir, "big.html");
    const r = await kaudit(["report", log, "-o", out], { nodeArgs: ["--import", RSS_REPORTER] });
    expect(r.code, r.stderr).toBe(0);
    // ECharts (~1.1 MB) plus a bounded report: rows, buckets and top-N tables, never the events.
    expect((await stat(out)).size).toBeLessThan(4 * 1024 * 1024);
    expect(maxRss(r.stderr)).toBeLessThan(RSS_BUDGET);
  }, 120_000);

  it("convert --to legacy -o streams it, in the main thread and on worker threads", async () => {
    const out = join(dir, "big.legacy");
    const one = await kaudit(["convert", "--jobs", "1", "--to", "legacy", log, "-o", out], {
      nodeArgs: ["--import", RSS_REPORTER],
    });
    expect(one.code).toBe(0);
    expect((await stat(out)).size).toBeGreaterThan(events * 200);
    expect(maxRss(one.stderr)).toBeLessThan(RSS_BUDGET);
    // Each worker thread has a heap of its own (its young generation alone is up to 32 MB:
    // convert-pool.ts), so --jobs 2 gets 60 MB more per worker; bounded all the same.
    const two = await kaudit(["convert", "--jobs", "2", "--to", "legacy", log, "-o", out], {
      nodeArgs: ["--import", RSS_REPORTER],
    });
    expect(two.code).toBe(0);
    expect(maxRss(two.stderr)).toBeLessThan(RSS_BUDGET + 2 * 60 * 1024 * 1024);
  }, 90_000);
});
