// Child process for the kill -9 test (plain JS on the built package, so it starts fast): follows
// a log with a position file and prints each event's auditID once it is processed — a whole line
// written before the next item is asked for, which is what acknowledges it.
import fs from "node:fs";
import { followLog } from "@kaudit/sources";

const [file, positionFile, saveEvery] = process.argv.slice(2);
const follower = followLog(file, {
  positionFile,
  from: "start",
  saveEvery: Number(saveEvery),
  pollInterval: 50,
});
const nap = new Int32Array(new SharedArrayBuffer(4));
function print(text) {
  const buf = Buffer.from(text);
  let at = 0;
  while (at < buf.length) {
    try {
      at += fs.writeSync(1, buf, at);
    } catch (e) {
      // the pipe is non-blocking: wait for the parent to read
      if (e.code !== "EAGAIN") throw e;
      Atomics.wait(nap, 0, 0, 5);
    }
  }
}
for await (const item of follower) {
  if ("event" in item) print(`${item.event.auditID}\n`);
  else print(`problem ${item.problem.message}\n`);
}
