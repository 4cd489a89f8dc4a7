// Packs @kaudit/api as it would be published (what packages/api/README.md's `npm install`
// gives), installs the tarball into an empty project and checks that `import` and `require`
// both work at run time and that TypeScript resolves the types for both (module node16, an .mts
// and a .cts file).
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kaudit-pack-"));
const run = (cmd, args, cwd) =>
  execFileSync(cmd, args, { cwd, stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });

try {
  run("pnpm", ["pack", "--pack-destination", tmp], root);
  const tarball = fs.readdirSync(tmp).find((f) => f.endsWith(".tgz"));
  const project = path.join(tmp, "project");
  fs.mkdirSync(project);
  fs.writeFileSync(
    path.join(project, "package.json"),
    JSON.stringify({ name: "consumer", private: true }),
  );
  run(
    "npm",
    ["install", "--no-audit", "--no-fund", "--loglevel=error", path.join(tmp, tarball)],
    project,
  );

  fs.writeFileSync(
    path.join(project, "esm.mjs"),
    `import { encodeEvent, validateEvent, LEVELS } from "@kaudit/api";
import schema from "@kaudit/api/schemas/Event.json" with { type: "json" };
const e = { level: "Metadata", auditID: "a", stage: "ResponseComplete", requestURI: "/", verb: "get", user: {} };
if (!validateEvent(e).ok || !encodeEvent(e).startsWith('{"kind":"Event"') || LEVELS.length !== 4 || !schema.definitions) process.exit(1);
console.log("esm ok");\n`,
  );
  fs.writeFileSync(
    path.join(project, "cjs.cjs"),
    `const { encodeEvent, validateEvent } = require("@kaudit/api");
const schema = require("@kaudit/api/schemas/Policy.json");
if (validateEvent({}).ok || !encodeEvent({}).includes('"user":{}') || !schema.definitions) process.exit(1);
console.log("cjs ok");\n`,
  );
  process.stdout.write(run("node", ["esm.mjs"], project));
  process.stdout.write(run("node", ["cjs.cjs"], project));

  const types = `import { encodeEvent, type Event, type Sink } from "@kaudit/api";
const e: Event = { level: "Metadata", auditID: "a", stage: "ResponseComplete", requestURI: "/", verb: "get", user: {} };
const s: Sink = { processEvents: () => true, shutdown: async () => {}, toString: () => "x" };
export const line: string = encodeEvent(e) + String(s);
// @ts-expect-error a wrong level must not type-check
export const bad: Event = { ...e, level: "metadata" };\n`;
  fs.writeFileSync(path.join(project, "types.mts"), types);
  fs.writeFileSync(path.join(project, "types.cts"), types);
  fs.writeFileSync(
    path.join(project, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        module: "node16",
        moduleResolution: "node16",
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        types: [],
      },
      files: ["types.mts", "types.cts"],
    }),
  );
  const tsc = path.join(root, "node_modules", "typescript", "bin", "tsc");
  run("node", [tsc, "-p", "tsconfig.json"], project);
  console.log("types ok (import and require)");
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
