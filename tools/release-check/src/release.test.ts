// The release path from a clean clone: `pnpm changeset version` then `pnpm publish -r --dry-run`
// publish every public package, with `workspace:` ranges rewritten to the bumped versions.
// Runs in a scratch clone of the committed HEAD, never in this checkout (no version bump here).
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, expect, it } from "vitest";
import { pack, problems, publicPackages } from "./packages.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kaudit-release-"));
const clone = path.join(tmp, "clone");
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const sh = (cmd: string, args: string[], cwd = clone) =>
  execFileSync(cmd, args, {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, CI: "true" },
  });

it("changeset version + publish --dry-run from a clean clone publish every public package", () => {
  sh("git", ["clone", "--quiet", "--no-local", ROOT, clone], tmp);
  try {
    sh("pnpm", ["install", "--frozen-lockfile", "--offline", "--silent"]);
  } catch {
    sh("pnpm", ["install", "--frozen-lockfile", "--silent"]);
  }
  const before = new Map(publicPackages(clone).map((p) => [p.manifest.name, p.manifest.version]));
  const pending = fs
    .readdirSync(path.join(clone, ".changeset"))
    .filter((f) => f.endsWith(".md") && f !== "README.md");
  sh("pnpm", ["changeset", "version"]);
  const after = publicPackages(clone);
  // The clone has no build output; use this checkout's (the same sources: turbo built them
  // before this test).
  for (const p of after) {
    const rel = path.relative(clone, p.dir);
    for (const out of ["dist", "schemas"]) {
      const src = path.join(ROOT, rel, out);
      if (fs.existsSync(src)) fs.cpSync(src, path.join(p.dir, out), { recursive: true });
    }
  }
  const log = sh("pnpm", ["publish", "-r", "--dry-run", "--no-git-checks"]);
  const published = [...log.matchAll(/^\+ (.+)@(\d[^\s]*)$/gm)].map((m) => `${m[1]}@${m[2]}`);
  expect(published.sort()).toEqual(
    after.map((p) => `${p.manifest.name}@${p.manifest.version}`).sort(),
  );
  // Pending changesets were consumed and bumped something.
  if (pending.length > 0)
    expect(after.some((p) => before.get(p.manifest.name) !== p.manifest.version)).toBe(true);
  // What is left names only packages the config ignores (the private demo).
  const { ignore } = JSON.parse(
    fs.readFileSync(path.join(clone, ".changeset/config.json"), "utf8"),
  );
  const left = fs
    .readdirSync(path.join(clone, ".changeset"))
    .filter((f) => f.endsWith(".md") && f !== "README.md")
    .flatMap((f) => {
      const head = /^---\n([\s\S]*?)\n---/.exec(
        fs.readFileSync(path.join(clone, ".changeset", f), "utf8"),
      );
      return [...(head?.[1] ?? "").matchAll(/^["']?([^"':]+)["']?\s*:/gm)].map(
        (m) => `${f}: ${m[1]}`,
      );
    })
    .filter((entry) => !ignore.includes(entry.split(": ")[1]));
  expect(left).toEqual([]);
  // What would be published refers to the bumped siblings, not to workspace: ranges.
  const versions = new Map(after.map((p) => [p.manifest.name, p.manifest.version]));
  const license = fs.readFileSync(path.join(clone, "LICENSE"), "utf8");
  const packDir = path.join(tmp, "packs");
  fs.mkdirSync(packDir);
  expect(after.flatMap((p) => problems(pack(p, packDir), versions, license))).toEqual([]);
}, 600_000);
