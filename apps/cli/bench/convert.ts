/**
 * `kaudit convert --to json` end to end (a child process: node start-up, reading, parsing,
 * validation, upgrade, encodeEvent, the atomic -o file) against a floor that does the least a
 * converter could: read the file, split it into lines and JSON.stringify a pre-built event per
 * line into 64 KB writes (timed in-process, without node start-up or building the events).
 * Two inputs, 100,000 lines each by default: legacy lines, and old JSON versions (v1alpha1
 * Metadata and v1beta1 RequestResponse lines with pod bodies) to be upgraded to v1.
 * kaudit runs twice per round: `--jobs 1` (the main thread alone, like the floor) and the default
 * `--jobs` (worker threads: min(cores, 4)). Rounds alternate the contestants (BENCH_ROUNDS,
 * default 5); each ratio is floor / convert of the medians (wall time), with the range of the
 * per-round ratios. A second floor adds parsing (JSON.parse of each JSON line; taking each legacy
 * line's key="value" fields out). CPU time is measured too — the child's whole process (all its threads, from
 * process.resourceUsage() at its exit) and the floor's — and printed per line with its ratio:
 * the parallel run's wall-time ratio uses more than one core against a one-core floor, the CPU
 * ratio says what it costs. The load average is printed with them (the machine is shared).
 *
 *   pnpm --filter kaudit bench            # BENCH_LINES=20000 for a quick look
 */
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { decodeEvent } from "@kaudit/api";
import { formatLegacyLine } from "@kaudit/legacy";

const LINES = Number(process.env.BENCH_LINES ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const here = path.dirname(fileURLToPath(import.meta.url));
const fix = (name: string) =>
  fs.readFileSync(path.join(here, "../test/__fixtures__", name), "utf8");
const bin = path.join(here, "../bin/kaudit.js");
const lines = (text: string) => text.split("\n").filter(Boolean);

function repeatTo(unit: string[]): string {
  let out = "";
  for (let i = 0; i < LINES; i++) out += `${unit[i % unit.length]}\n`;
  return out;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kaudit-bench-convert-"));
const inputs = {
  // Legacy lines as kube-apiserver 1.6–1.10 wrote them, for the events of the audit2rbac demo.
  legacy: repeatTo(
    lines(fix("audit2rbac-demo.v1.jsonl")).map((l) => formatLegacyLine(decodeEvent(l))),
  ),
  "v1alpha1/v1beta1 JSON": repeatTo([
    ...lines(fix("v1alpha1.k8s-1.7-docs.jsonl")),
    ...lines(fix("create_nginx_pod_privileged.json")),
  ]),
};

/** Splits `file` into lines and writes `lineOf(line, n)` + newline per line in 64 KB writes. */
function splitAndWrite(
  file: string,
  out: string,
  lineOf: (line: string, n: number) => string,
): number {
  const t0 = performance.now();
  const split = fs.readFileSync(file, "utf8").split("\n");
  const fd = fs.openSync(out, "w");
  let chunk = "";
  let n = 0;
  for (const l of split) {
    if (!l) continue;
    chunk += `${lineOf(l, n++)}\n`;
    if (chunk.length >= 65536) {
      fs.writeSync(fd, chunk);
      chunk = "";
    }
  }
  fs.writeSync(fd, chunk);
  fs.closeSync(fd);
  return performance.now() - t0;
}

/** The floor: a pre-built event per line, stringified. */
function floor(file: string, events: unknown[], out: string): number {
  return splitAndWrite(file, out, (_, n) => JSON.stringify(events[n % events.length]));
}

/**
 * For JSON input, a second floor: what any converter of JSON lines must at least do — split,
 * JSON.parse each line, JSON.stringify it into 64 KB writes (no validation, no upgrade, not kube's
 * bytes). The floor above starts from events already built, so parsing is all ours.
 */
function parsingFloor(file: string, out: string): number {
  return splitAndWrite(file, out, (l) => JSON.stringify(JSON.parse(l)));
}

/**
 * For legacy lines, the same idea: split, take each `key="value"` field out of the line (a Go
 * %q value, escapes kept as written) and JSON.stringify the pre-built event — the least a
 * converter of legacy lines must do (no unquoting, no RequestInfo, no validation, not kube's bytes).
 */
const LEGACY_FIELD = /([a-z-]+)="((?:[^"\\]|\\.)*)"/g;
let fieldChars = 0;
function fieldsFloor(file: string, events: unknown[], out: string): number {
  return splitAndWrite(file, out, (l, n) => {
    for (const m of l.matchAll(LEGACY_FIELD)) fieldChars += (m[2] as string).length;
    return JSON.stringify(events[n % events.length]);
  });
}

/** Writes the process's CPU time (µs, all threads) to fd 3 as it exits. */
const CPU_REPORTER = `data:text/javascript,${encodeURIComponent(
  'import { writeSync } from "node:fs"; process.on("exit", () => { const u = process.resourceUsage(); writeSync(3, String(u.userCPUTime + u.systemCPUTime)); });',
)}`;

