// A child process that writes audit events the way kube-apiserver's backends do, through
// @kaudit/sinks, for the `kaudit watch` tests:
//   node watch-writer.mjs log <audit.log> <events.json> [maxSizeMB]   rotating log sink (gzip'd backups)
//   node watch-writer.mjs webhook <kubeconfig.json> <events.json>     buffered webhook sink (mTLS)
//   node watch-writer.mjs rate-log <audit.log> <events/s> <seconds> <maxSizeMB>  generated load
//   node watch-writer.mjs rate-webhook <kubeconfig.json> <events/s> <seconds>    generated load
// It prints one JSON line with what it wrote and exits 0 when everything was accepted.
import { readFileSync } from "node:fs";
import { buffered, createLogSink, createWebhookSink } from "@kaudit/sinks";

const [mode, target, arg3, arg4, arg5] = process.argv.slice(2);
const errors = [];

function report(sink) {
  sink.on("error", ({ error, events }) => errors.push(`${events.length}: ${error.message}`));
  sink.on("drop", ({ error, events }) => errors.push(`${events.length} dropped: ${error.message}`));
}

function noise(i, now) {
  const t = new Date(now).toISOString();
  return {
    kind: "Event",
    apiVersion: "audit.k8s.io/v1",
    level: "Metadata",
    auditID: `soak-${process.pid}-${i}`,
    stage: "ResponseComplete",
    requestURI: "/api/v1/namespaces/kube-system/pods?limit=500",
    verb: "list",
    user: { username: "system:kube-scheduler", groups: ["system:authenticated"] },
    sourceIPs: ["10.0.0.2"],
    userAgent: "kube-scheduler/v1.31.0",
    objectRef: { resource: "pods", namespace: "kube-system", apiVersion: "v1" },
    responseStatus: { metadata: {}, code: 200 },
    requestReceivedTimestamp: t,
    stageTimestamp: t,
  };
}

if (mode === "log") {
  const events = JSON.parse(readFileSync(arg3, "utf8"));
  const sink = createLogSink({
    path: target,
    maxSize: Number(arg4 ?? 1),
    maxBackups: 1000,
    compress: true,
  });
  report(sink);
  for (const e of events) sink.processEvents([e]);
  await sink.shutdown();
  console.log(JSON.stringify({ written: events.length, errors }));
} else if (mode === "webhook") {
  const events = JSON.parse(readFileSync(arg3, "utf8"));
  const kubeconfig = JSON.parse(readFileSync(target, "utf8"));
  const sink = buffered(createWebhookSink({ kubeconfig, initialBackoff: 200 }), {
    maxBatchSize: 200,
    maxBatchWait: 50,
    throttleEnable: false,
  });
  report(sink);
  for (const e of events) sink.processEvents([e]);
  await sink.shutdown();
  console.log(JSON.stringify({ written: events.length, errors }));
} else if (mode === "rate-log") {
  const rate = Number(arg3);
  const seconds = Number(arg4);
  const sink = createLogSink({
    path: target,
    maxSize: Number(arg5),
    maxBackups: 1000,
    compress: true,
  });
  report(sink);
  const start = Date.now();
  let i = 0;
  // Writes in 10 ms ticks, catching up to rate × elapsed each tick.
  while (Date.now() - start < seconds * 1000) {
    const due = Math.floor(((Date.now() - start) / 1000) * rate);
    const now = Date.now();
    while (i < due) sink.processEvents([noise(i++, now)]);
    await new Promise((r) => setTimeout(r, 10));
  }
  await sink.shutdown();
  console.log(JSON.stringify({ written: i, errors }));
} else if (mode === "rate-webhook") {
  const rate = Number(arg3);
  const seconds = Number(arg4);
  const kubeconfig = JSON.parse(readFileSync(target, "utf8"));
  // Retries outlast a restart of the receiver (0.5 + 0.75 + 1.1 + 1.7 s).
  const sink = buffered(createWebhookSink({ kubeconfig, initialBackoff: 500 }), {
    maxBatchSize: 400,
    maxBatchWait: 100,
    throttleEnable: false,
  });
  report(sink);
  const start = Date.now();
  let i = 0;
  while (Date.now() - start < seconds * 1000) {
    const due = Math.floor(((Date.now() - start) / 1000) * rate);
    const now = Date.now();
    while (i < due)
      sink.processEvents([{ ...noise(i++, now), auditID: `hook-${process.pid}-${i}` }]);
    await new Promise((r) => setTimeout(r, 10));
  }
  await sink.shutdown();
  console.log(JSON.stringify({ written: i, errors }));
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
process.exit(errors.length ? 1 : 0);
