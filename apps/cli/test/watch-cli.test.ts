/**
 * `kaudit watch` as a process: usage errors, SIGHUP reloads that keep threshold windows (and a
 * broken rules file that keeps the rules in use), SIGTERM, and a restart that resumes from the
 * saved position without reading anything twice.
 */
import { existsSync } from "node:fs";
import { appendFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../../../packages/watch/src/testing/components";
import { kaudit } from "./helpers";
import { auditEvent, startWatch } from "./watch-helpers";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "kaudit-watch-cli-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const BURST_RULE = `
- rule: Unauthenticated request burst
  desc: Five or more 401s from one source IP within a minute
  condition: ka.stage = ResponseComplete and ka.response.code = 401
  output: "401 burst from %kaudit.source_ip"
  priority: WARNING
  source: k8s_audit
  kaudit:
    threshold: { count: 5, window: 1m, by: kaudit.source_ip }
`;
const SECRET_RULE = `
- rule: Secret read by a person
  desc: Someone who is not a system component read a secret
  condition: ka.target.resource = secrets and not ka.user.name startswith "system:"
  output: "secret %ka.target.name read by %ka.user.name"
  priority: WARNING
  source: k8s_audit
`;

const unauthorized = (id: string) =>
  auditEvent(id, {
    verb: "get",
    user: { username: "system:anonymous" },
    sourceIPs: ["198.51.100.9"],
    responseStatus: { metadata: {}, code: 401 },
  });
const secretRead = (id: string) =>
  auditEvent(id, {
    verb: "get",
    user: { username: "erin" },
    objectRef: { resource: "secrets", namespace: "shop", name: id, apiVersion: "v1" },
  });
const lines = (events: Record<string, unknown>[]) =>
  events.map((e) => `${JSON.stringify(e)}\n`).join("");

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const l of text.split("\n"))
    if (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) sum += Number(l.split(" ").at(-1));
  return sum;
}

async function alerts(path: string): Promise<Array<{ rule: string; output: string }>> {
  if (!existsSync(path)) return [];
  const text = await readFile(path, "utf8");
  return text
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
}

describe("kaudit watch usage errors (exit 2, a message that says what)", () => {
  it.each([
    [[], "kaudit watch: nothing to read: give --follow PATH and/or --listen HOST:PORT"],
    [
      ["--listen", "127.0.0.1:0"],
      "kaudit watch: --listen needs --tls-cert-file and --tls-private-key-file",
    ],
    [
      ["--follow", "x.log", "--metrics-address", "9464"],
      'kaudit watch: --metrics-address "9464": expected HOST:PORT',
    ],
    [
      ["--follow", "x.log", "--from", "middle"],
      'kaudit watch: --from "middle": expected start or end',
    ],
    [
      ["--follow", "x.log", "--alertmanager", "ftp://am"],
      "only http:// and https:// URLs can receive alerts",
    ],
    [
      ["--follow", "x.log", "--rules", "/nonexistent/rules.yaml"],
      "kaudit watch: rules not loaded:",
    ],
    [
      ["--config", "/nonexistent/watch.yaml"],
      "/nonexistent/watch.yaml: cannot read: no such file or directory",
    ],
  ])("%j", async (args, message) => {
    const r = await kaudit(["watch", ...args]);
    expect(r.stderr).toContain(message);
    expect(r.code).toBe(2);
  });

  it("a broken --config file names the file, line and column of each problem", async () => {
    const cfg = join(dir, "bad.yaml");
    await writeFile(cfg, "follow: [a.log]\nalertmanagr: http://am:9093\nlisten: [x]\n");
    const r = await kaudit(["watch", "--config", cfg]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${cfg}:2:1: alertmanagr: unknown setting`);
    expect(r.stderr).toContain(`${cfg}:3:9: listen: expected a string`);
  });

  it("--help shows every flag and an example", async () => {
    const r = await kaudit(["watch", "--help"]);
    expect(r.code).toBe(0);
    for (const flag of [
      "--rules",
      "--follow",
      "--position-file",
      "--listen",
      "--tls-cert-file",
      "--tls-private-key-file",
      "--client-ca-file",
      "--token-auth-file",
      "--alertmanager",
      "--alert-webhook",
      "--alerts-out",
      "--metrics-address",
      "--time-zone",
      "--config",
    ]) {
      expect(r.stdout).toContain(flag);
    }
    expect(r.stdout).toMatch(/Examples?:\n {2}\$ kaudit watch /);
  });
});

