/**
 * `kaudit watch` benchmarks (pnpm bench):
 * 1. Throughput: the same JSON-lines file through `kaudit watch --follow FILE --from start`
 *    (follow → Falco's 48 rules + kaudit's defaults → JSON-lines alerts) and through
 *    `kaudit detect --json` with the same rules; events/s of each (process start to last event
 *    read / to exit) and the ratio (target ≥ 0.8×).
 * 2. Latency: a writer appends 10,000 events/s to a followed log; 1 % of them fire a rule whose
 *    output carries the append time; p50/p99 from append to the alert line on kaudit's stdout
 *    (target p99 < 500 ms).
 * Events are built from the corpus (Falco's trace files, audit2rbac's demo log), each with its
 * own auditID and time. BENCH_EVENTS sets the throughput file's size (default 200,000).
 */
import { spawn } from "node:child_process";
import {
  closeSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { upgradeEvent } from "@kaudit/api";

const BIN = fileURLToPath(new URL("../bin/kaudit.js", import.meta.url));
const CORPUS = fileURLToPath(new URL("../../../../shared/corpus/", import.meta.url));
const FALCO_RULES = join(CORPUS, "falco/k8s_audit_rules.yaml");
const DEFAULT_RULES = fileURLToPath(
  new URL("../../../packages/rules/rules/kaudit-default.yaml", import.meta.url),
);
const N = Number(process.env.BENCH_EVENTS ?? 200_000);

function templates(): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const dirT = join(CORPUS, "events/falco-trace-files");
  for (const f of readdirSync(dirT)) {
    for (const line of readFileSync(join(dirT, f), "utf8").split("\n")) {
      if (!line.trim()) continue;
      try {
        const v = JSON.parse(line);
        if (v && typeof v === "object" && v.stageTimestamp) out.push(upgradeEvent(v) as never);
      } catch {
        // a multi-line document or the invalid fuzz fixture: not a template
      }
    }
  }
  for (const line of readFileSync(join(CORPUS, "events/audit2rbac-demo.v1.jsonl"), "utf8").split(
    "\n",
  )) {
    if (line.trim()) out.push(upgradeEvent(JSON.parse(line)) as never);
  }
  return out;
}

function buildFile(path: string, n: number): void {
  const t = templates();
  const base = Date.now() - n;
  const fd = openSync(path, "w");
  let chunk = "";
  for (let i = 0; i < n; i++) {
    const time = new Date(base + i).toISOString();
    const e = {
      ...t[i % t.length]!,
      auditID: `bench-${i}`,
      requestReceivedTimestamp: time,
      stageTimestamp: time,
    };
    chunk += `${JSON.stringify(e)}\n`;
    if (chunk.length > 1 << 20) {
      writeSync(fd, chunk);
      chunk = "";
    }
  }
  writeSync(fd, chunk);
  closeSync(fd);
}

function run(args: string[], until?: (stderr: string) => boolean) {
  return new Promise<{ ms: number; stdout: string; stderr: string; code: number | null }>(
    (resolve) => {
      const t0 = performance.now();
      const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      let ms = 0;
      child.stdout.on("data", (b: Buffer) => {
        stdout += b.toString("utf8");
        if (stdout.length > 1 << 20) stdout = stdout.slice(-4096);
      });
      child.stderr.on("data", (b: Buffer) => {
        stderr += b.toString("utf8");
      });
      child.on("exit", (code) =>
        resolve({ ms: ms || performance.now() - t0, stdout, stderr, code }),
      );
      if (until) {
        const poll = setInterval(() => {
          if (until(stderr)) {
            ms = performance.now() - t0;
            clearInterval(poll);
            child.kill("SIGTERM");
          }
        }, 5);
      }
    },
  );
}

async function metricsRead(url: string): Promise<number> {
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    let n = 0;
    for (const l of text.split("\n"))
      if (l.startsWith("kaudit_events_read_total{")) n += Number(l.split(" ").at(-1));
    return n;
  } catch {
    return 0;
  }
}

