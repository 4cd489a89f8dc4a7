// One sender of the fleet test (fleet.test.ts): a process that records audit events the way
// kube-apiserver's backends do, through @kaudit/sinks, paced, and says what it sent.
//   node fleet-sender.mjs <config.json>
// config: { id, mode: "webhook" | "log", target: kubeconfig path | log path, events, batch,
//           intervalMs, manifest }
// The events are a script (fleetEvents below): background traffic plus, per sender, bursts of
// 401s by source IP and of 403s by user that reach the default rules' thresholds (5 in 1m by IP,
// 10 distinct URIs in 5m by user) and near misses one short of them, impersonated, slow and
// anonymous requests. When every event was accepted it writes them all to `manifest` (JSON
// lines), prints {"sent":N,...} and exits 0; a batch that fails is sent again (same auditIDs: the
// stream's duplicate window drops what arrived twice).
import { readFileSync, writeFileSync } from "node:fs";
import { createLogSink, createWebhookSink } from "@kaudit/sinks";

const T0 = Date.parse("2026-11-22T10:00:00Z");
const STEP_MS = 400;

/** The n-th event of sender `s` (deterministic). */
export function fleetEvent(s, n) {
  const t = T0 + n * STEP_MS;
  const iso = (ms) => new Date(ms).toISOString();
  const e = {
    kind: "Event",
    apiVersion: "audit.k8s.io/v1",
    level: "Metadata",
    auditID: `fleet-${s}-${String(n).padStart(5, "0")}`,
    stage: "ResponseComplete",
    requestURI: `/api/v1/namespaces/ns-${n % 3}/pods/p-${n}`,
    verb: "get",
    user: { username: `svc-${s}-${n % 5}`, groups: ["system:authenticated"] },
    sourceIPs: [`10.200.${s}.${n % 13}`],
    userAgent: `fleet-sender/${s}`,
    objectRef: { resource: "pods", namespace: `ns-${n % 3}`, name: `p-${n}`, apiVersion: "v1" },
    responseStatus: { metadata: {}, code: 200 },
    requestReceivedTimestamp: iso(t - 5),
    stageTimestamp: iso(t),
  };
  const b = Math.floor(n / 100);
  const off = n % 100;
  const full = b % 2 === 0;
  if (off >= 10 && off < 20 && off % 2 === 1 && (full || off < 17)) {
    // 401 burst: 5 (full) or 4 (near miss) failed logins from one IP within 4 s. Full bursts
    // (even blocks, 80 s apart) reuse one IP: one key firing in several windows.
    e.sourceIPs = [full ? `10.${s}.1.0` : `10.${s}.2.${b}`];
    e.user = { username: "system:anonymous", groups: ["system:unauthenticated"] };
    e.responseStatus = { metadata: {}, status: "Failure", message: "Unauthorized", code: 401 };
    delete e.objectRef;
    return e;
  }
  if (off >= 20 && off < (full ? 30 : 29)) {
    // 403 probe: 10 (full) or 9 (near miss) different URIs denied to one user.
    e.user = { username: full ? `probe-${s}-${b}` : `near-${s}-${b}`, groups: ["dev"] };
    e.requestURI = `/api/v1/namespaces/kube-system/secrets/s-${off}`;
    e.objectRef = {
      resource: "secrets",
      namespace: "kube-system",
      name: `s-${off}`,
      apiVersion: "v1",
    };
    e.responseStatus = { metadata: {}, status: "Failure", reason: "Forbidden", code: 403 };
    e.annotations = { "authorization.k8s.io/decision": "forbid" };
    return e;
  }
  if (n % 97 === 50) e.impersonatedUser = { username: `imp-${s}-${n}` };
  else if (n % 89 === 60) e.requestReceivedTimestamp = iso(t - 1500);
  else if (n % 83 === 70) {
    e.user = { username: "system:anonymous", groups: ["system:unauthenticated"] };
    e.requestURI = "/api/v1/namespaces";
    e.objectRef = { resource: "namespaces", apiVersion: "v1" };
    e.verb = "list";
    e.annotations = {
      "authorization.k8s.io/decision": "allow",
      "authorization.k8s.io/reason": "anonymous list",
    };
  }
  return e;
}

async function main() {
  const c = JSON.parse(readFileSync(process.argv[2], "utf8"));
  const errors = [];
  const sink =
    c.mode === "webhook"
      ? createWebhookSink({ kubeconfig: c.target, attempts: 4, initialBackoff: 200, timeout: 5000 })
      : createLogSink({ path: c.target, maxSize: 0 });
  sink.on("error", ({ error, events }) => errors.push(`${events.length}: ${error.message}`));
  const events = Array.from({ length: c.events }, (_, n) => fleetEvent(c.id, n));
  let resent = 0;
  for (let i = 0; i < events.length; i += c.batch) {
    const batch = events.slice(i, i + c.batch);
    const started = Date.now();
    // Until accepted: a collector killed mid-batch answers nothing; its restart takes the batch.
    while (!(await sink.processEvents(batch))) {
      resent++;
      if (resent > 200) throw new Error(`batch at ${i} never accepted: ${errors.at(-1)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const wait = c.intervalMs - (Date.now() - started);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  await sink.shutdown();
  writeFileSync(c.manifest, events.map((e) => `${JSON.stringify(e)}\n`).join(""));
  process.stdout.write(
    `${JSON.stringify({ sent: events.length, resent, errors: errors.length })}\n`,
  );
}

if (process.argv[2]) {
  main().catch((err) => {
    process.stderr.write(`fleet-sender: ${err?.stack ?? err}\n`);
    process.exit(1);
  });
}
