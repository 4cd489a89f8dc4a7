import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAuditBackend } from "@kaudit/sinks";
import { describe, expect, it } from "vitest";
import {
  auditBackendOptions,
  coerceFlag,
  defaultFlags,
  FLAGS,
  loadConfigFile,
  parseGoDuration,
} from "./options";

describe("flags carry kube-apiserver's names and defaults (spec §8.4)", () => {
  const d = defaultFlags();
  it.each([
    ["audit-log-maxage", 366],
    ["audit-log-maxbackup", 100],
    ["audit-log-maxsize", 100],
    ["audit-log-compress", false],
    ["audit-log-format", "json"],
    ["audit-log-mode", "blocking"],
    ["audit-log-batch-buffer-size", 10000],
    ["audit-log-batch-max-size", 1],
    ["audit-log-batch-max-wait", "0s"],
    ["audit-log-batch-throttle-enable", false],
    ["audit-log-batch-throttle-qps", 0],
    ["audit-log-batch-throttle-burst", 0],
    ["audit-log-truncate-enabled", false],
    ["audit-log-truncate-max-batch-size", 10485760],
    ["audit-log-truncate-max-event-size", 102400],
    ["audit-log-version", "audit.k8s.io/v1"],
    ["audit-webhook-config-file", ""],
    ["audit-webhook-initial-backoff", "10s"],
    ["audit-webhook-mode", "batch"],
    ["audit-webhook-batch-buffer-size", 10000],
    ["audit-webhook-batch-max-size", 400],
    ["audit-webhook-batch-max-wait", "30s"],
    ["audit-webhook-batch-throttle-enable", true],
    ["audit-webhook-batch-throttle-qps", 10],
    ["audit-webhook-batch-throttle-burst", 15],
    ["audit-webhook-truncate-enabled", false],
    ["audit-webhook-truncate-max-batch-size", 10485760],
    ["audit-webhook-truncate-max-event-size", 102400],
    ["audit-webhook-version", "audit.k8s.io/v1"],
    ["audit-nats-servers", ""],
    ["audit-nats-subject", "audit"],
    ["audit-nats-stream", "KAUDIT"],
    ["audit-nats-partitions", 16],
    ["audit-nats-mode", "batch"],
    ["audit-nats-batch-max-size", 400],
    ["audit-nats-batch-max-wait", "100ms"],
    ["audit-nats-batch-throttle-enable", false],
    ["bind-address", "127.0.0.1"],
    ["port", 6443],
  ])("--%s = %s", (name, value) => {
    expect(d[name]).toBe(value);
  });
  it("every flag is unique", () => {
    expect(new Set(FLAGS.map((f) => f.name)).size).toBe(FLAGS.length);
  });
});

describe("parseGoDuration", () => {
  it.each([
    ["0", 0],
    ["0s", 0],
    ["30s", 30000],
    ["1m30s", 90000],
    ["1.5h", 5400000],
    ["250ms", 250],
    ["-2s", -2000],
  ])("%s → %d ms", (s, ms) => expect(parseGoDuration(s)).toBe(ms));
  it.each(["", "10", "1x", "s"])("%j is invalid", (s) =>
    expect(() => parseGoDuration(s)).toThrow("time: invalid duration"),
  );
});

describe("coerceFlag", () => {
  const f = (name: string) => FLAGS.find((x) => x.name === name) as (typeof FLAGS)[number];
  it("booleans accept Go's spellings", () => {
    expect(coerceFlag(f("audit-log-compress"), "true", "x")).toBe(true);
    expect(coerceFlag(f("audit-log-compress"), "0", "x")).toBe(false);
    expect(() => coerceFlag(f("audit-log-compress"), "yes", "x")).toThrow(
      'x: invalid value "yes" for --audit-log-compress',
    );
  });
  it("ints reject fractions", () => {
    expect(() => coerceFlag(f("audit-log-maxsize"), "1.5", "cli")).toThrow("expected an integer");
  });
});

