// encodeEvent (Go-exact bytes) against JSON.stringify of the same events, in one process.
// JSON.stringify is the floor a log writer would otherwise pay, though it gets neither
// the field order, the HTML escaping nor the MicroTime form right.
//
// Interleaved rounds (stringify, encodeEvent, stringify, …), each timed in process CPU time
// (process.cpuUsage: on a shared machine, wall time counts the time other processes held the
// core); the ratio is of the medians. `BENCH_ROUNDS` sets the number of rounds (default 21),
// `BENCH_ONLY=text` runs only the races whose name contains the text.
import fs from "node:fs";
import os from "node:os";
import { decodeEvent, type Event, encodeEvent } from "../src/index";

const dir = new URL("../src/__fixtures__/events/", import.meta.url);
const metadata = fs
  .readFileSync(new URL("rbac-tool-auditgen-01.v1.jsonl", dir), "utf8")
  .split("\n")
  .filter(Boolean)
  .map((l) => decodeEvent(l));
const withBodies = fs
  .readFileSync(new URL("falco-trace-files/create_nginx_pod_privileged.json", dir), "utf8")
  .split("\n")
  .filter(Boolean)
  .map((l) => JSON.parse(l) as Event);

// Metadata events built in JS as a server builds them: each event has its own copy of every
// string (a literal shared by all events would flatter encodeEvent's memory of repeated values).
const fresh = (s: string) => Buffer.from(s).toString();
function built(i: number, distinct: boolean): Event {
  const d = distinct ? `-${i}` : "";
  return {
    level: "Metadata",
    auditID: `9d3e1f1c-0b7a-4c6e-8f1e-${String(i).padStart(12, "0")}`,
    stage: i % 2 ? "ResponseComplete" : "RequestReceived",
    requestURI: `/api/v1/namespaces/kube-system/pods/coredns-${i % 97}`,
    verb: "get",
    user: {
      username: fresh(`system:serviceaccount:kube-system:coredns${d}`),
      uid: fresh("a1b2"),
      groups: [fresh(`system:serviceaccounts${d}`), fresh("system:authenticated")],
    },
    sourceIPs: [fresh(distinct ? `10.0.${(i >> 8) & 255}.${i & 255}` : "10.0.0.12")],
    userAgent: fresh(`coredns/v1.11.3 (linux/amd64) kubernetes/$Format${d}`),
    objectRef: {
      resource: fresh("pods"),
      namespace: fresh(`kube-system${d}`),
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
  };
}
// RequestResponse events built in JS as a server builds them: a ConfigMap of about `size` bytes
// as the request body and the same object with server fields as the response, fresh per event.
function builtWithBodies(i: number, size: number): Event {
  const data: Record<string, string> = {};
  for (let k = 0; k * 64 < size; k++) data[`key-${k}`] = fresh(`value ${i}-${k} `.padEnd(48, "x"));
  const request = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: `cm-${i}`, namespace: "default", labels: { app: fresh("web") } },
    data,
  };
  const response = {
    ...request,
    metadata: {
      ...request.metadata,
      uid: `0b7a4c6e-${i}`,
      resourceVersion: String(1000 + i),
      creationTimestamp: "2026-11-22T10:04:05Z",
    },
  };
  return {
    ...built(i, true),
    level: "RequestResponse",
    verb: "create",
    requestObject: request,
    responseObject: response,
  };
}
const builtBodies2k = Array.from({ length: 2000 }, (_, i) => builtWithBodies(i, 2048));
const builtBodies8k = Array.from({ length: 500 }, (_, i) => builtWithBodies(i, 8192));
const builtRepeating = Array.from({ length: 5000 }, (_, i) => built(i, false));
const builtDistinct = Array.from({ length: 5000 }, (_, i) => built(i, true));
// The same 2 KB events as a receiver or `kaudit convert` has them: decoded from their JSON text
// (bodies keep their raw text, as the middleware's captured bodies do).
const decodedBodies2k = builtBodies2k.map((e) => decodeEvent(JSON.stringify(e)));
// The same 2 KB events copied once with a spread: the copies share one hidden class, as events
// built by one object literal, by `JSON.parse` or by `applyPolicy`'s spread do. The originals
// above (a spread plus overridden and added keys) each get a hidden class of their own, which
// slows every field read in `encodeEvent` and not `JSON.stringify`'s native walk.
const oneShapeBodies2k = builtBodies2k.map((e) => ({ ...e }));

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 21);
const ONLY = process.env.BENCH_ONLY; // run only the races whose name contains this
let sink = 0;

/**
 * One round: every event encoded and consumed as a log writer does (appended to a chunk whose
 * UTF-8 length is taken every 64 KB), so encodeEvent's concatenations are paid for when
 * flattened. Returns the process CPU time in microseconds.
 */
function round(events: Event[], encode: (e: Event) => string): number {
  const start = process.cpuUsage();
  let chunk = "";
  for (const e of events) {
    chunk += `${encode(e)}\n`;
    if (chunk.length >= 65536) {
      sink += Buffer.byteLength(chunk);
      chunk = "";
    }
  }
  sink += Buffer.byteLength(chunk);
  const used = process.cpuUsage(start);
  return used.user + used.system;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;

function race(name: string, events: Event[]): void {
  if (ONLY && !name.includes(ONLY)) return;
  for (const e of events) {
    const back = JSON.parse(encodeEvent(e)) as Event;
    if (back.auditID !== e.auditID) throw new Error(`${name}: encodeEvent wrote another event`);
  }
  // Enough events per timed round to measure (≥ ~20 ms), warmed up first.
  const repeat = Math.max(1, Math.ceil(2_000_000 / JSON.stringify(events).length));
  const batch = Array.from({ length: repeat }, () => events).flat();
  for (let i = 0; i < 3; i++) {
    round(batch, JSON.stringify);
    round(batch, encodeEvent);
  }
  const base: number[] = [];
  const ours: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    base.push(round(batch, JSON.stringify));
    ours.push(round(batch, encodeEvent));
  }
  const perSecond = (us: number) => ((batch.length / us) * 1e3).toFixed(0);
  console.log(
    `${name}: encodeEvent ${perSecond(median(ours))}k events/s, JSON.stringify ${perSecond(median(base))}k events/s, ratio ${(median(base) / median(ours)).toFixed(2)}×`,
  );
}

const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(" ");
console.log(`load average before: ${load()} (${os.cpus().length} cores), ${ROUNDS} rounds`);
race("Metadata events (rbac-tool corpus, decoded)", metadata);
race("RequestResponse pod events (Falco corpus, JSON.parse'd bodies)", withBodies);
race("Metadata events built in JS, values repeating", builtRepeating);
race("Metadata events built in JS, every user/agent/IP/namespace distinct", builtDistinct);
race("RequestResponse events built in JS, 2 KB ConfigMap bodies each way", builtBodies2k);
race(
  "RequestResponse events built in JS, 2 KB bodies, one hidden class for all events",
  oneShapeBodies2k,
);
race("RequestResponse events built in JS, 8 KB ConfigMap bodies each way", builtBodies8k);
race("RequestResponse events decoded (raw-text bodies), 2 KB each way", decodedBodies2k);
console.log(`load average after: ${load()}`);
if (sink === 0) throw new Error("nothing written");
