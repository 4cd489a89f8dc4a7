import fs from "node:fs"; import path from "node:path"; import os from "node:os";
import { followLog } from "@kaudit/sources";
const src = "/tmp/dup-N0tTJE";
const d = fs.mkdtempSync(path.join(os.tmpdir(), "res-"));
for (const n of fs.readdirSync(src)) if (n !== "audit.pos") fs.copyFileSync(path.join(src, n), path.join(d, n));
const gz = "audit-2026-12-01T15-12-15.613.log.gz";
const st = fs.statSync(path.join(d, gz));
const pos = {"version":1,"file":{"path":path.join(d, gz),"dev":st.dev,"ino":st.ino,"fingerprint":"4712968a2efbecf3f390393e46b06840","fingerprintBytes":1024,"gz":true},"offset":509012,"after":1796137935613};
fs.writeFileSync(path.join(d, "audit.pos"), JSON.stringify(pos));
const f = followLog(path.join(d, "audit.log"), { positionFile: path.join(d, "audit.pos"), from: "start", pollInterval: 50 });
f.on("drop", (x) => console.log("drop", x)); f.on("skip", (x) => console.log("skip", x));
let n = 0;
for await (const it of f) { if (n++ < 2) console.log("item", it.event?.auditID ?? it.problem?.message); else break; }
await f.close();