interface Timed {
  /** Wall time, ms. */
  ms: number;
  /** CPU time, ms (for kaudit: its whole process, worker threads included). */
  cpu: number;
}

function convert(file: string, out: string, jobs: string[]): Timed {
  fs.rmSync(out, { force: true });
  const t0 = performance.now();
  const r = spawnSync(
    process.execPath,
    ["--import", CPU_REPORTER, bin, "convert", ...jobs, "--to", "json", file, "-o", out],
    { stdio: ["ignore", "ignore", "inherit", "pipe"] },
  );
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`kaudit convert exited ${r.status}`);
  return { ms, cpu: Number(String(r.output[3])) / 1000 };
}

/**
 * Two `--jobs 1` conversions of `file` at once, as separate processes: wall time until both end.
 * Twice the lines in this time against one process's time is how much a second core adds here —
 * the most worker threads can give, whatever kaudit does.
 */
async function convertPair(file: string, out: string): Promise<number> {
  const t0 = performance.now();
  await Promise.all(
    [1, 2].map(
      (n) =>
        new Promise<void>((resolve, reject) => {
          const child = spawn(
            process.execPath,
            [bin, "convert", "--jobs", "1", "--to", "json", file, "-o", `${out}.${n}`],
            { stdio: ["ignore", "ignore", "inherit"] },
          );
          child.on("error", reject);
          child.on("exit", (code) =>
            code === 0 ? resolve() : reject(new Error(`kaudit convert exited ${code}`)),
          );
        }),
    ),
  );
  return performance.now() - t0;
}

/** Runs an in-process contestant, with its CPU time. */
function inProcess(run: () => number): Timed {
  const c0 = process.cpuUsage();
  const ms = run();
  const c = process.cpuUsage(c0);
  return { ms, cpu: (c.user + c.system) / 1000 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;
const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(" ");

const JOBS = Math.min(os.availableParallelism(), 4);
console.log(
  `load average at start: ${load()} (${os.cpus().length} cores); parallel = kaudit's default --jobs ${JOBS}`,
);

const us = (t: Timed[]) => (1000 * median(t.map((x) => x.cpu))) / LINES;

for (const [name, text] of Object.entries(inputs)) {
  const file = path.join(tmp, "in.log");
  fs.writeFileSync(file, text);
  const out = path.join(tmp, "out.jsonl");
  convert(file, out, ["--jobs", "1"]); // warm the file cache; its output gives the floor its events
  const events = lines(fs.readFileSync(out, "utf8")).map((l) => JSON.parse(l) as unknown);
  const one: Timed[] = [];
  const par: Timed[] = [];
  const base: Timed[] = [];
  const parsing: Timed[] = [];
  const pairs: number[] = [];
  const json = name.includes("JSON");
  const floorOut = path.join(tmp, "floor.jsonl");
  for (let i = 0; i < ROUNDS; i++) {
    base.push(inProcess(() => floor(file, events, floorOut)));
    one.push(convert(file, out, ["--jobs", "1"]));
    par.push(convert(file, out, []));
    parsing.push(
      inProcess(() => (json ? parsingFloor(file, floorOut) : fieldsFloor(file, events, floorOut))),
    );
    pairs.push(await convertPair(file, out));
  }
  const b = median(base.map((t) => t.ms));
  const row = (label: string, ts: Timed[]) => {
    const o = median(ts.map((t) => t.ms));
    const ratios = ts.map((t, i) => base[i]!.ms / t.ms).sort((x, y) => x - y);
    return `  ${label}: ${o.toFixed(0)} ms, ratio ${(b / o).toFixed(2)}× (rounds ${ratios[0]!.toFixed(2)}–${ratios[ratios.length - 1]!.toFixed(2)}); CPU ${us(ts).toFixed(1)} µs/line, CPU ratio ${(us(base) / us(ts)).toFixed(2)}×`;
  };
  console.log(
    `${name}, ${LINES} lines (${(text.length / 1e6).toFixed(1)} MB): split + stringify ${b.toFixed(0)} ms, CPU ${us(base).toFixed(1)} µs/line`,
  );
  console.log(row("kaudit convert --jobs 1 (single thread)", one));
  console.log(row(`kaudit convert (--jobs ${JOBS}: ${JOBS} workers + main thread)`, par));
  const o1 = median(one.map((t) => t.ms));
  console.log(
    `  two --jobs 1 processes at once: ${median(pairs).toFixed(0)} ms for twice the lines, ${((2 * o1) / median(pairs)).toFixed(2)}× one process's lines per second (what a second core adds on this machine)`,
  );
  console.log(`  load average ${load()}`);
  const pf = median(parsing.map((t) => t.ms));
  console.log(
    `  split + ${json ? "JSON.parse" : 'its key="value" fields'} + stringify ${pf.toFixed(0)} ms: kaudit convert --jobs 1 at ${(pf / o1).toFixed(2)}× of it (parsing alone takes the issue's floor from ${b.toFixed(0)} to ${pf.toFixed(0)} ms, ${(b / pf).toFixed(2)}×)`,
  );
}
if (fieldChars === 0) throw new Error("the legacy floor took no field out");
fs.rmSync(tmp, { recursive: true, force: true });
