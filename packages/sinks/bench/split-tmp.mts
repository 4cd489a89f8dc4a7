import { encodeEvent, encodedEventsToList } from "@kaudit/api";
import { makeEvents } from "./webhook.ts";
import { eventListBuffer } from "../src/webhook-body.ts";
const events = makeEvents(20000);
const P = '{"kind":"Event","apiVersion":"audit.k8s.io/v1",';
const HEAD = '{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[';
const evBatches: any[][] = []; for (let i = 0; i < events.length; i += 400) evBatches.push(events.slice(i, i + 400));
function joined(l: readonly string[]) {
  const n = l.length; const parts: string[] = new Array(n);
  for (let i = 0; i < n; i++) { const x = l[i]!; parts[i] = x.lastIndexOf(P, 0) === 0 ? "{" + x.slice(P.length) : x; }
  parts[0] = HEAD + parts[0]; parts[n - 1] = parts[n - 1] + "]}\n";
  const s = parts.join(",");
  return Buffer.from(s);
}
const enc = (b: any[]) => b.map((e) => { const s = encodeEvent(e); Buffer.byteLength(s); return s; });
for (const b of evBatches.slice(0, 2)) { const l = enc(b); if (!joined(l).equals(eventListBuffer(l))) throw new Error("neq"); }
const variants: Record<string, () => number> = {
  "stringify+Buffer.from": () => { let n = 0; for (const b of evBatches) n += Buffer.from(JSON.stringify({ kind: "EventList", apiVersion: "audit.k8s.io/v1", metadata: {}, items: b })).length; return n; },
  "encode+flat": () => { let n = 0; for (const b of evBatches) n += enc(b).length; return n; },
  "encode+flat+eventListBuffer": () => { let n = 0; for (const b of evBatches) n += eventListBuffer(enc(b)).length; return n; },
  "encode+flat+joined": () => { let n = 0; for (const b of evBatches) n += joined(enc(b)).length; return n; },
  "encode+flat+old": () => { let n = 0; for (const b of evBatches) n += Buffer.from(encodedEventsToList(enc(b)) + "\n").length; return n; },
  "encode+Buffer.from each+concat": () => { let n = 0; for (const b of evBatches) { const bufs = b.map((e) => Buffer.from(encodeEvent(e))); const parts: Buffer[] = [Buffer.from(HEAD)]; for (let i = 0; i < bufs.length; i++) { parts.push(Buffer.from(i ? ",{" : "{")); parts.push(bufs[i]!.subarray(P.length)); } parts.push(Buffer.from("]}\n")); n += Buffer.concat(parts).length; } return n; },
};
const names = Object.keys(variants);
const res: Record<string, number[]> = {};
for (let r = 0; r < 15; r++) for (const k of names) { const t = performance.now(); variants[k]!(); const d = performance.now() - t; if (r) (res[k] ??= []).push(d); }
const base = res["stringify+Buffer.from"]!.sort((a, b) => a - b)[7]!;
for (const k of names) { const s = res[k]!.sort((a, b) => a - b); console.log(k.padEnd(34), (s[7]! * 1000 / 20000).toFixed(3), "µs/event", (s[7]! / base).toFixed(2)); }
