// Every fenced code block of every README (root, packages/*, apps/*, tools/*) is a test here.
// Conventions: /work/COORD-doctest.md and this package's README.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { validateEvent, validateEventList, validatePolicySchema } from "@kaudit/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { type Block, extractBlocks, findReadmes, kindOf } from "./blocks.ts";
import { compareOutput, parseConsole } from "./commands.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const HERE = fileURLToPath(new URL("../", import.meta.url));
/** Extracted programs live inside this package so that `@kaudit/*` resolves to the built packages. */
const BLOCKS_DIR = path.join(HERE, ".blocks");
const TSX = createRequire(import.meta.url).resolve("tsx");
const TSC = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const RUN_TIMEOUT_MS = 60_000;

const readmes = findReadmes(ROOT);
const blocks = readmes.flatMap((r) => extractBlocks(ROOT, r));
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), "kaudit-doctest-"));

const fileOf = (b: Block) => {
  const ext = b.lang === "js" || b.lang === "javascript" ? "mjs" : "ts";
  return path.join(BLOCKS_DIR, `${b.readme.replace(/\W+/g, "_")}_L${b.line}.${ext}`);
};

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}
function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      {
        cwd,
        env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0", ...env },
        timeout: RUN_TIMEOUT_MS,
        killSignal: "SIGKILL",
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A fresh working directory holding the block's fixtures. */
function workdir(b: Block): string {
  const dir = fs.mkdtempSync(path.join(tmpRoot, "block-"));
  for (const f of b.directives.fixtures) {
    const src = path.resolve(ROOT, path.dirname(b.readme), f.src);
    if (!fs.existsSync(src)) throw new Error(`${b.readme}:${b.line}: fixture ${f.src} not found`);
    fs.mkdirSync(path.dirname(path.join(dir, f.dest)), { recursive: true });
    fs.cpSync(src, path.join(dir, f.dest), { recursive: true });
  }
  return dir;
}

/** `kaudit` and `kaudit-demo` on the PATH, as after `npm install -g`. */
const binDir = path.join(tmpRoot, "bin");
fs.mkdirSync(binDir);
for (const [name, target] of [
  ["kaudit", "apps/cli/bin/kaudit.js"],
  ["kaudit-demo", "apps/demo-server/bin/kaudit-demo.js"],
]) {
  const file = path.join(binDir, name!);
  fs.writeFileSync(file, `#!/bin/sh\nexec node ${JSON.stringify(path.join(ROOT, target!))} "$@"\n`);
  fs.chmodSync(file, 0o755);
}

/** tsc's diagnostics per extracted file, from one run over every program block. */
const diagnostics = new Map<string, string[]>();

beforeAll(async () => {
  fs.rmSync(BLOCKS_DIR, { recursive: true, force: true });
  fs.mkdirSync(BLOCKS_DIR, { recursive: true });
  const isProgram = (b: Block) => {
    try {
      return kindOf(b) === "program";
    } catch {
      return false; // reported by the block's own test
    }
  };
  const programs = blocks.filter((b) => isProgram(b) && !b.directives.skip);
  for (const b of programs) fs.writeFileSync(fileOf(b), b.body);
  fs.writeFileSync(
    path.join(BLOCKS_DIR, "tsconfig.json"),
    JSON.stringify({
      extends: "../../../tsconfig.base.json",
      compilerOptions: { noEmit: true, allowJs: true, checkJs: false },
      include: ["*.ts", "*.mjs"],
    }),
  );
  if (programs.length === 0) return;
  const r = await run(
    process.execPath,
    [TSC, "-p", "tsconfig.json", "--pretty", "false"],
    BLOCKS_DIR,
  );
  for (const line of `${r.stdout}${r.stderr}`.split("\n")) {
    const m = /^([^(]+)\((\d+),(\d+)\): (.*)$/.exec(line);
    if (!m) continue;
    const file = path.resolve(BLOCKS_DIR, m[1]!);
    const list = diagnostics.get(file) ?? [];
    list.push(`+${m[2]}:${m[3]}: ${m[4]}`);
    diagnostics.set(file, list);
  }
  if (r.code !== 0 && diagnostics.size === 0)
    throw new Error(`tsc failed:\n${r.stdout}${r.stderr}`);
}, 180_000);

afterAll(() => {
  fs.rmSync(tmpRoot, { recursive: true, force: true });
});

/** Where a tsc position inside a block is in the README. */
const readmePos = (b: Block, rel: string) =>
  rel.replace(/^\+(\d+):(\d+)/, (_, l, c) => `${b.readme}:${b.line + Number(l)}:${c}`);

async function checkProgram(b: Block) {
  const file = fileOf(b);
  const errors = diagnostics.get(file) ?? [];
  expect(
    errors.map((e) => readmePos(b, e)),
    "type errors",
  ).toEqual([]);
  if (b.directives.typecheckOnly) return;
  const r = await run(process.execPath, ["--import", TSX, file], workdir(b));
  expect(r.code, `exit code; stderr:\n${r.stderr}\nstdout:\n${r.stdout}`).toBe(
    b.directives.exit ?? 0,
  );
}

/** Starts the built demo server in `cwd` (data in `cwd/.kaudit`) and waits until it serves. */
async function startDemo(cwd: string, flags: string[]): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [path.join(ROOT, "apps/demo-server/bin/kaudit-demo.js"), "--port", "0", ...flags],
    { cwd, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not start:\n${out}`)), 30_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes("export KUBECONFIG=")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`demo exited (${code}) before serving:\n${out}`));
    });
  });
  return child;
}

/** SIGTERM, as a user stops it; the demo drains and exits (bounded, then SIGKILL). */
async function stopDemo(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  await exited;
  clearTimeout(timer);
}

async function checkCommands(b: Block) {
  const prompts = b.lang === "console";
  const commands = parseConsole(b.body, prompts);
  const cwd = workdir(b);
  const demo = b.directives.demo ? await startDemo(cwd, b.directives.demo) : undefined;
  try {
    await runCommands(b, commands, cwd, prompts);
  } finally {
    if (demo) await stopDemo(demo);
  }
}

async function runCommands(
  b: Block,
  commands: ReturnType<typeof parseConsole>,
  cwd: string,
  prompts: boolean,
) {
  // One bash session, so `cd` and `export` carry over; a marker after each command separates
  // their (stdout + stderr, as a terminal shows them) output and carries its exit status.
  const script = commands
    .map((c, i) => `${c.text}\nprintf '\\n@@doctest-%d-%d@@\\n' ${i} $?`)
    .join("\n");
  const r = await run("bash", ["-c", `exec 2>&1\n${script}`], cwd, {
    PATH: `${binDir}${path.delimiter}${process.env.PATH}`,
    HOME: cwd,
  });
  const parts = r.stdout.split(/\n?\n@@doctest-(\d+)-(\d+)@@\n/);
  // parts: [out0, i0, code0, out1, i1, code1, …, rest]
  for (let i = 0; i < commands.length; i++) {
    const c = commands[i]!;
    const at = `${b.readme}:${b.line + 1 + c.offset}: \`${c.text}\``;
    const out = parts[i * 3];
    const code = parts[i * 3 + 2];
    expect(out, `${at} did not finish (bash exit ${r.code}):\n${r.stdout}`).toBeDefined();
    const want = i === commands.length - 1 ? (b.directives.exit ?? 0) : 0;
    expect(Number(code), `${at}: exit status; output:\n${out}`).toBe(want);
    if (prompts) {
      const diff = compareOutput(c.expected, out === "" ? [] : out!.split("\n"));
      expect(diff, `${at}: ${diff}`).toBeUndefined();
    }
  }
}

function checkJson(b: Block) {
  let docs: unknown[];
  try {
    docs = [JSON.parse(b.body)];
  } catch {
    // JSON lines: one document per non-blank line (an audit log excerpt).
    docs = b.body
      .split("\n")
      .map((l, i) => [l, i] as const)
      .filter(([l]) => l.trim() !== "")
      .map(([l, i]) => {
        try {
          return JSON.parse(l);
        } catch (e) {
          throw new Error(`${b.readme}:${b.line + 1 + i}: not JSON: ${(e as Error).message}`);
        }
      });
  }
  const kind = b.directives.validate;
  if (!kind) return;
  const validate = {
    Event: validateEvent,
    EventList: validateEventList,
    Policy: validatePolicySchema,
  }[kind];
  for (const doc of docs) {
    const r = validate(doc as never);
    expect(r.ok ? [] : r.issues, `${b.readme}:${b.line}: not a valid ${kind}`).toEqual([]);
  }
}

function checkYaml(b: Block) {
  for (const doc of parseAllDocuments(b.body)) {
    expect(doc.errors.map(String), `${b.readme}:${b.line}: YAML errors`).toEqual([]);
  }
}

function checkTestedBy(b: Block) {
  const test = path.join(ROOT, b.directives.testedBy!);
  expect(
    fs.existsSync(test),
    `${b.readme}:${b.line}: tested-by ${b.directives.testedBy} does not exist`,
  ).toBe(true);
  // The named test must say that it covers this README, so a rename or a deleted test shows up.
  expect(
    fs.readFileSync(test, "utf8").includes(b.readme),
    `${b.readme}:${b.line}: ${b.directives.testedBy} does not mention ${b.readme}`,
  ).toBe(true);
}

it("finds the READMEs and their blocks", () => {
  expect(readmes).toContain("README.md");
  expect(readmes).toContain("packages/api/README.md");
  expect(blocks.length).toBeGreaterThan(20);
});

it("can import every workspace package (a new one goes into this package's devDependencies)", () => {
  const own = JSON.parse(fs.readFileSync(path.join(HERE, "package.json"), "utf8"));
  const missing: string[] = [];
  for (const group of ["packages", "apps"]) {
    for (const dir of fs.readdirSync(path.join(ROOT, group))) {
      const file = path.join(ROOT, group, dir, "package.json");
      if (!fs.existsSync(file)) continue;
      const { name } = JSON.parse(fs.readFileSync(file, "utf8"));
      if (!own.devDependencies[name]) missing.push(`"${name}": "workspace:*"`);
    }
  }
  expect(missing, "add to tools/doctest/package.json devDependencies").toEqual([]);
});

for (const readme of readmes) {
  const mine = blocks.filter((b) => b.readme === readme);
  if (mine.length === 0) continue;
  describe(readme, () => {
    for (const b of mine) {
      const name = `line ${b.line} (${b.lang || "no language"})`;
      const { skip, testedBy } = b.directives;
      if (skip) {
        it.skip(`${name} — skipped: ${skip}`, () => {});
        continue;
      }
      it(name, async () => {
        if (testedBy) return checkTestedBy(b);
        switch (kindOf(b)) {
          case "program":
            return checkProgram(b);
          case "commands":
            return checkCommands(b);
          case "json":
            return checkJson(b);
          case "yaml":
            return checkYaml(b);
          case "text":
            return;
        }
      });
    }
  });
}
