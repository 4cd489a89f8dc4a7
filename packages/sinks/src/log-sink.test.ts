import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import type { Event } from "@kaudit/api";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogSink, type LogSink } from "./log-sink";
import type { SinkReport } from "./report";
import { backupName, backupTimestamp, listBackups } from "./rotate";

let dir: string;
const sinks: LogSink[] = [];
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "kaudit-log-"));
});
afterEach(async () => {
  for (const s of sinks.splice(0)) await s.shutdown();
  fs.rmSync(dir, { recursive: true, force: true });
});

// Most tests read the file right after processEvents: write in the call, as the reference does.
function open(o: Parameters<typeof createLogSink>[0]): LogSink {
  const s = createLogSink({ coalesce: false, ...o });
  sinks.push(s);
  return s;
}

const event = (id: string, extra: Partial<Event> = {}): Event => ({
  level: "Metadata",
  auditID: id,
  stage: "ResponseComplete",
  requestURI: "/api/v1/namespaces/default/pods",
  verb: "list",
  user: { username: "admin", groups: ["system:masters"] },
  sourceIPs: ["127.0.0.1"],
  responseStatus: { metadata: {}, code: 200 },
  requestReceivedTimestamp: "2026-11-22T10:04:05.123456Z",
  stageTimestamp: "2026-11-22T10:04:05.223456Z",
  ...extra,
});

const lines = (file: string) => fs.readFileSync(file, "utf8").split("\n").filter(Boolean);

