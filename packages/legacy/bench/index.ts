/**
 * @kaudit/legacy benchmarks (run with `pnpm bench` in packages/legacy).
 *
 * 1. Throughput, legacy text → JSON lines, in MB/s of legacy input, racing in this process:
 *    - baseline: split the same input into lines and JSON.stringify pre-built events of the
 *      same shape (the least any converter must do);
 *    - legacyToEvents(splitLines(chunks)) + JSON.stringify (the streaming path, per event);
 *    - legacyToEventBatches(splitLines(chunks)) + JSON.stringify (the same, results in arrays);
 *    - LegacyConverter (the synchronous core) on pre-split lines + JSON.stringify.
 * 2. Peak RSS converting a generated large file in a child process (LEGACY_BENCH_MB, default
 *    1024 MB; 0 skips it).
 */
import { spawnSync } from "node:child_process";
import { createWriteStream, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Event } from "@kaudit/api";
import { Bench } from "tinybench";
import {
  type LegacyConversionResult,
  LegacyConverter,
  legacyToEventBatches,
  legacyToEvents,
  splitLines,
} from "../src/index";
import { makeLines } from "./input";

const LINES = 20_000;
const input = Buffer.from(`${makeLines(LINES).join("\n")}\n`);
const MB = input.length / 1e6;