async function throughput(dir: string) {
  const file = join(dir, "bench.jsonl");
  buildFile(file, N);
  const rules = ["--rules", DEFAULT_RULES, "--rules", FALCO_RULES];
  const rounds: Array<{ detect: number; watch: number }> = [];
  for (let r = 0; r < 3; r++) {
    const d = await run(["detect", ...rules, "--json", file]);
    if (d.code !== 0 && d.code !== 1) throw new Error(`kaudit detect failed: ${d.stderr}`);
    // watch: from process start until its metrics say every event was read
    let url = "";
    let done = false;
    const w = await new Promise<number>((resolve, reject) => {
      const t0 = performance.now();
      const child = spawn(
        process.execPath,
        [
          BIN,
          "watch",
          ...rules,
          "--follow",
          file,
          "--from",
          "start",
          "--metrics-address",
          "127.0.0.1:0",
          "--alerts-out",
          "/dev/null",
        ],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
      let err = "";
      child.stderr.on("data", (b: Buffer) => {
        err += b.toString("utf8");
        url ||= /metrics on (http:\S+)\/metrics/.exec(err)?.[1] ?? "";
      });
      child.on("exit", (code) => {
        if (!done) reject(new Error(`kaudit watch exited ${code}: ${err}`));
      });
      const poll = async () => {
        if (url && (await metricsRead(url)) >= N) {
          done = true;
          resolve(performance.now() - t0);
          child.kill("SIGTERM");
          return;
        }
        setTimeout(poll, 20);
      };
      void poll();
    });
    rounds.push({ detect: d.ms, watch: w });
    console.log(
      `  round ${r + 1}: detect ${(N / (d.ms / 1000)).toFixed(0)} events/s, watch ${(N / (w / 1000)).toFixed(0)} events/s, ratio ${(d.ms / w).toFixed(2)}×`,
    );
  }
  const ratios = rounds.map((x) => x.detect / x.watch).sort((a, b) => a - b);
  return { median: ratios[1]!, ratios };
}

async function latency(dir: string) {
  const log = join(dir, "latency.log");
  const rules = join(dir, "latency-rules.yaml");
  const { writeFileSync } = await import("node:fs");
  writeFileSync(
    rules,
    `- rule: Bench marker
  desc: fires on the benchmark's marked events
  condition: ka.user.name = bench-marker
  output: "marker %ka.auditid"
  priority: NOTICE
  source: k8s_audit
`,
  );
  writeFileSync(log, "");
  const rate = 10_000;
  const seconds = 10;
  const child = spawn(
    process.execPath,
    [BIN, "watch", "--rules", rules, "--follow", log, "--from", "start"],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const lat: number[] = [];
  let buf = "";
  child.stdout.on("data", (b: Buffer) => {
    const now = Date.now();
    buf += b.toString("utf8");
    let nl = buf.indexOf("\n");
    while (nl >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const m = /marker t(\d+)-/.exec(line);
      if (m) lat.push(now - Number(m[1]));
      nl = buf.indexOf("\n");
    }
  });
  let err = "";
  child.stderr.on("data", (b: Buffer) => {
    err += b.toString("utf8");
  });
  while (!/alerts to/.test(err)) await new Promise((r) => setTimeout(r, 20));
  const t = templates().find((e) => (e as { verb?: string }).verb === "list")!;
  const fd = openSync(log, "a");
  const start = Date.now();
  let i = 0;
  let marked = 0;
  while (Date.now() - start < seconds * 1000) {
    const due = Math.floor(((Date.now() - start) / 1000) * rate);
    const now = Date.now();
    let chunk = "";
    for (; i < due; i++) {
      const time = new Date(now).toISOString();
      const mark = i % 100 === 0;
      if (mark) marked++;
      chunk += `${JSON.stringify({
        ...t,
        auditID: mark ? `t${now}-${i}` : `n-${i}`,
        user: { username: mark ? "bench-marker" : "system:kube-scheduler" },
        requestReceivedTimestamp: time,
        stageTimestamp: time,
      })}\n`;
    }
    if (chunk) writeSync(fd, chunk);
    await new Promise((r) => setTimeout(r, 5));
  }
  closeSync(fd);
  const until = Date.now() + 10_000;
  while (lat.length < marked && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  child.kill("SIGTERM");
  lat.sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!;
  return { written: i, marked, alerts: lat.length, p50: q(0.5), p99: q(0.99), max: lat.at(-1)! };
}

const dir = mkdtempSync(join(tmpdir(), "kaudit-watch-bench-"));
if (process.env.BENCH_BUILD_ONLY) {
  // only write the throughput file (for profiling by hand)
  buildFile(process.env.BENCH_BUILD_ONLY, N);
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}
try {
  console.log(
    `kaudit watch vs kaudit detect, ${N} events, Falco's rules + kaudit's defaults (3 rounds):`,
  );
  const tp = await throughput(dir);
  console.log(
    `  median ratio watch/detect: ${tp.median.toFixed(2)}× (rounds ${tp.ratios.map((r) => r.toFixed(2)).join(", ")}; target ≥ 0.8×)`,
  );
  console.log("append → alert latency at 10,000 events/s for 10 s (1 % marked):");
  const l = await latency(dir);
  console.log(
    `  ${l.written} events appended, ${l.alerts}/${l.marked} marked alerts seen; p50 ${l.p50} ms, p99 ${l.p99} ms, max ${l.max} ms (target p99 < 500 ms)`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
