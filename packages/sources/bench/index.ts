// readEvents on JSON lines against the floor: the same file split into lines and JSON.parse'd.
// Same run, alternating, best of ROUNDS; prints the ratio (events/s of readEvents ÷ the floor's).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readEvents } from "../src/index";
import { corpusLines, splitParse, writeCorpusLog } from "./corpus-log";

const SIZE = Number(process.env.BENCH_BYTES ?? 64e6);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

// BENCH_DATA=audit2rbac: the demo log rewritten from v1beta1 (every event needs upgrading);
// default: rbac-tool's events as kube-apiserver writes v1 today (Metadata and RequestResponse).
const source =
  process.env.BENCH_DATA === "audit2rbac"
    ? ["audit2rbac-demo.v1.jsonl"]
    : ["rbac-tool-auditgen-01.v1.jsonl", "rbac-tool-auditgen-02.v1.jsonl"];

const dir = mkdtempSync(join(tmpdir(), "kaudit-sources-bench-"));
const file = join(dir, "audit.log");
const { n, bytes } = writeCorpusLog(file, SIZE, corpusLines(source));
const floor = () => splitParse(file);

async function reader(validate: boolean, keepBodyText = true): Promise<number> {
  let count = 0;
  for await (const r of readEvents(file, { validate, keepBodyText })) if ("event" in r) count++;
  return count;
}

async function time(f: () => Promise<number>): Promise<number> {
  const t = process.hrtime.bigint();
  const c = await f();
  if (c !== n) throw new Error(`read ${c} events, expected ${n}`);
  return Number(process.hrtime.bigint() - t) / 1e9;
}

const best = { floor: Infinity, plain: Infinity, read: Infinity, validated: Infinity };
for (let i = 0; i < ROUNDS; i++) {
  best.floor = Math.min(best.floor, await time(floor));
  best.plain = Math.min(best.plain, await time(() => reader(false, false)));
  best.read = Math.min(best.read, await time(() => reader(false)));
  best.validated = Math.min(best.validated, await time(() => reader(true)));
}
rmSync(dir, { recursive: true, force: true });
const rate = (s: number) =>
  `${Math.round(n / s).toLocaleString("en")} events/s (${(bytes / s / 1e6).toFixed(0)} MB/s)`;
console.log(
  `${n} events (${source.join(", ")}), ${(bytes / 1e6).toFixed(0)} MB of JSON lines, best of ${ROUNDS}`,
);
console.log(`split + JSON.parse           ${rate(best.floor)}`);
console.log(
  `readEvents (validate: false, keepBodyText: false) ${rate(best.plain)}  ratio ${(best.floor / best.plain).toFixed(2)}x`,
);
console.log(
  `readEvents (validate: false) ${rate(best.read)}  ratio ${(best.floor / best.read).toFixed(2)}x`,
);
console.log(
  `readEvents (default)         ${rate(best.validated)}  ratio ${(best.floor / best.validated).toFixed(2)}x`,
);