function* chunks(buf: Buffer, size = 64 * 1024) {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

// Pre-built events of the same shape for the baseline (converted once, outside the timing).
const prebuilt: Event[] = [];
for await (const r of legacyToEvents(splitLines(chunks(input)))) {
  if ("error" in r) throw new Error(`bench input line ${r.error.line}: ${r.error.message}`);
  prebuilt.push(r.event);
}

let sink = 0;

/**
 * Times a task by this process's CPU time (all threads, GC included) instead of wall time:
 * on a shared machine, other processes' load changes wall time far more than CPU time.
 */
function cpuTimed(fn: () => unknown): () => Promise<{ overriddenDuration: number }> {
  return async () => {
    const before = process.cpuUsage();
    await fn();
    const used = process.cpuUsage(before);
    return { overriddenDuration: (used.user + used.system) / 1000 };
  };
}
const makeBench = () =>
  new Bench({ time: 800, warmupTime: 300, iterations: 4, warmupIterations: 2 })
    .add(
      "baseline: split lines + JSON.stringify pre-built events",
      cpuTimed(() => {
        const lines = input.toString("utf8").split("\n");
        let bytes = 0;
        let n = 0;
        for (let i = 0; i < lines.length; i++) if (lines[i] !== "") n++;
        for (let i = 0; i < prebuilt.length; i++) bytes += JSON.stringify(prebuilt[i]).length + 1;
        sink += bytes + n;
      }),
    )
    .add(
      "legacyToEvents(splitLines(stream)) + JSON.stringify",
      cpuTimed(async () => {
        let bytes = 0;
        for await (const r of legacyToEvents(splitLines(chunks(input)))) {
          if ("event" in r) bytes += JSON.stringify(r.event).length + 1;
        }
        sink += bytes;
      }),
    )
    .add(
      "legacyToEventBatches(splitLines(stream)) + JSON.stringify",
      cpuTimed(async () => {
        let bytes = 0;
        for await (const batch of legacyToEventBatches(splitLines(chunks(input)))) {
          for (const r of batch) if ("event" in r) bytes += JSON.stringify(r.event).length + 1;
        }
        sink += bytes;
      }),
    )
    .add(
      "LegacyConverter (sync core) + JSON.stringify",
      cpuTimed(() => {
        const lines = input.toString("utf8").split("\n");
        const conv = new LegacyConverter();
        const out: LegacyConversionResult[] = [];
        let bytes = 0;
        const drain = () => {
          for (const r of out) if ("event" in r) bytes += JSON.stringify(r.event).length + 1;
          out.length = 0;
        };
        for (const l of lines) {
          conv.push(l, out);
          drain();
        }
        conv.end(out);
        drain();
        sink += bytes;
      }),
    );

console.log(`input: ${LINES} lines, ${MB.toFixed(1)} MB, ${prebuilt.length} events`);
// The machine is shared: tasks are timed by CPU time (cpuTimed), in several short rounds, and
// each task's median is reported.
const ROUNDS = Number(process.env.LEGACY_BENCH_ROUNDS ?? 5);
const perTask = new Map<string, { bestMs: number; ratio: number[] }>();
for (let round = 0; round < ROUNDS; round++) {
  const bench = makeBench();
  await bench.run();
  let baseMean = 0;
  for (const t of bench.tasks) {
    const r = t.result;
    if (r.state !== "completed") throw new Error(`${t.name}: ${r.state}`);
    if (baseMean === 0) baseMean = r.latency.mean;
    const entry = perTask.get(t.name) ?? { bestMs: Number.POSITIVE_INFINITY, ratio: [] };
    entry.bestMs = Math.min(entry.bestMs, r.latency.min);
    entry.ratio.push(baseMean / r.latency.mean);
    perTask.set(t.name, entry);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const baseBest = [...perTask.values()][0]?.bestMs ?? 1;
if (ROUNDS > 0) {
  console.table(
    [...perTask].map(([task, e]) => ({
      task,
      "MB/s (best)": (MB / (e.bestMs / 1000)).toFixed(1),
      "× baseline (best)": (baseBest / e.bestMs).toFixed(2),
      "× baseline (median of rounds)": median(e.ratio).toFixed(2),
      "(min–max)": `${Math.min(...e.ratio).toFixed(2)}–${Math.max(...e.ratio).toFixed(2)}`,
    })),
  );
}
if (ROUNDS > 0 && sink === 0) console.log("(unused)");

const bigMb = Number(process.env.LEGACY_BENCH_MB ?? 1024);
if (bigMb > 0) {
  const dir = mkdtempSync(join(tmpdir(), "kaudit-legacy-bench-"));
  try {
    const file = join(dir, "big.log");
    const block = Buffer.from(`${makeLines(10_000, "blk").join("\n")}\n`);
    const out = createWriteStream(file);
    const target = bigMb * 1024 * 1024;
    for (let written = 0; written < target; written += block.length) {
      if (!out.write(block)) await new Promise<void>((r) => out.once("drain", () => r()));
    }
    await new Promise<void>((resolve, reject) =>
      out.end((e?: Error | null) => (e ? reject(e) : resolve())),
    );
    const size = statSync(file).size;
    const child = fileURLToPath(new URL("./rss-child.mjs", import.meta.url));
    // Like a CLI: plain node on the built package when there is one (`pnpm build`), else tsx on src.
    const dist = fileURLToPath(new URL("../dist/index.js", import.meta.url));
    const src = fileURLToPath(new URL("../src/index.ts", import.meta.url));
    const useDist = existsSync(dist);
    const runChild = (...args: string[]) => {
      const argv = useDist
        ? [child, file, dist, ...args]
        : ["--import", "tsx", child, file, src, ...args];
      const res = spawnSync(process.execPath, argv, { encoding: "utf8" });
      if (res.status !== 0) throw new Error(`rss child failed: ${res.stderr}`);
      return JSON.parse(res.stdout.trim().split("\n").pop()!) as {
        maxRssBytes: number;
        events: number;
        errors: number;
        bytesOut: number;
        ms: number;
      };
    };
    const idle = runChild("--idle");
    const full = runChild();
    console.log(
      `peak RSS converting ${(size / 1e6).toFixed(0)} MB (${full.events} events, ${full.errors} errors, ${(full.bytesOut / 1e6).toFixed(0)} MB JSON) in ${(full.ms / 1000).toFixed(1)} s ` +
        `(${(size / 1e6 / (full.ms / 1000)).toFixed(1)} MB/s): ${(full.maxRssBytes / 2 ** 20).toFixed(1)} MiB; the same process with the module loaded and idle: ${(idle.maxRssBytes / 2 ** 20).toFixed(1)} MiB (${useDist ? "node on dist/" : "node + tsx on src/"})`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
