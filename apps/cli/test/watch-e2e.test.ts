/**
 * `kaudit watch` end to end with the real components: Alertmanager and Prometheus (Debian
 * packages) on free loopback ports with configs written here; kaudit follows a log that a child
 * writes through @kaudit/sinks' rotating log sink and receives a second child's @kaudit/sinks
 * webhook (mTLS); a scripted incident must come out as exactly the expected alerts, and
 * Prometheus must see every event that was written.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// The sinks package's throwaway PKI for tests (a CA, a server and a client certificate).
import { createTestPki } from "../../../packages/sinks/src/testing/pki";
import {
  ALERTMANAGER_BIN,
  alertmanagerAlerts,
  type Component,
  eventually,
  freePort,
  haveBinary,
  PROMETHEUS_BIN,
  promQuery,
  startAlertmanager,
  startPrometheus,
} from "../../../packages/watch/src/testing/components";
import { auditEvent, runWriter, startWatch, type WatchProcess } from "./watch-helpers";

const HOUR = 3_600_000;

/** The incident's rules: kaudit's extensions (threshold, time window) on Falco's language. */
function rulesFile(now: number): string {
  return `
- kaudit.time_window: change-freeze
  periods:
    - from: ${new Date(now - HOUR).toISOString()}
      to: ${new Date(now + HOUR).toISOString()}

- rule: Unauthenticated request burst
  desc: Five or more 401s from one source IP within a minute
  condition: ka.stage = ResponseComplete and ka.response.code = 401
  output: "401 burst from %kaudit.source_ip"
  priority: WARNING
  source: k8s_audit
  tags: [authentication]
  kaudit:
    threshold: { count: 5, window: 1m, by: kaudit.source_ip }

- rule: Slow request
  desc: A request that took over a second and is not long-running
  condition: ka.stage = ResponseComplete and kaudit.latency > 1000 and kaudit.long_running = false
  output: "slow %ka.verb %ka.target.resource (user=%ka.user.name)"
  priority: NOTICE
  source: k8s_audit
  tags: [latency]

- rule: Secret read by a person
  desc: Someone who is not a system component read a secret
  condition: >
    ka.stage = ResponseComplete and ka.target.resource = secrets and ka.verb in (get, list)
    and not ka.user.name startswith "system:"
  output: "secret %ka.target.namespace/%ka.target.name read by %ka.user.name"
  priority: WARNING
  source: k8s_audit
  tags: [secrets]

- rule: Exec into pod
  desc: An exec or attach into a container
  condition: ka.target.resource = pods and ka.target.subresource in (exec, attach)
  output: "exec into %ka.target.namespace/%ka.target.name by %ka.user.name"
  priority: NOTICE
  source: k8s_audit
  tags: [exec]

- rule: Write during change freeze
  desc: A create, update, patch or delete while the change freeze is on
  condition: ka.stage = ResponseComplete and ka.verb in (create, update, patch, delete, deletecollection)
  output: "%ka.verb %ka.target.resource %ka.target.namespace/%ka.target.name by %ka.user.name during the freeze"
  priority: ERROR
  source: k8s_audit
  tags: [change]
  kaudit:
    inside: change-freeze
`;
}

const b64 = (s: string) => Buffer.from(s).toString("base64");

