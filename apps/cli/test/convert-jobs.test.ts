import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { decodeEvent } from "@kaudit/api";
import { formatLegacyLine } from "@kaudit/legacy";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIX, kaudit } from "./helpers";

// `kaudit convert --jobs N` (worker threads) against `--jobs 1` (the main thread alone), end to
// end: the same output bytes, the same problems in the same order (file:line:col), the same
// summary and exit code. `--piece-bytes` (hidden) makes pieces small so that these small corpus
// inputs are cut into many pieces (an input under 32 pieces starts no worker).

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "kaudit-convert-jobs-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const fix = (name: string) => readFile(join(FIX, name), "utf8");
const nonEmpty = (text: string) => text.split("\n").filter((l) => l !== "");

/** Every corpus file convert reads, one after the other, with broken lines between. */
async function corpusMix(): Promise<string> {
  const v1 = nonEmpty(await fix("audit2rbac-demo.v1.jsonl"));
  const g5 = v1.map((l) => formatLegacyLine(decodeEvent(l)));
  const parts: string[] = [];
  for (let round = 0; round < 3; round++) {
    parts.push(v1.join("\n"), g5.join("\n"), "nope");
    for (const name of [
      "v1alpha1.k8s-1.7-docs.jsonl",
      "rbac-tool-auditgen-01.v1.jsonl",
      "rbac-tool-auditgen-02.v1.jsonl",
      "create_nginx_pod_privileged.json",
      "create_secret.json",
      "exec_pod.json",
      "fal_01_003.json",
      "create_configmap_sensitive_values.json",
    ])
      parts.push((await fix(name)).trimEnd());
    parts.push('2017-09-05T06:08:19Z AUDIT: id="x" stage="Bogus"', g5.join("\n"));
  }
  // Then what cannot be cut: basic-audit request/response lines, a pretty-printed EventList, a
  // JSON line cut short, a legacy line in the 1.7 layout.
  parts.push(
    (await fix("basic-audit.k8s-1.6-docs.log")).trimEnd(),
    (await fix("v1beta1.eventlist-webhook.k8s-1.8-docs.json")).trimEnd(),
    '{"kind":"Event","auditID":',
    (await fix("advanced-legacy.k8s-1.7-docs.log")).trimEnd(),
    v1.join("\n"),
  );
  return `${parts.join("\n")}\n`;
}

interface Converted {
  code: number | null;
  out: Buffer | undefined;
  stderr: string;
}

async function convert(args: string[], stdin?: Buffer): Promise<Converted> {
  // One path for every run: it is named in the --strict message.
  const out = join(tmp, "out");
  await rm(out, { force: true });
  const r = await kaudit(["convert", ...args, "-o", out], stdin ? { stdin } : {});
  const bytes = await readFile(out).catch(() => undefined);
  return { code: r.code, out: bytes, stderr: r.stderr };
}

describe("kaudit convert --jobs N: the output of --jobs 1", () => {
  it("corpus files with broken lines, JSON and legacy out, several piece sizes", async () => {
    const file = join(tmp, "mix.log");
    const text = await corpusMix();
    await writeFile(file, text);
    for (const to of ["json", "legacy"]) {
      const one = await convert(["--to", to, "--jobs", "1", file]);
      expect(one.code).toBe(1);
      expect(one.out!.length).toBeGreaterThan(text.length / 4);
      // Problems of every kind, the summary last.
      expect(one.stderr).toMatch(/mix\.log:\d+:\d+: /);
      expect(one.stderr).toMatch(/events written, \d+ problems/);
      for (const [jobs, piece] of [
        ["2", "512"],
        ["3", "2000"],
        ["2", "9000"],
      ]) {
        const n = await convert(["--to", to, "--jobs", jobs!, "--piece-bytes", piece!, file]);
        expect({ code: n.code, stderr: n.stderr }).toEqual({ code: one.code, stderr: one.stderr });
        expect(n.out!.equals(one.out!)).toBe(true);
      }
    }
  }, 60_000);

  it("--strict: the first problem by line order, the same message, nothing written", async () => {
    const file = join(tmp, "strict.log");
    const v1 = nonEmpty(await fix("audit2rbac-demo.v1.jsonl"));
    const lines: string[] = [];
    for (let i = 0; i < 40; i++) lines.push(...v1);
    lines.splice(900, 0, '{"kind":"Event","apiVersion":"audit.k8s.io/v1","stage":"Bogus"}');
    lines.splice(1200, 0, "nope");
    await writeFile(file, `${lines.join("\n")}\n`);
    const one = await convert(["--strict", "--jobs", "1", file]);
    expect(one.code).toBe(1);
    expect(one.out).toBeUndefined();
    expect(one.stderr).toMatch(/^\S*strict\.log:901:\d+: /);
    const two = await convert(["--strict", "--jobs", "2", "--piece-bytes", "700", file]);
    expect(two).toEqual(one);
  }, 60_000);

  it("stdin, gzip'd: the same bytes", async () => {
    const text = await corpusMix();
    const gz = gzipSync(Buffer.from(text));
    const one = await convert(["--jobs", "1", "-"], gz);
    const two = await convert(["--jobs", "2", "--piece-bytes", "1000", "-"], gz);
    expect(two.code).toBe(one.code);
    expect(two.stderr).toBe(one.stderr);
    expect(two.out!.equals(one.out!)).toBe(true);
    expect(one.stderr).toMatch(/<stdin>:\d+:\d+: /);
  }, 60_000);

  it("a truncated gzip input: the same error and exit code, nothing written with -o", async () => {
    const gz = gzipSync(Buffer.from(await corpusMix()));
    const cut = gz.subarray(0, Math.floor(gz.length * 0.7));
    const one = await convert(["--jobs", "1", "-"], cut);
    const two = await convert(["--jobs", "2", "--piece-bytes", "1000", "-"], cut);
    expect(one.code).toBe(1);
    expect(one.stderr).toMatch(/truncated gzip data/);
    expect(one.out).toBeUndefined();
    expect(two).toEqual(one);
    // On stdout, what either writes before the error is a prefix of the whole input's output
    // (--jobs 1 keeps up to 64 KB unwritten, --jobs 2 the lines read since its last piece).
    const whole = await kaudit(["convert", "--jobs", "1", "-"], { stdin: gz });
    const o1 = await kaudit(["convert", "--jobs", "1", "-"], { stdin: cut });
    const o2 = await kaudit(["convert", "--jobs", "2", "--piece-bytes", "1000", "-"], {
      stdin: cut,
    });
    expect(o2.code).toBe(o1.code);
    expect(o2.stderr.split("\n").slice(-3)).toEqual(o1.stderr.split("\n").slice(-3));
    expect(whole.stdout.startsWith(o1.stdout)).toBe(true);
    expect(whole.stdout.startsWith(o2.stdout)).toBe(true);
    expect(o2.stdout.length).toBeGreaterThan(0);
  });

  it("an empty input is a problem either way", async () => {
    const file = join(tmp, "empty.log");
    await writeFile(file, "\n\n");
    const one = await convert(["--jobs", "1", file]);
    const two = await convert(["--jobs", "2", "--piece-bytes", "1", file]);
    expect(two).toEqual(one);
    expect(one.stderr).toMatch(/empty input/);
  });
});
