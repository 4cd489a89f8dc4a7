// Child process for the SIGKILL test: writes events as fast as it can through a log sink with
// fsync "every event" and rotation, printing each auditID once processEvents acknowledged it.
import fs from "node:fs";
import { createLogSink } from "../log-sink";

const [file, run] = process.argv.slice(2) as [string, string];
const sink = createLogSink({
  path: file,
  fsync: "every event",
  maxSize: 1,
  maxBackups: 0,
  maxAge: 0,
});
let i = 0;
function burst(): void {
  for (let n = 0; n < 50; n++) {
    const id = `${run}-${i++}`;
    const ok = sink.processEvents([
      {
        level: "Metadata",
        auditID: id,
        stage: "ResponseComplete",
        requestURI: "/api/v1/namespaces/default/pods?limit=500",
        verb: "list",
        user: { username: "system:serviceaccount:kube-system:generic-garbage-collector" },
        userAgent: "kube-controller-manager/v1.32.4".padEnd(300, "."),
        responseStatus: { metadata: {}, code: 200 },
        requestReceivedTimestamp: "2026-11-22T10:04:05.123456Z",
        stageTimestamp: "2026-11-22T10:04:05.223456Z",
      },
    ]);
    if (ok) fs.writeSync(1, `${id}\n`);
  }
  setImmediate(burst);
}
burst();
