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

const fresh = (s: string) => Buffer.from(s).toString();

/**
 * Metadata events of 20 clients. `"middleware"`: the strings come as @kaudit/middleware hands
 * them over — the user (from the authenticator), the peer address (per connection) and the
 * objectRef values (from its per-URL RequestInfo cache) are the same string objects request after
 * request, the user agent is parsed afresh from every request's headers. `"fresh"`: every
 * string of every event is its own copy (the worst case for encodeEvent's memory of repeated
 * strings, which then has to hash each one).
 */
function events(strings: "middleware" | "fresh"): Event[] {
  const clients = Array.from({ length: 20 }, (_, c) => ({
    username: fresh(`system:serviceaccount:kube-system:controller-${c}`),
    uid: fresh(`a1b2-${c}`),
    groups: [fresh("system:serviceaccounts"), fresh("system:authenticated")],
    ip: fresh(`10.0.0.${c + 10}`),
    ua: `kube-controller-manager/v1.32.4 (linux/amd64) kubernetes/${c}`,
  }));
  const refs = Array.from({ length: 97 }, (_, n) => ({
    resource: fresh("pods"),
    namespace: fresh("kube-system"),
    name: fresh(`coredns-${n}`),
    apiVersion: fresh("v1"),
  }));
  const own = strings === "fresh" ? fresh : (s: string) => s;
  return Array.from({ length: N }, (_, i) => {
    const c = clients[i % clients.length]!;
    const r = refs[i % refs.length]!;
    return {
      level: "Metadata",
      auditID: `9d3e1f1c-0b7a-4c6e-8f1e-${String(i).padStart(12, "0")}`,
      stage: i % 2 ? "ResponseComplete" : "RequestReceived",
      requestURI: `/api/v1/namespaces/kube-system/pods/coredns-${i % 97}`,
      verb: "get",
      user: { username: own(c.username), uid: own(c.uid), groups: c.groups.map(own) },
      sourceIPs: [own(c.ip)],
      userAgent: fresh(c.ua),
      objectRef: {
        resource: own(r.resource),
        namespace: own(r.namespace),
        name: own(r.name),
        apiVersion: own(r.apiVersion),
      },
      responseStatus: { metadata: {}, code: 200 },
      requestReceivedTimestamp: fresh("2026-11-22T10:04:05.123456Z"),
      stageTimestamp: fresh("2026-11-22T10:04:05.125456Z"),
      annotations: {
        "authorization.k8s.io/decision": "allow",
        "authorization.k8s.io/reason": "",
      },
    };
  });
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

async function race(strings: "middleware" | "fresh"): Promise<void> {
  const evs = events(strings);
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
    `strings as ${strings === "middleware" ? "the middleware hands them over" : "fresh copies in every event"}:\n` +
      `log sink (json, rotation on, one call per event): ${rate(last.ours)}; baseline ${rate(last.base)}; pino ${rate(last.pino)}`,
  );
  console.log(
    `ratio log sink / (JSON.stringify + 64 KB writes): ${median(vsBase).toFixed(2)}× (rounds ${vsBase.map((x) => x.toFixed(2)).join(" ")})`,
  );
  console.log(
    `ratio log sink / pino to a file: ${median(vsPino).toFixed(2)}× (rounds ${vsPino.map((x) => x.toFixed(2)).join(" ")})`,
  );
}

export async function run(): Promise<void> {
  await race("middleware");
  await race("fresh");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await run();