describe("kaudit watch signals", () => {
  it("SIGHUP keeps threshold windows; a broken file keeps the rules; SIGTERM saves; a restart resumes", async () => {
    const rules = join(dir, "rules.yaml");
    const log = join(dir, "audit.log");
    const out = join(dir, "alerts.jsonl");
    const pos = join(dir, "audit.pos");
    const cfg = join(dir, "watch.yaml");
    await writeFile(rules, BURST_RULE);
    await writeFile(log, "");
    // the settings come from a config file (relative paths), one from a flag
    await writeFile(
      cfg,
      "rules: [rules.yaml]\nfollow: audit.log\nposition-file: audit.pos\nalerts-out: alerts.jsonl\nfrom: start\n",
    );
    const args = ["--config", cfg, "--metrics-address", "127.0.0.1:0"];
    let w = startWatch(args);
    try {
      await w.waitFor(/metrics on (http:\S+)\/metrics/);
      let url = /metrics on (http:\S+)\/metrics/.exec(w.stderr())![1]!;
      await w.waitFor(/alerts to/);

      await appendFile(log, lines([0, 1, 2].map((i) => unauthorized(`u${i}`))));
      await eventually(
        () => metric(url, "kaudit_events_read_total"),
        (n) => n === 3,
      );

      // reload with one more rule: the 401 count (3 of 5) is kept
      await writeFile(rules, BURST_RULE + SECRET_RULE);
      w.child.kill("SIGHUP");
      await w.waitFor(/rules reloaded: 2 rules \(threshold windows kept\)/);
      await appendFile(log, lines([unauthorized("u3"), unauthorized("u4"), secretRead("s1")]));
      await eventually(
        () => alerts(out),
        (a) => a.length === 2,
      );
      expect((await alerts(out)).map((a) => a.rule)).toEqual([
        "Unauthenticated request burst",
        "Secret read by a person",
      ]);

      // a broken file: said on stderr, the two rules stay in use
      await writeFile(rules, `${BURST_RULE}${SECRET_RULE}- rule: Broken\n  condition: ka.verb =\n`);
      w.child.kill("SIGHUP");
      await w.waitFor(
        /rules not reloaded, still using the 2 rules loaded before: .*rules\.yaml:\d+:\d+/,
      );
      expect(await metric(url, "kaudit_rules_loaded")).toBe(2);
      await appendFile(log, lines([secretRead("s2")]));
      await eventually(
        () => alerts(out),
        (a) => a.length === 3,
      );

      expect(await w.stop("SIGTERM")).toBe(0);
      expect(w.stderr()).toMatch(/stopped: 7 events read, 3 alerts/);
      expect(existsSync(pos)).toBe(true);

      // a broken rules file stops a start (exit 2); fixed, the restart reads only what was
      // written while kaudit was down
      const refused = await kaudit(["watch", ...args]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/rules not loaded: .*rules\.yaml:\d+:\d+: rule 'Broken'/);
      await writeFile(rules, BURST_RULE + SECRET_RULE);
      await appendFile(log, lines([secretRead("s3")]));
      w = startWatch(args);
      await w.waitFor(/metrics on (http:\S+)\/metrics/);
      url = /metrics on (http:\S+)\/metrics/.exec(w.stderr())![1]!;
      await eventually(
        () => alerts(out),
        (a) => a.length === 4,
      );
      await new Promise((r) => setTimeout(r, 500));
      expect(await metric(url, "kaudit_events_read_total")).toBe(1);
      expect((await alerts(out)).at(-1)!.output).toContain("secret s3 read by erin");
      expect(await w.stop("SIGINT")).toBe(0);
    } finally {
      await w.stop();
    }
  }, 60_000);
});