describe("log sink basics (§8.2, §8.4)", () => {
  it("creates the directory 0700 and the file 0600 at start-up, before any event", () => {
    const file = path.join(dir, "sub", "audit.log");
    open({ path: file });
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(file).size).toBe(0);
  });

  it("writes one kube-exact JSON line per event and names itself log", () => {
    const file = path.join(dir, "audit.log");
    const s = open({ path: file });
    expect(s.processEvents([event("a"), event("b")])).toBe(true);
    const [first] = lines(file);
    expect(first).toBe(
      '{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/pods","verb":"list","user":{"username":"admin","groups":["system:masters"]},"sourceIPs":["127.0.0.1"],"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2026-11-22T10:04:05.123456Z","stageTimestamp":"2026-11-22T10:04:05.223456Z"}',
    );
    expect(lines(file)).toHaveLength(2);
    expect(String(s)).toBe("log");
    expect(s.stats).toMatchObject({ events: 2, errors: 0, rotations: 0 });
  });

  it("writes the legacy format", () => {
    const file = path.join(dir, "audit.log");
    open({ path: file, format: "legacy" }).processEvents([
      event("a", { objectRef: { resource: "pods", namespace: "default" } }),
    ]);
    expect(lines(file)).toEqual([
      '2026-11-22T10:04:05.123456Z AUDIT: id="a" stage="ResponseComplete" ip="127.0.0.1" method="list" user="admin" groups="\\"system:masters\\"" as="<self>" asgroups="<lookup>" user-agent="" namespace="default" uri="/api/v1/namespaces/default/pods" response="200"',
    ]);
  });

  it("fails every event of an unknown format with the reference's message", () => {
    const s = open({ path: path.join(dir, "a.log"), format: "yaml" });
    const reports: SinkReport[] = [];
    s.on("error", (r) => reports.push(r));
    expect(s.processEvents([event("a")])).toBe(false);
    expect(reports[0]!.error.message).toBe(
      'log format "yaml" is not in list of known formats (legacy,json)',
    );
  });

  it.each([
    ["maxAge", "--audit-log-maxage -1 can't be a negative number"],
    ["maxBackups", "--audit-log-maxbackup -1 can't be a negative number"],
    ["maxSize", "--audit-log-maxsize -1 can't be a negative number"],
  ])("rejects a negative %s", (key, message) => {
    expect(() => createLogSink({ path: path.join(dir, "a.log"), [key]: -1 })).toThrow(message);
  });

  it("says ensureLogFile when the file cannot be created", () => {
    const blocker = path.join(dir, "file");
    fs.writeFileSync(blocker, "");
    expect(() => createLogSink({ path: path.join(blocker, "audit.log") })).toThrow(
      /^ensureLogFile: (EEXIST|ENOTDIR)/,
    );
  });

  it("counts and reports a failing write (disk full), returns false and stays usable", () => {
    const s = open({ path: "/dev/full", maxSize: 0 });
    const reports: SinkReport[] = [];
    s.on("error", (r) => reports.push(r));
    expect(s.processEvents([event("a"), event("b")])).toBe(false);
    expect(reports).toHaveLength(1);
    expect(reports[0]!.error.message).toMatch(/ENOSPC/);
    expect(reports[0]!.events.map((e) => e.auditID)).toEqual(["a", "b"]);
    expect(s.stats.errors).toBe(2);
    expect(s.processEvents([event("c")])).toBe(false);
    expect(s.stats.errors).toBe(3);
  });

  it("coalesces lines into one write at the end of the turn by default", async () => {
    const file = path.join(dir, "audit.log");
    const s = open({ path: file, coalesce: true });
    expect(s.processEvents([event("a")])).toBe(true);
    expect(s.processEvents([event("b")])).toBe(true);
    expect(fs.readFileSync(file, "utf8")).toBe("");
    await new Promise((r) => setImmediate(r));
    expect(lines(file).map((l) => JSON.parse(l).auditID)).toEqual(["a", "b"]);
  });

  it("reports a coalesced write that fails later, with the events it carried", async () => {
    const s = open({ path: "/dev/full", maxSize: 0, coalesce: true });
    const reports: SinkReport[] = [];
    s.on("error", (r) => reports.push(r));
    expect(s.processEvents([event("a"), event("b")])).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(reports[0]!.error.message).toMatch(/ENOSPC/);
    expect(reports[0]!.events.map((e) => e.auditID)).toEqual(["a", "b"]);
    expect(s.stats.errors).toBe(2);
  });

  it("flushes coalesced lines on shutdown", async () => {
    const file = path.join(dir, "audit.log");
    const s = createLogSink({ path: file });
    s.processEvents([event("last")]);
    await s.shutdown();
    expect(lines(file).map((l) => JSON.parse(l).auditID)).toEqual(["last"]);
  });

  it("refuses events after shutdown, counted", async () => {
    const s = createLogSink({ path: path.join(dir, "a.log") });
    s.on("error", () => {});
    await s.shutdown();
    await s.shutdown();
    expect(s.processEvents([event("late")])).toBe(false);
    expect(s.stats.errors).toBe(1);
  });

  it("reopen() follows an external rotation", () => {
    const file = path.join(dir, "audit.log");
    const s = open({ path: file });
    s.processEvents([event("before")]);
    fs.renameSync(file, `${file}.1`);
    s.reopen();
    s.processEvents([event("after")]);
    expect(lines(`${file}.1`).map((l) => JSON.parse(l).auditID)).toEqual(["before"]);
    expect(lines(file).map((l) => JSON.parse(l).auditID)).toEqual(["after"]);
  });

  it("writes to standard output with path -", () => {
    const script = `import { createLogSink } from ${JSON.stringify(path.resolve(__dirname, "log-sink.ts"))};
const s = createLogSink({ path: "-" });
s.processEvents([{ level: "Metadata", auditID: "x", stage: "ResponseComplete", requestURI: "/", verb: "get", user: {} }]);`;
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", script],
      { encoding: "utf8", cwd: path.resolve(__dirname, "..") },
    );
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(
      '{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"x","stage":"ResponseComplete","requestURI":"/","verb":"get","user":{},"requestReceivedTimestamp":null,"stageTimestamp":null}\n',
    );
  });
});

