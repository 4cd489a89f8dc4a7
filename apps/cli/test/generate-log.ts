import { once } from "node:events";
import { createWriteStream } from "node:fs";

const VERBS = ["get", "list", "watch", "create", "update", "patch", "delete"];
const RESOURCES = [
  "pods",
  "configmaps",
  "secrets",
  "deployments",
  "nodes",
  "events",
  "leases",
  "services",
];
const USERS = [
  "alice",
  "bob",
  "system:kube-scheduler",
  "system:serviceaccount:kube-system:default",
  "system:node:n1",
];
const CODES = [200, 200, 200, 200, 201, 403, 404, 409, 500, 401];

/**
 * Writes a synthetic audit.k8s.io/v1 log of at least `bytes` bytes (JSON lines, ~1.4 KB each,
 * varied users/verbs/resources/codes/latencies, some latency annotations) and returns the
 * number of events written. Deterministic: the same size gives the same file.
 */
export async function generateLog(path: string, bytes: number): Promise<number> {
  const out = createWriteStream(path);
  const pad = "x".repeat(700);
  let written = 0;
  let n = 0;
  const base = Date.UTC(2026, 10, 22, 10, 0, 0);
  while (written < bytes) {
    let chunk = "";
    for (let i = 0; i < 2000; i++, n++) {
      const verb = VERBS[n % VERBS.length]!;
      const resource = RESOURCES[(n >> 3) % RESOURCES.length]!;
      const code = CODES[(n * 7) % CODES.length]!;
      const latencyUs = 1000 + ((n * 7919) % 900_000);
      const t0 = base + n;
      const ts = (ms: number, us: number) =>
        `${new Date(ms).toISOString().slice(0, 23)}${String(us).padStart(3, "0")}Z`;
      const annotations =
        latencyUs > 500_000
          ? `,"annotations":{"apiserver.latency.k8s.io/etcd":"${(latencyUs / 2000).toFixed(3)}ms","apiserver.latency.k8s.io/total":"${(latencyUs / 1000).toFixed(6)}ms","note":"${pad}"}`
          : `,"annotations":{"note":"${pad}"}`;
      chunk += `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"00000000-0000-4000-8000-${String(n).padStart(12, "0")}","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/ns${n % 50}/${resource}","verb":"${verb}","user":{"username":"${USERS[n % USERS.length]}","groups":["system:authenticated"]},"sourceIPs":["10.0.${(n >> 8) % 256}.${n % 256}"],"userAgent":"kubectl/v1.35.0","objectRef":{"resource":"${resource}","namespace":"ns${n % 50}","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":${code}},"requestReceivedTimestamp":"${ts(t0, n % 1000)}","stageTimestamp":"${ts(t0 + Math.floor(latencyUs / 1000), (n + latencyUs) % 1000)}"${annotations}}\n`;
    }
    written += Buffer.byteLength(chunk);
    if (!out.write(chunk)) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
  return n;
}
