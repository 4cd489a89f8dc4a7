/**
 * `kaudit detect` throughput: all 48 Falco k8s_audit rules plus kaudit's default rules over a
 * Metadata / RequestResponse mix built from the corpus, raced against a baseline that only
 * splits the same text into lines and JSON.parses them (same process, same chunks, alternating
 * rounds). Memory is sampled through the run to show it stays flat (bounded threshold keys).
 *
 *   BENCH_EVENTS=1000000 pnpm --filter @kaudit/rules bench
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_RULES_FILE, loadRules } from "../src/index";

const FIX = join(import.meta.dirname, "../src/__fixtures__");
const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const CHUNK_LINES = 1000;
/** Percent of RequestResponse events in the mix. */
const RR_PERCENT = Number(process.env.BENCH_RR ?? 10);

// biome-ignore lint/suspicious/noExplicitAny: corpus events are edited freely here
type Ev = Record<string, any>;
const jsonl = (f: string): Ev[] =>
  readFileSync(join(FIX, f), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l));

// RequestResponse-level events with bodies: Falco's trace files (pods, roles, bindings, ...).
const RR: Ev[] = [];
for (const f of readdirSync(join(FIX, "falco-trace-files")).sort()) {
  if (f === "fal_01_003.json") continue;
  const text = readFileSync(join(FIX, "falco-trace-files", f), "utf8").trim();
  try {
    RR.push(JSON.parse(text));
  } catch {
    for (const l of text.split("\n")) RR.push(JSON.parse(l));
  }
}
// Metadata-level events: rbac-tool's and audit2rbac's logs, bodies dropped.
const META: Ev[] = [
  ...jsonl("events/rbac-tool-auditgen-01.v1.jsonl"),
  ...jsonl("events/rbac-tool-auditgen-02.v1.jsonl"),
  ...jsonl("events/audit2rbac-demo.v1.jsonl"),
].map((e) => {
  const m = structuredClone(e);
  m.level = "Metadata";
  delete m.requestObject;
  delete m.responseObject;
  return m;
});

const VERBS = ["get", "list", "watch", "get", "list", "update", "patch"];
const USERS = [
  "system:kube-controller-manager",
  "system:kube-scheduler",
  "system:serviceaccount:kube-system:coredns",
  "system:node:node-1",
  "kubelet",
  "admin",
];

/** One event line: a corpus event with its id, time, user and client varied. */
function line(i: number): string {
  const t = Date.UTC(2026, 11, 1, 8) + i * 7;
  const r = i % 100;
  let e: Ev;
  if (r < RR_PERCENT) e = structuredClone(RR[i % RR.length]!);
  else {
    e = structuredClone(META[i % META.length]!);
    e.verb = VERBS[i % VERBS.length];
    e.user = { username: USERS[i % USERS.length], groups: ["system:authenticated"] };
    delete e.impersonatedUser;
    e.responseStatus = { metadata: {}, code: 200 };
    if (r === 90 || r === 91) {
      // 401s from many addresses: threshold keys that come and go.
      e.user = {};
      e.responseStatus = { metadata: {}, code: 401, reason: "Unauthorized", status: "Failure" };
    }
    if (r === 12)
      e.responseStatus = { metadata: {}, code: 403, reason: "Forbidden", status: "Failure" };
  }
  e.auditID = `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`;
  e.stage = e.stage === "ResponseStarted" ? e.stage : "ResponseComplete";
  e.requestReceivedTimestamp = new Date(t).toISOString();
  e.stageTimestamp = new Date(t + (i % 50)).toISOString();
  e.sourceIPs = [`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`];
  return JSON.stringify(e);
}

// A pool of distinct chunks, cycled: the text is realistic and building it costs nothing in the race.
const POOL = 64;
const chunks: string[] = [];
let bytes = 0;
for (let c = 0; c < POOL; c++) {
  const lines: string[] = [];
  for (let j = 0; j < CHUNK_LINES; j++) lines.push(line(c * CHUNK_LINES + j));
  chunks.push(`${lines.join("\n")}\n`);
  bytes += chunks[c]!.length;
}
const avgLine = bytes / (POOL * CHUNK_LINES);

const rules = loadRules([join(FIX, "k8s_audit_rules.yaml"), DEFAULT_RULES_FILE]);

function baseline(n: number): number {
  let seen = 0;
  for (let done = 0; done < n; done += CHUNK_LINES) {
    const text = chunks[(done / CHUNK_LINES) % POOL]!;
    for (const l of text.split("\n")) {
      if (l === "") continue;
      const ev = JSON.parse(l);
      if (ev.auditID !== undefined) seen++;
    }
  }
  return seen;
}

const mem: number[] = [];
const byRule = new Map<string, number>();
function detect(n: number): number {
  let alerts = 0;
  for (let done = 0; done < n; done += CHUNK_LINES) {
    const text = chunks[(done / CHUNK_LINES) % POOL]!;
    for (const l of text.split("\n")) {
      if (l === "") continue;
      const a = rules.evaluate(JSON.parse(l));
      alerts += a.length;
      if (process.env.BENCH_TOP)
        for (const x of a) byRule.set(x.rule, (byRule.get(x.rule) ?? 0) + 1);
    }
    if (done === 0) mem.push(process.memoryUsage().heapUsed);
  }
  return alerts;
}

// The machine may be shared: baseline and detect alternate in slices of 10,000 events, so a
// change in load hits both alike; each round reports its own ratio.
const ROUNDS = 3;
const SLICE = 10 * CHUNK_LINES;
const per = Math.max(SLICE, Math.floor(EVENTS / ROUNDS / SLICE) * SLICE);
console.log(
  `@kaudit/rules bench: ${rules.rules.length} rules (48 Falco + ${rules.rules.length - 48} kaudit), ${per * ROUNDS} events in ${ROUNDS} rounds, avg line ${Math.round(avgLine)} B, ${RR_PERCENT}% RequestResponse`,
);
baseline(20_000);
detect(20_000);
const ratios: number[] = [];
let alerts = 0;
let baseTotal = 0;
let detTotal = 0;
for (let r = 0; r < ROUNDS; r++) {
  let b = 0;
  let d = 0;
  for (let done = 0; done < per; done += SLICE) {
    let t0 = performance.now();
    baseline(SLICE);
    b += performance.now() - t0;
    t0 = performance.now();
    alerts += detect(SLICE);
    d += performance.now() - t0;
  }
  baseTotal += b;
  detTotal += d;
  ratios.push(b / d);
  console.log(
    `round ${r + 1}: baseline ${Math.round((per / b) * 1000)} ev/s, detect ${Math.round((per / d) * 1000)} ev/s, ratio ${(b / d).toFixed(2)}x`,
  );
}
const mb = (x: number) => `${(x / 1048576).toFixed(1)} MiB`;
const s = rules.stats();
console.log(
  `total: baseline ${Math.round(((per * ROUNDS) / baseTotal) * 1000)} ev/s, detect ${Math.round(((per * ROUNDS) / detTotal) * 1000)} ev/s, ratio ${(baseTotal / detTotal).toFixed(2)}x (median round ${ratios.sort()[1]!.toFixed(2)}x); ${alerts} alerts`,
);
console.log(
  `heap during detect: first ${mb(mem[0]!)}, max ${mb(Math.max(...mem))}, last ${mb(mem[mem.length - 1]!)}; threshold keys held ${s.thresholds.rules.map((r) => r.keys).reduce((a, b) => a + b, 0)}, evicted ${s.thresholds.evicted}`,
);
if (process.env.BENCH_TOP) console.log([...byRule].sort((a, b) => b[1] - a[1]).slice(0, 10));