describe("auditBackendOptions → createAuditBackend", () => {
  it("defaults give kube's chain for the log backend", () => {
    const v = { ...defaultFlags(), "audit-log-path": "-" };
    const o = auditBackendOptions(v);
    expect(o.log).toMatchObject({
      path: "-",
      maxAge: 366,
      maxBackups: 100,
      maxSize: 100,
      mode: "blocking",
      batchMaxSize: 1,
      batchMaxWait: 0,
    });
    expect(o.webhook).toBeUndefined();
  });
  it("webhook flags map with durations in ms", () => {
    const v = {
      ...defaultFlags(),
      "audit-webhook-config-file": "/k",
      "audit-webhook-batch-max-wait": "2s",
    };
    expect(auditBackendOptions(v).webhook).toMatchObject({
      configFile: "/k",
      initialBackoff: 10000,
      batchMaxWait: 2000,
      mode: "batch",
      batchThrottleQPS: 10,
    });
  });
  it("nats flags map to the nats backend (TLS files only when given); off without servers", () => {
    expect(auditBackendOptions(defaultFlags()).nats).toBeUndefined();
    const v = {
      ...defaultFlags(),
      "audit-nats-servers": "nats://a:4222,nats://b:4222",
      "audit-nats-partitions": 8,
      "audit-nats-ca-file": "/ca.pem",
      "audit-nats-creds-file": "/u.creds",
      "audit-nats-mode": "blocking",
    };
    const o = auditBackendOptions(v).nats;
    expect(o).toEqual(
      expect.objectContaining({
        servers: "nats://a:4222,nats://b:4222",
        subject: "audit",
        stream: "KAUDIT",
        partitions: 8,
        creds: "/u.creds",
        tls: { caFile: "/ca.pem" },
        mode: "blocking",
        batchMaxWait: 100,
      }),
    );
    const stub = { processEvents: () => true, shutdown: async () => {}, toString: () => "nats" };
    const b = createAuditBackend({ nats: o! }, { nats: () => stub });
    expect(String(b)).toBe("ignoreErrors<nats>");
    const bad = { ...defaultFlags(), "audit-nats-servers": "nats://x", "audit-nats-partitions": 0 };
    expect(() => createAuditBackend(auditBackendOptions(bad))).toThrow(
      "nats.partitions: invalid audit nats partitions 0, must be a whole number ≥ 1",
    );
  });
  it("invalid values are reported by createAuditBackend in kube's words", () => {
    const v = { ...defaultFlags(), "audit-log-path": "-", "audit-log-mode": "sometimes" };
    expect(() => createAuditBackend(auditBackendOptions(v))).toThrow(
      'invalid audit log mode sometimes, allowed modes are "batch,blocking,blocking-strict"',
    );
  });
});

describe("loadConfigFile", () => {
  const dir = mkdtempSync(join(tmpdir(), "kaudit-demo-cfg-"));
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  it("reads flag names as keys", () => {
    const p = file(
      "ok.yaml",
      "audit-log-path: /var/log/a.log\naudit-log-maxbackup: 3\naudit-webhook-batch-throttle-enable: false\n",
    );
    expect(loadConfigFile(p)).toEqual({
      "audit-log-path": "/var/log/a.log",
      "audit-log-maxbackup": 3,
      "audit-webhook-batch-throttle-enable": false,
    });
  });
  it("unknown keys fail with file:line", () => {
    const p = file("unknown.yaml", "port: 1\naudit-log-max-size: 3\n");
    expect(() => loadConfigFile(p)).toThrow(`${p}:2:1: unknown flag "audit-log-max-size"`);
  });
  it("YAML syntax errors fail with file:line:col", () => {
    const p = file("syntax.yaml", "port: 1\n  bad: [\n");
    expect(() => loadConfigFile(p)).toThrow(new RegExp(`^${p}:\\d+:\\d+: `));
  });
});