describe("rotation exactly like lumberjack v2.2.1 (§8.5)", () => {
  const T0 = Date.UTC(2026, 10, 22, 10, 4, 5, 123);

  it("names backups <name>-<UTC 2006-01-02T15-04-05.000><ext>", () => {
    expect(backupTimestamp(T0)).toBe("2026-11-22T10-04-05.123");
    expect(backupName("/var/log/audit.log", T0)).toBe("/var/log/audit-2026-11-22T10-04-05.123.log");
    expect(backupName("/var/log/audit", T0)).toBe("/var/log/audit-2026-11-22T10-04-05.123");
  });

  it("rejects a line bigger than maxSize for that event only", () => {
    const s = open({ path: path.join(dir, "a.log"), maxSize: 1 });
    const reports: SinkReport[] = [];
    s.on("error", (r) => reports.push(r));
    const big = event("big", { userAgent: "x".repeat(1024 * 1024) });
    expect(s.processEvents([event("a"), big, event("b")])).toBe(false);
    expect(reports[0]!.error.message).toMatch(
      /^write length \d+ exceeds maximum file size 1048576$/,
    );
    expect(lines(path.join(dir, "a.log")).map((l) => JSON.parse(l).auditID)).toEqual(["a", "b"]);
  });

  it("rotates on the first write at size + len >= max, later only at > max", () => {
    const file = path.join(dir, "audit.log");
    const one = Buffer.byteLength(
      `${'{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a","stage":"ResponseComplete","requestURI":"/","verb":"get","user":{},"requestReceivedTimestamp":null,"stageTimestamp":null}'}\n`,
    );
    const e = (id: string): Event => ({
      level: "Metadata",
      auditID: id,
      stage: "ResponseComplete",
      requestURI: "/",
      verb: "get",
      user: {},
    });
    // An existing file one line short of 1 MiB: the first write fills it exactly ⇒ rotate first.
    fs.writeFileSync(file, "x".repeat(1024 * 1024 - one));
    let t = T0;
    const s = open({ path: file, maxSize: 1, now: () => t });
    s.processEvents([e("a")]);
    expect(s.stats.rotations).toBe(1);
    expect(
      fs.readFileSync(path.join(dir, "audit-2026-11-22T10-04-05.123.log"), "utf8"),
    ).toHaveLength(1024 * 1024 - one);
    // Now fill the new file to exactly 1 MiB: a later write that lands on max does not rotate.
    const filler = 1024 * 1024 - 2 * one;
    fs.appendFileSync(file, "y".repeat(filler));
    s.reopen(); // pick up the appended size
    t += 1000;
    s.processEvents([e("b")]);
    expect(fs.statSync(file).size).toBe(1024 * 1024);
    expect(s.stats.rotations).toBe(1);
    s.processEvents([e("c")]);
    expect(s.stats.rotations).toBe(2);
    expect(fs.existsSync(path.join(dir, "audit-2026-11-22T10-04-06.123.log"))).toBe(true);
    // lumberjack creates the new file with the old one's mode (here the pre-existing 0644).
    expect(fs.statSync(file).mode & 0o777).toBe(
      fs.statSync(path.join(dir, "audit-2026-11-22T10-04-06.123.log")).mode & 0o777,
    );
  });

  it("keeps maxBackups newest by name time, a file and its .gz counted once", async () => {
    const file = path.join(dir, "audit.log");
    const names = [
      "audit-2026-11-20T00-00-00.000.log",
      "audit-2026-11-20T00-00-00.000.log.gz",
      "audit-2026-11-19T00-00-00.000.log.gz",
      "audit-2026-11-18T00-00-00.000.log",
      "audit-2026-11-17T00-00-00.000.log",
      "other-2026-11-17T00-00-00.000.log",
      "audit-notatime.log",
    ];
    for (const n of names) fs.writeFileSync(path.join(dir, n), "old\n");
    fs.writeFileSync(file, "");
    const s = open({ path: file, maxSize: 1, maxBackups: 3, maxAge: 0, now: () => T0 });
    s.processEvents([event("a", { userAgent: "x".repeat(1024 * 1024 - 600) })]);
    s.processEvents([event("b")]); // rotates: the new backup is the newest
    await s.settled();
    expect(fs.readdirSync(dir).sort()).toEqual(
      [
        "audit-2026-11-19T00-00-00.000.log.gz",
        "audit-2026-11-20T00-00-00.000.log",
        "audit-2026-11-20T00-00-00.000.log.gz",
        "audit-2026-11-22T10-04-05.123.log",
        "audit-notatime.log",
        "audit.log",
        "other-2026-11-17T00-00-00.000.log",
      ].sort(),
    );
  });

  it("deletes backups older than maxAge days and gzips the rest", async () => {
    const file = path.join(dir, "audit.log");
    fs.writeFileSync(path.join(dir, "audit-2026-11-10T00-00-00.000.log"), "ten days\n");
    fs.writeFileSync(path.join(dir, "audit-2026-11-21T00-00-00.000.log"), "one day\n");
    const s = open({
      path: file,
      maxSize: 1,
      maxAge: 7,
      maxBackups: 0,
      compress: true,
      now: () => T0,
    });
    s.processEvents([event("a", { userAgent: "x".repeat(1024 * 1024 - 600) })]);
    s.processEvents([event("b")]);
    await s.settled();
    const left = fs.readdirSync(dir).sort();
    expect(left).toEqual([
      "audit-2026-11-21T00-00-00.000.log.gz",
      "audit-2026-11-22T10-04-05.123.log.gz",
      "audit.log",
    ]);
    expect(gunzipSync(fs.readFileSync(path.join(dir, left[0]!))).toString()).toBe("one day\n");
    expect(
      JSON.parse(gunzipSync(fs.readFileSync(path.join(dir, left[1]!))).toString()).auditID,
    ).toBe("a");
  });

  it("beyond lumberjack: maxTotalSize deletes the oldest backups until they fit", async () => {
    const file = path.join(dir, "audit.log");
    for (const d of ["18", "19", "20", "21"])
      fs.writeFileSync(path.join(dir, `audit-2026-11-${d}T00-00-00.000.log`), "z".repeat(1000));
    const s = open({
      path: file,
      maxSize: 1,
      maxAge: 0,
      maxBackups: 0,
      maxTotalSize: 1024 * 1024 + 1000,
      now: () => T0,
    });
    s.processEvents([event("a", { userAgent: "x".repeat(1024 * 1024 - 600) })]);
    s.processEvents([event("b")]);
    await s.settled();
    expect(listBackups(file).map((b) => b.name)).toEqual([
      "audit-2026-11-22T10-04-05.123.log",
      "audit-2026-11-21T00-00-00.000.log",
    ]);
  });

  it("loses no line under concurrent load with rotation", async () => {
    const file = path.join(dir, "audit.log");
    let t = T0;
    const s = open({ path: file, maxSize: 1, maxBackups: 0, maxAge: 0, now: () => (t += 1) });
    const writers = Array.from({ length: 8 }, (_, w) =>
      (async () => {
        for (let i = 0; i < 1500; i++) {
          s.processEvents([event(`${w}-${i}`, { userAgent: "kubectl/v1.32".padEnd(200, ".") })]);
          if (i % 50 === 0) await new Promise((r) => setImmediate(r));
        }
      })(),
    );
    await Promise.all(writers);
    await s.settled();
    const files = fs.readdirSync(dir);
    expect(files.length).toBeGreaterThan(3);
    let count = 0;
    const ids = new Set<string>();
    for (const f of files) {
      for (const l of lines(path.join(dir, f))) {
        ids.add(JSON.parse(l).auditID);
        count++;
      }
    }
    expect(count).toBe(12000);
    expect(ids.size).toBe(12000);
    expect(s.stats).toMatchObject({ events: 12000, errors: 0 });
  });
});
