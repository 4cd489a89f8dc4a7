// encodeEvent (Go-exact bytes) against JSON.stringify of the same events, in one process.
// JSON.stringify is the floor a log writer would otherwise pay, though it gets neither
// the field order, the HTML escaping nor the MicroTime form right.
import fs from "node:fs";
import { Bench } from "tinybench";
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

function race(name: string, events: Event[]) {
  const bench = new Bench({ time: 1500 });
  let sink = 0;
  bench
    .add("JSON.stringify", () => {
      for (const e of events) sink += JSON.stringify(e).length;
    })
    .add("encodeEvent", () => {
      for (const e of events) sink += encodeEvent(e).length;
    });
  return bench.run().then(() => {
    const [base, ours] = bench.tasks.map((t) => {
      const r = t.result;
      if (!r || !("throughput" in r)) throw new Error(`${t.name} did not complete`);
      return r.throughput.mean;
    });
    console.log(
      `${name}: encodeEvent ${((ours! * events.length) / 1e3).toFixed(0)}k events/s, JSON.stringify ${((base! * events.length) / 1e3).toFixed(0)}k events/s, ratio ${(ours! / base!).toFixed(2)}×`,
    );
    return sink;
  });
}

await race("Metadata events (rbac-tool corpus)", metadata);
await race("RequestResponse pod events (Falco corpus)", withBodies);
