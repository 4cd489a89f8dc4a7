import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startDemoServer } from "../src/server";

/** Startup refuses bad configuration with a message naming the flag or file:line. */
describe("startup errors", () => {
  const dir = mkdtempSync(join(tmpdir(), "kaudit-demo-startup-"));
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const cases: [string, () => Record<string, string | number | boolean>, string | RegExp][] = [
    [
      "missing token file",
      () => ({ "token-auth-file": join(dir, "nope.csv") }),
      `--token-auth-file ${join(dir, "nope.csv")}: ENOENT`,
    ],
    [
      "bad token file",
      () => ({ "token-auth-file": file("t.csv", "tok,alice\n") }),
      `${join(dir, "t.csv")}:1: token file must have at least 3 columns`,
    ],
    [
      "bad ABAC line",
      () => ({ "authorization-policy-file": file("a.jsonl", "\n{oops\n") }),
      `${join(dir, "a.jsonl")}:2: invalid JSON`,
    ],
    [
      "bad audit policy",
      () => ({
        "audit-policy-file": file(
          "p.yaml",
          "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n  - level: Loud\n",
        ),
      }),
      /Loud/,
    ],
    [
      "bad audit mode",
      () => ({ "audit-log-mode": "sometimes" }),
      'invalid audit log mode sometimes, allowed modes are "batch,blocking,blocking-strict"',
    ],
    [
      "cert without key",
      () => ({ "tls-cert-file": file("c.pem", "x") }),
      "--tls-cert-file and --tls-private-key-file must be given together",
    ],
  ];
  it.each(cases)("%s", async (_n, flags, msg) => {
    const p = startDemoServer({ flags: { port: 0, "data-dir": join(dir, "data"), ...flags() } });
    if (typeof msg === "string") await expect(p).rejects.toThrow(msg);
    else await expect(p).rejects.toThrow(msg);
  });
});

describe("port in use", () => {
  it("fails with the address and closes the audit backend", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kaudit-demo-port-"));
    const first = await startDemoServer({ flags: { port: 0, "data-dir": join(dir, "a") } });
    try {
      await expect(
        startDemoServer({ flags: { port: first.port, "data-dir": join(dir, "b") } }),
      ).rejects.toThrow(`cannot serve on 127.0.0.1:${first.port}: listen EADDRINUSE`);
    } finally {
      await first.shutdown();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
