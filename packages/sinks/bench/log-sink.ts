// The log sink (json, Metadata-size events, rotation on, one processEvents call per event as the
// blocking mode makes them) against, in the same process:
// - a baseline that JSON.stringify's the same events and writes them in 64 KB chunks;
// - pino writing the same objects to a file (sonic-boom, 4 KB minimum write, flushed at the end).
// Rounds alternate the contestants; the ratio is the median over rounds.
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Event } from "@kaudit/api";
import pino from "pino";
import { createLogSink } from "../src/log-sink";

const N = 50_000;
const ROUNDS = 9;

// Each event gets its own copy of every string, as a server parsing requests would hand over
// (a literal shared by all events would flatter any per-string cache).
const fresh = (s: string) => Buffer.from(s).toString();

function events(): Event[] {
  return Array.from({ length: N }, (_, i) => ({
    level: "Metadata",
    auditID: `9d3e1f1c-0b7a-4c6e-8f1e-${String(i).padStart(12, "0")}`,
    stage: i % 2 ? "ResponseComplete" : "RequestReceived",
    requestURI: `/api/v1/namespaces/kube-system/pods/coredns-${i % 97}`,
    verb: "get",
    user: {
      username: fresh("system:serviceaccount:kube-system:coredns"),
      uid: fresh("a1b2"),
      groups: [fresh("system:serviceaccounts"), fresh("system:authenticated")],
    },
    sourceIPs: [fresh("10.0.0.12")],
    userAgent: fresh("coredns/v1.11.3 (linux/amd64) kubernetes/$Format"),
    objectRef: {
      resource: fresh("pods"),
      namespace: fresh("kube-system"),
      name: `coredns-${i % 97}`,
      apiVersion: fresh("v1"),
    },
    responseStatus: { metadata: {}, code: 200 },
    requestReceivedTimestamp: "2026-11-22T10:04:05.123456Z",
    stageTimestamp: "2026-11-22T10:04:05.125456Z",
    annotations: {
      "authorization.k8s.io/decision": fresh("allow"),
      "authorization.k8s.io/reason": "",
    },
  }));
}

function baseline(file: string, evs: Event[]): void {
  const fd = fs.openSync(file, "a");
  let chunk = "";
  for (const e of evs) {
    chunk += `${JSON.stringify(e)}\n`;
    if (chunk.length >= 65536) {
      fs.writeSync(fd, chunk);
      chunk = "";
    }
  }
  if (chunk) fs.writeSync(fd, chunk);
  fs.closeSync(fd);
}

async function ours(file: string, evs: Event[]): Promise<void> {
  const sink = createLogSink({ path: file, maxSize: 10, maxBackups: 3 });
  for (const e of evs) sink.processEvents([e]);
  await sink.shutdown();
}

async function withPino(file: string, evs: Event[]): Promise<void> {
  const dest = pino.destination({ dest: file, minLength: 4096, sync: false });
  await once(dest, "ready");
  const logger = pino({ base: null, timestamp: false }, dest);
  for (const e of evs) logger.info(e);
  const closed = once(dest, "close");
  dest.end();
  await closed;
}

async function time(fn: () => unknown): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function run(): Promise<void> {
  const evs = events();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kaudit-logbench-"));
  const vsBase: number[] = [];
  const vsPino: number[] = [];
  let last = { ours: 0, base: 0, pino: 0 };
  try {
    for (let r = 0; r < ROUNDS + 1; r++) {
      const sub = fs.mkdtempSync(path.join(dir, "r"));
      const tb = await time(() => baseline(path.join(sub, "base.log"), evs));
      const to = await time(() => ours(path.join(sub, "audit.log"), evs));
      const tp = await time(() => withPino(path.join(sub, "pino.log"), evs));
      fs.rmSync(sub, { recursive: true, force: true });
      if (r === 0) continue; // warm-up
      vsBase.push(tb / to);
      vsPino.push(tp / to);
      last = { ours: to, base: tb, pino: tp };
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const rate = (ms: number) => `${Math.round(N / (ms / 1000) / 1000)}k events/s`;
  console.log(
    `log sink (json, rotation on, one call per event): ${rate(last.ours)}; baseline ${rate(last.base)}; pino ${rate(last.pino)}`,
  );
  console.log(
    `ratio log sink / (JSON.stringify + 64 KB writes): ${median(vsBase).toFixed(2)}× (rounds ${vsBase.map((x) => x.toFixed(2)).join(" ")})`,
  );
  console.log(
    `ratio log sink / pino to a file: ${median(vsPino).toFixed(2)}× (rounds ${vsPino.map((x) => x.toFixed(2)).join(" ")})`,
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await run();
