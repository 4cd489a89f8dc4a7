// Packs every public package as `pnpm publish` would, installs all the tarballs together into one
// empty project (one npm install: siblings come from the tarballs, third-party dependencies from
// the registry), then uses them as a consumer does: import and require each library, type-check
// against them in a project that installed nothing else (module node16 with `types: []`, .mts and
// .cts; and tsc's default options),
// and run `npx kaudit`. Generic over packages/* and apps/*: a new public package is covered
// without touching this file. (packages/api/README.md's `npm install @kaudit/api` and
// apps/cli/README.md's `npm install -g kaudit` / `npx kaudit` are this.)
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Packed, pack, problems, publicPackages } from "./packages.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const TSC = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kaudit-pack-"));
const project = path.join(tmp, "project");
const pkgs = publicPackages(ROOT);
const libraries = pkgs.filter((p) => p.manifest.types !== undefined).map((p) => p.manifest.name);
const packed: Packed[] = [];

const run = (cmd: string, args: string[], cwd = project) =>
  execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
/** Runs and returns stdout+stderr, or throws with both. */
function tryRun(cmd: string, args: string[], cwd = project): { code: number; out: string } {
  try {
    return { code: 0, out: run(cmd, args, cwd) };
  } catch (e) {
    const err = e as { status: number; stdout: string; stderr: string };
    return { code: err.status ?? 1, out: `${err.stdout ?? ""}${err.stderr ?? ""}` };
  }
}

beforeAll(() => {
  for (const p of pkgs) packed.push(pack(p, tmp));
  fs.mkdirSync(project);
  fs.writeFileSync(
    path.join(project, "package.json"),
    JSON.stringify({ name: "consumer", version: "1.0.0", private: true }),
  );
  run("npm", [
    "install",
    "--no-audit",
    "--no-fund",
    "--loglevel=error",
    ...packed.map((p) => p.tarball),
  ]);
}, 600_000);

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

it("covers every public package, the CLI included (each built first: in devDependencies)", () => {
  const names = pkgs.map((p) => p.manifest.name);
  expect(names).toContain("kaudit");
  expect(names).toContain("@kaudit/api");
  expect(names).not.toContain("kaudit-demo");
  const own = JSON.parse(fs.readFileSync(new URL("../package.json", import.meta.url), "utf8"));
  const missing = names.filter((n) => !own.devDependencies[n]);
  expect(missing, "add to tools/release-check/package.json devDependencies").toEqual([]);
});

describe("tarballs", () => {
  it("ship README, LICENSE, their entry points and nothing of the sources; versions rewritten", () => {
    const license = fs.readFileSync(path.join(ROOT, "LICENSE"), "utf8");
    const versions = new Map(pkgs.map((p) => [p.manifest.name, p.manifest.version]));
    expect(packed.flatMap((p) => problems(p, versions, license))).toEqual([]);
  });
});

