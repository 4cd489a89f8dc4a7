// Child process for the rotation tests (plain JS on the built packages, so it starts fast):
// writes `count` events with auditIDs `<run>-<n>` through @kaudit/sinks' log sink with
// lumberjack rotation at 1 MB, gzip'd backups and a retention count, 500 at a time every
// `pace` ms (as a busy apiserver does), then prints "done". With `waitFor`, it pauses after the
// first burst until that file exists (a follower's position file: the follower is reading).
import fs from "node:fs";
import { createLogSink } from "@kaudit/sinks";

const [file, countArg, backupsArg, run = "w", pace = "0", waitFor] = process.argv.slice(2);
const count = Number(countArg);
const sink = createLogSink({
  path: file,
  maxSize: 1,
  compress: true,
  maxBackups: Number(backupsArg),
  maxAge: 0,
});
let i = 0;
function burst() {
  const end = Math.min(count, i + 500);
  for (; i < end; i++) {
    sink.processEvents([
      {
        level: "Metadata",
        auditID: `${run}-${i}`,
        stage: "ResponseComplete",
        requestURI: "/api/v1/namespaces/default/pods?limit=500",
        verb: "list",
        user: {
          username: "system:serviceaccount:kube-system:generic-garbage-collector",
          groups: ["system:serviceaccounts"],
        },
        sourceIPs: ["10.0.0.1"],
        userAgent:
          "kube-controller-manager/v1.32.4 (linux/amd64) kubernetes/abc1234/system:serviceaccount:kube-system:generic-garbage-collector",
        objectRef: { resource: "pods", namespace: "default", apiVersion: "v1" },
        responseStatus: { metadata: {}, code: 200 },
        requestReceivedTimestamp: "2026-11-22T10:04:05.123456Z",
        stageTimestamp: "2026-11-22T10:04:05.223456Z",
      },
    ]);
  }
  if (i === 500 && waitFor !== undefined && !fs.existsSync(waitFor)) {
    const wait = () => (fs.existsSync(waitFor) ? burst() : setTimeout(wait, 20));
    setTimeout(wait, 20);
    return;
  }
  if (i < count) setTimeout(burst, Number(pace));
  else void sink.shutdown().then(() => process.stdout.write("done\n"));
}
burst();
