/**
 * What auditing costs a request end to end: the demo's API handler served over node:http
 * (loopback, keep-alive) with and without `withAudit` + the GCE policy + the log backend, in the
 * same process. Prints requests/s for each and the ratio.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { Agent, createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Sink } from "@kaudit/api";
import { withAudit } from "@kaudit/middleware";
import { createPolicyEvaluator, loadPolicyFile } from "@kaudit/policy";
import { createAuditBackend } from "@kaudit/sinks";
import { Bench } from "tinybench";
import { createApiHandler } from "../src/api-handler";
import { findResource } from "../src/resources";
import { bundledPolicyPath } from "../src/server";

const ADMIN = {
  name: "admin",
  uid: "uid-admin",
  groups: ["system:masters", "system:authenticated"],
};

async function listen(server: Server): Promise<number> {
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", () => ok()));
  return (server.address() as AddressInfo).port;
}

const agent = new Agent({ keepAlive: true, maxSockets: 1 });
function get(port: number, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path, agent, headers: { Accept: "application/json" } },
      (res) => {
        res.resume();
        res.on("end", () =>
          res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`)),
        );
      },
    );
    req.on("error", reject);
    req.end();
  });
}

const dir = mkdtempSync(join(tmpdir(), "kaudit-demo-bench-"));
const api = createApiHandler({
  userOf: () => ADMIN,
  authorize: () => ({ allowed: true, reason: "" }),
});
const cm = api.store;
const cmDef = findResource("", "v1", "configmaps");
const podDef = findResource("", "v1", "pods");
if (!cmDef || !podDef) throw new Error("resources missing");
for (let i = 0; i < 20; i++)
  cm.create(
    cmDef,
    "default",
    { metadata: { name: `cm-${i}` }, data: { k: "v".repeat(200) } },
    { manager: "bench" },
  );
cm.create(
  podDef,
  "default",
  { metadata: { name: "web" }, spec: { containers: [{ name: "c", image: "nginx" }] } },
  { manager: "bench" },
);

const logOptions = { log: { path: join(dir, "audit.log") } };
const sink: Sink = createAuditBackend(logOptions);
const policy = createPolicyEvaluator(await loadPolicyFile(bundledPolicyPath()));

const plain = createServer((req, res) => void api.handle(req, res));
const audited = createServer(
  withAudit((req, res) => api.handle(req, res), { sink, policy, authenticate: () => ADMIN }),
);
const plainPort = await listen(plain);
const auditedPort = await listen(audited);

const results: string[] = [];
for (const [label, path] of [
  ["get pod (GCE: Request level)", "/api/v1/namespaces/default/pods/web"],
  ["list 20 configmaps (GCE: Metadata level)", "/api/v1/namespaces/default/configmaps"],
] as const) {
  const bench = new Bench({ time: 1500, warmupTime: 300 });
  bench.add(`unaudited ${label}`, () => get(plainPort, path));
  bench.add(`audited   ${label}`, () => get(auditedPort, path));
  await bench.run();
  console.table(bench.table());
  const [a, b] = bench.tasks.map((t) => t.result as { throughput?: { mean: number }; hz?: number });
  const hz = (r: { throughput?: { mean: number }; hz?: number } | undefined) =>
    r?.throughput?.mean ?? r?.hz ?? 0;
  results.push(`${label}: audited/unaudited throughput = ${(hz(b) / hz(a)).toFixed(2)}`);
}
console.log(results.join("\n"));

agent.destroy();
await new Promise((r) => plain.close(r));
await new Promise((r) => audited.close(r));
await sink.shutdown();
rmSync(dir, { recursive: true, force: true });