describe("installed from the tarballs into an empty project", () => {
  it("every library loads with import and with require, with the same exports", () => {
    const script = (kind: "esm" | "cjs") =>
      `${kind === "esm" ? "" : "const out = {};\n"}${libraries
        .map((n, i) =>
          kind === "esm"
            ? `import * as m${i} from ${JSON.stringify(n)};`
            : `out[${JSON.stringify(n)}] = Object.keys(require(${JSON.stringify(n)})).sort();`,
        )
        .join("\n")}\n${
        kind === "esm"
          ? `console.log(JSON.stringify({ ${libraries.map((n, i) => `${JSON.stringify(n)}: Object.keys(m${i}).filter((k) => k !== "default").sort()`).join(", ")} }));`
          : "console.log(JSON.stringify(out));"
      }\n`;
    fs.writeFileSync(path.join(project, "load.mjs"), script("esm"));
    fs.writeFileSync(path.join(project, "load.cjs"), script("cjs"));
    const esm = JSON.parse(run("node", ["load.mjs"]));
    const cjs = JSON.parse(run("node", ["load.cjs"]));
    for (const n of libraries) expect(esm[n].length, `${n} exports nothing`).toBeGreaterThan(0);
    expect(cjs).toEqual(esm);
  });

  it("@kaudit/api's schemas are importable as JSON", () => {
    fs.writeFileSync(
      path.join(project, "schema.mjs"),
      `import schema from "@kaudit/api/schemas/Event.json" with { type: "json" };
import { validateEvent } from "@kaudit/api";
const e = { level: "Metadata", auditID: "a", stage: "ResponseComplete", requestURI: "/", verb: "get", user: {} };
if (!schema.definitions || !validateEvent(e).ok) process.exit(1);
console.log(schema.$id);\n`,
    );
    expect(run("node", ["schema.mjs"])).toContain("/Event.json");
    expect(
      run("node", ["-e", 'console.log(require("@kaudit/api/schemas/Policy.json").$id)']),
    ).toContain("/Policy.json");
  });

  it("types resolve for import and require (module node16, `types: []`): nothing to add by hand", () => {
    // The consumer installed nothing but the tarballs: @types/node, which the Node-facing
    // packages' types need, came as their declared peer dependency.
    expect(fs.existsSync(path.join(project, "node_modules/@types/node"))).toBe(true);
    const own = JSON.parse(fs.readFileSync(path.join(project, "package.json"), "utf8"));
    expect(
      Object.keys(own.dependencies).every((d) => d === "kaudit" || d.startsWith("@kaudit/")),
    ).toBe(true);
    const source = `${libraries.map((n, i) => `import * as m${i} from ${JSON.stringify(n)};`).join("\n")}
import type { Event } from "@kaudit/api";
export const all = [${libraries.map((_, i) => `m${i}`).join(", ")}];
// @ts-expect-error a wrong level must not type-check
export const bad: Event = { level: "metadata", auditID: "a", stage: "ResponseComplete", requestURI: "/", verb: "get", user: {} };\n`;
    fs.writeFileSync(path.join(project, "types.mts"), source);
    fs.writeFileSync(path.join(project, "types.cts"), source);
    fs.writeFileSync(
      path.join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          module: "node16",
          moduleResolution: "node16",
          target: "es2022",
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: [],
        },
        files: ["types.mts", "types.cts"],
      }),
    );
    const r = tryRun("node", [TSC, "-p", "tsconfig.json"]);
    expect(r.out).toBe("");
    expect(r.code).toBe(0);
  });

  it("types also check with tsc's default options (no tsconfig)", () => {
    fs.writeFileSync(
      path.join(project, "defaults.ts"),
      `${libraries.map((n, i) => `import * as m${i} from ${JSON.stringify(n)};`).join("\n")}
export const all = [${libraries.map((_, i) => `m${i}`).join(", ")}];\n`,
    );
    const r = tryRun("node", [TSC, "--noEmit", "defaults.ts"]);
    expect(r.out).toBe("");
    expect(r.code).toBe(0);
  });

  it("npx kaudit runs from the installed tarball", () => {
    const cli = pkgs.find((p) => p.manifest.name === "kaudit")!;
    expect(run("npx", ["--no-install", "kaudit", "--version"]).trim()).toBe(cli.manifest.version);
    fs.writeFileSync(
      path.join(project, "audit.log"),
      `${JSON.stringify({ kind: "Event", apiVersion: "audit.k8s.io/v1", level: "RequestResponse", auditID: "a", stage: "ResponseComplete", requestURI: "/api/v1/namespaces/default/configmaps/x", verb: "patch", user: { username: "admin" }, requestObject: [{ op: "add", path: "/data/x", value: "y" }], responseStatus: { metadata: {}, code: 200 }, requestReceivedTimestamp: "2026-12-01T12:00:00.000000Z", stageTimestamp: "2026-12-01T12:00:00.002000Z" })}\n`,
    );
    expect(run("npx", ["--no-install", "kaudit", "validate", "audit.log"])).toBe(
      "audit.log: valid (1 event)\n",
    );
    expect(run("npx", ["--no-install", "kaudit", "analyze", "audit.log"])).toContain(
      "1 events, 1 requests",
    );
    expect(JSON.parse(run("npx", ["--no-install", "kaudit", "schema", "Event"])).$id).toContain(
      "Event.json",
    );
  });
});