describe.runIf(haveBinary(ALERTMANAGER_BIN) && haveBinary(PROMETHEUS_BIN))(
  "kaudit watch with real Alertmanager and Prometheus",
  () => {
    let dir: string;
    let am: Component;
    let prom: Component;
    let watch: WatchProcess;
    let metricsPort: number;
    let logWritten = 0;
    let hookWritten = 0;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "kaudit-watch-e2e-"));
      const pki = await createTestPki();
      await writeFile(join(dir, "tls.crt"), pki.serverCert);
      await writeFile(join(dir, "tls.key"), pki.serverKey);
      await writeFile(join(dir, "ca.crt"), pki.caCert);
      await writeFile(join(dir, "rules.yaml"), rulesFile(Date.now()));
      metricsPort = await freePort();
      const receiverPort = await freePort();
      [am, prom] = await Promise.all([
        startAlertmanager(dir),
        startPrometheus(dir, [`127.0.0.1:${metricsPort}`]),
      ]);
      watch = startWatch([
        "--rules",
        join(dir, "rules.yaml"),
        "--follow",
        join(dir, "log", "audit.log"),
        "--from",
        "start",
        "--position-file",
        join(dir, "audit.pos"),
        "--listen",
        `127.0.0.1:${receiverPort}`,
        "--tls-cert-file",
        join(dir, "tls.crt"),
        "--tls-private-key-file",
        join(dir, "tls.key"),
        "--client-ca-file",
        join(dir, "ca.crt"),
        "--alertmanager",
        am.url,
        "--alerts-out",
        join(dir, "alerts.jsonl"),
        "--metrics-address",
        `127.0.0.1:${metricsPort}`,
      ]);
      await watch.waitFor(/alerts to /);

      // The scripted incident, spread over two writers.
      const logEvents: Record<string, unknown>[] = [];
      for (let i = 0; i < 3000; i++) {
        // routine traffic, each request in two stages
        logEvents.push(
          auditEvent(`log-${i}`, { stage: "RequestReceived", responseStatus: undefined }),
        );
        logEvents.push(auditEvent(`log-${i}`));
        if (i === 1000) {
          for (let k = 0; k < 6; k++) {
            logEvents.push(
              auditEvent(`burst-${k}`, {
                verb: "get",
                requestURI: "/api/v1/namespaces",
                user: { username: "system:anonymous" },
                sourceIPs: ["203.0.113.7"],
                objectRef: { resource: "namespaces", apiVersion: "v1" },
                responseStatus: { metadata: {}, status: "Failure", code: 401 },
              }),
            );
          }
        }
        if (i === 2000) {
          logEvents.push(
            auditEvent("secret-read", {
              verb: "get",
              requestURI: "/api/v1/namespaces/shop/secrets/db-password",
              user: { username: "alice", groups: ["system:authenticated"] },
              objectRef: {
                resource: "secrets",
                namespace: "shop",
                name: "db-password",
                apiVersion: "v1",
              },
            }),
          );
        }
      }
      const hookEvents: Record<string, unknown>[] = [];
      for (let i = 0; i < 2000; i++) {
        hookEvents.push(auditEvent(`hook-${i}`));
        if (i === 500) {
          hookEvents.push(
            auditEvent("exec", {
              stage: "ResponseStarted",
              verb: "create",
              requestURI: "/api/v1/namespaces/shop/pods/web-0/exec?command=sh&stdin=true&tty=true",
              user: { username: "bob", groups: ["system:authenticated"] },
              objectRef: {
                resource: "pods",
                subresource: "exec",
                namespace: "shop",
                name: "web-0",
                apiVersion: "v1",
              },
              responseStatus: { metadata: {}, code: 101 },
            }),
          );
        }
        if (i === 1000) {
          hookEvents.push(
            auditEvent("freeze-write", {
              verb: "create",
              requestURI: "/api/v1/namespaces/shop/configmaps",
              user: { username: "carol", groups: ["system:authenticated"] },
              objectRef: {
                resource: "configmaps",
                namespace: "shop",
                name: "settings",
                apiVersion: "v1",
              },
              responseStatus: { metadata: {}, code: 201 },
            }),
          );
        }
        if (i === 1500) {
          hookEvents.push(
            auditEvent("slow", {
              verb: "list",
              requestURI: "/apis/apps/v1/namespaces/shop/deployments",
              user: { username: "dave", groups: ["system:authenticated"] },
              objectRef: {
                resource: "deployments",
                namespace: "shop",
                apiGroup: "apps",
                apiVersion: "v1",
              },
              latencyMs: 2500,
            }),
          );
        }
      }
      await writeFile(join(dir, "log-events.json"), JSON.stringify(logEvents));
      await writeFile(join(dir, "hook-events.json"), JSON.stringify(hookEvents));
      await writeFile(
        join(dir, "kubeconfig.json"),
        JSON.stringify({
          clusters: [
            {
              name: "kaudit",
              cluster: {
                server: `https://127.0.0.1:${receiverPort}/`,
                "certificate-authority-data": b64(pki.caCert),
              },
            },
          ],
          users: [
            {
              name: "apiserver",
              user: {
                "client-certificate-data": b64(pki.clientCert),
                "client-key-data": b64(pki.clientKey),
              },
            },
          ],
          contexts: [{ name: "c", context: { cluster: "kaudit", user: "apiserver" } }],
          "current-context": "c",
        }),
      );
      const [log, hook] = await Promise.all([
        // 0.5 MB per file: the ~3 MB written rotate several times (gzip'd backups)
        runWriter(["log", join(dir, "log", "audit.log"), join(dir, "log-events.json"), "0.5"]),
        runWriter(["webhook", join(dir, "kubeconfig.json"), join(dir, "hook-events.json")]),
      ]);
      logWritten = log.written;
      hookWritten = hook.written;
    }, 120_000);

    afterAll(async () => {
      await watch?.stop();
      await Promise.all([am?.stop(), prom?.stop()]);
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it("the log rotated while it was followed", async () => {
      const backups = (await readdir(join(dir, "log"))).filter((f) => f.endsWith(".gz"));
      expect(backups.length).toBeGreaterThanOrEqual(4);
    });

    it("Prometheus sees every event written, per input, and requests counted once", async () => {
      const fileInput = `file:${join(dir, "log", "audit.log")}`;
      const read = await eventually(
        () => promQuery(prom, "sum by (input) (kaudit_events_read_total)"),
        (r) => r.reduce((n, s) => n + s.value, 0) === logWritten + hookWritten,
        20_000,
      ).catch(async (e) => {
        // say where the follower stands, for whoever debugs it
        const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
        const follower = text.split("\n").filter((l) => l.startsWith("kaudit_follower"));
        throw new Error(
          `${(e as Error).message}\nfollower: ${follower.join("; ")}\nlog dir: ${(await readdir(join(dir, "log"))).join(" ")}`,
        );
      });
      expect(Object.fromEntries(read.map((s) => [s.metric.input, s.value]))).toEqual({
        [fileInput]: 6007,
        webhook: 2003,
      });
      expect(logWritten + hookWritten).toBe(6007 + 2003);
      // Final stages only: the RequestReceived halves and the exec's ResponseStarted are not requests.
      const requests = await promQuery(prom, "sum by (input) (kaudit_requests_total)");
      expect(Object.fromEntries(requests.map((s) => [s.metric.input, s.value]))).toEqual({
        [fileInput]: 3007,
        webhook: 2002,
      });
      const classes = await promQuery(prom, "sum by (code_class) (kaudit_requests_total)");
      expect(Object.fromEntries(classes.map((s) => [s.metric.code_class, s.value]))).toEqual({
        "2xx": 5003,
        "4xx": 6,
      });
      const alerts = await promQuery(prom, "sum by (rule, priority) (kaudit_alerts_total)");
      expect(
        Object.fromEntries(alerts.map((s) => [`${s.metric.rule} (${s.metric.priority})`, s.value])),
      ).toEqual({
        "Unauthenticated request burst (warning)": 1,
        "Slow request (notice)": 1,
        "Secret read by a person (warning)": 1,
        "Exec into pod (notice)": 1,
        "Write during change freeze (error)": 1,
      });
      // the one slow request is the only one between 2 s and 3 s
      const le = async (b: string) =>
        (await promQuery(prom, `sum(kaudit_request_duration_seconds_bucket{le="${b}"})`))[0]?.value;
      expect(await le("+Inf")).toBe(5009);
      expect((await le("3"))! - (await le("2"))!).toBe(1);
      const slow = await promQuery(
        prom,
        'sum(kaudit_request_duration_seconds_count{verb="list",resource="deployments"})',
      );
      expect(slow[0]?.value).toBe(1);
      const backups = (await readdir(join(dir, "log"))).filter((f) => f.endsWith(".gz"));
      // Rotations are counted when kaudit is scraped, so the scrape that saw the last event may
      // predate the count of the last rotations: wait for the next one.
      const rotations = await eventually(
        () => promQuery(prom, "kaudit_follower_rotations_total"),
        (r) => r[0]?.value === backups.length,
        10_000,
      ).catch(() => promQuery(prom, "kaudit_follower_rotations_total"));
      expect(rotations[0]?.value).toBe(backups.length);
      const ok = await promQuery(prom, 'kaudit_receiver_requests_total{code="200"}');
      expect(ok[0]?.value).toBeGreaterThanOrEqual(10); // 2003 events in batches of ≤ 200
      const dropped = await promQuery(prom, "sum(kaudit_dropped_total)");
      expect(dropped[0]?.value ?? 0).toBe(0);
    });

    it("Alertmanager lists exactly the incident's alerts with kaudit's labels", async () => {
      const listed = await eventually(
        () => alertmanagerAlerts(am),
        (l) => l.length >= 5,
        20_000,
      );
      const labels = listed
        .map((a) => a.labels)
        .sort((a, b) => a.alertname!.localeCompare(b.alertname!));
      expect(labels).toEqual([
        {
          alertname: "Exec into pod",
          severity: "notice",
          source: "kaudit",
          ka_target_namespace: "shop",
          ka_target_name: "web-0",
          ka_user_name: "bob",
        },
        {
          alertname: "Secret read by a person",
          severity: "warning",
          source: "kaudit",
          ka_target_namespace: "shop",
          ka_target_name: "db-password",
          ka_user_name: "alice",
        },
        {
          alertname: "Slow request",
          severity: "notice",
          source: "kaudit",
          ka_verb: "list",
          ka_target_resource: "deployments",
          ka_user_name: "dave",
        },
        {
          alertname: "Unauthenticated request burst",
          severity: "warning",
          source: "kaudit",
          kaudit_source_ip: "203.0.113.7",
        },
        {
          alertname: "Write during change freeze",
          severity: "error",
          source: "kaudit",
          ka_verb: "create",
          ka_target_resource: "configmaps",
          ka_target_namespace: "shop",
          ka_target_name: "settings",
          ka_user_name: "carol",
        },
      ]);
      const burst = listed.find((a) => a.labels.alertname === "Unauthenticated request burst")!;
      expect(burst.annotations).toEqual({
        summary: expect.stringMatching(/: Warning 401 burst from 203\.0\.113\.7$/),
        description: "Five or more 401s from one source IP within a minute",
      });
      // a windowed alert ends one window (1 m) after it fired
      expect(Date.parse(burst.endsAt as string) - Date.parse(burst.startsAt as string)).toBeCloseTo(
        60_000,
        -3,
      );
    });

    it("SIGTERM: exit 0, alerts flushed to the file, position saved", async () => {
      const code = await watch.stop("SIGTERM");
      expect(code, watch.stderr()).toBe(0);
      expect(watch.stderr()).toMatch(/stopped: 8010 events read, 5 alerts/);
      const lines = (await readFile(join(dir, "alerts.jsonl"), "utf8")).trimEnd().split("\n");
      expect(lines.map((l) => JSON.parse(l).rule).sort()).toEqual([
        "Exec into pod",
        "Secret read by a person",
        "Slow request",
        "Unauthenticated request burst",
        "Write during change freeze",
      ]);
      expect(existsSync(join(dir, "audit.pos"))).toBe(true);
    });
  },
);
