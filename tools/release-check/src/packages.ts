import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

/** A workspace package as its package.json describes it. */
export interface WorkspacePackage {
  dir: string;
  manifest: Manifest;
}

/** The package.json fields the checks read. */
export interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  main?: string;
  module?: string;
  types?: string;
  bin?: string | Record<string, string>;
  files?: string[];
  exports?: unknown;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  [key: string]: unknown;
}

/** Every package under packages/ and apps/ that is published (not `private`). */
export function publicPackages(root: string): WorkspacePackage[] {
  const out: WorkspacePackage[] = [];
  for (const group of ["packages", "apps"]) {
    for (const name of fs.readdirSync(path.join(root, group)).sort()) {
      const file = path.join(root, group, name, "package.json");
      if (!fs.existsSync(file)) continue;
      const manifest = JSON.parse(fs.readFileSync(file, "utf8")) as Manifest;
      if (!manifest.private) out.push({ dir: path.join(root, group, name), manifest });
    }
  }
  return out;
}

/** A packed package: where its tarball is, what is in it, and the package.json it carries. */
export interface Packed {
  pkg: WorkspacePackage;
  tarball: string;
  /** Paths inside the tarball, without the leading `package/`. */
  files: string[];
  manifest: Manifest;
}

/** `pnpm pack`s one package into `dest` (pnpm rewrites `workspace:` and `catalog:` ranges). */
export function pack(pkg: WorkspacePackage, dest: string): Packed {
  const before = new Set(fs.readdirSync(dest));
  execFileSync("pnpm", ["pack", "--pack-destination", dest], {
    cwd: pkg.dir,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const tgz = fs.readdirSync(dest).find((f) => f.endsWith(".tgz") && !before.has(f));
  if (!tgz) throw new Error(`pnpm pack wrote no tarball for ${pkg.manifest.name}`);
  const tarball = path.join(dest, tgz);
  const files = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" })
    .split("\n")
    .filter(Boolean)
    .map((f) => f.replace(/^package\//, ""));
  const manifest = JSON.parse(
    execFileSync("tar", ["-xzOf", tarball, "package/package.json"], { encoding: "utf8" }),
  ) as Manifest;
  return { pkg, tarball, files, manifest };
}

/** Every file path a manifest points at (main, module, types, bin, exports targets). */
export function entryPoints(m: Manifest): string[] {
  const out: string[] = [];
  for (const f of [m.main, m.module, m.types]) if (f) out.push(f);
  if (typeof m.bin === "string") out.push(m.bin);
  else if (m.bin) out.push(...Object.values(m.bin));
  const walk = (v: unknown) => {
    if (typeof v === "string") {
      if (!v.includes("*")) out.push(v);
    } else if (v && typeof v === "object") for (const x of Object.values(v)) walk(x);
  };
  walk(m.exports);
  return [...new Set(out.map((f) => f.replace(/^\.\//, "")))];
}

/**
 * What is wrong with a packed package: missing README/LICENSE, files it should not ship
 * (sources, tests, fixtures, benches, configs), entry points that are not in the tarball,
 * `workspace:`/`catalog:` ranges left in, sibling ranges that the sibling's version does not
 * satisfy.
 */
export function problems(p: Packed, versions: Map<string, string>, license: string): string[] {
  const out: string[] = [];
  const name = p.manifest.name;
  for (const f of ["package.json", "README.md", "LICENSE"])
    if (!p.files.includes(f)) out.push(`${name}: ${f} is not in the tarball`);
  if (p.files.includes("LICENSE")) {
    const text = execFileSync("tar", ["-xzOf", p.tarball, "package/LICENSE"], { encoding: "utf8" });
    if (text !== license) out.push(`${name}: LICENSE differs from the repository's`);
  }
  for (const f of p.files) {
    if (/(^|\/)(src|test|tests|bench|__fixtures__|\.turbo|\.reports|node_modules)\//.test(f))
      out.push(`${name}: ships ${f}`);
    else if (/\.test\.|(^|\/)tsconfig\.json$|(^|\/)tsup\.config|(^|\/)vitest\.config/.test(f))
      out.push(`${name}: ships ${f}`);
  }
  for (const f of entryPoints(p.manifest))
    if (!p.files.includes(f)) out.push(`${name}: entry point ${f} is not in the tarball`);
  if (p.manifest.types === undefined && p.manifest.bin === undefined)
    out.push(`${name}: no "types"`);
  for (const field of ["dependencies", "peerDependencies", "optionalDependencies"] as const) {
    for (const [dep, range] of Object.entries(p.manifest[field] ?? {})) {
      if (/^(workspace|catalog):/.test(range)) out.push(`${name}: ${field}.${dep} is ${range}`);
      const v = versions.get(dep);
      if (v !== undefined && range !== v && range !== `^${v}` && range !== `~${v}`)
        out.push(`${name}: ${field}.${dep} is ${range}, but the workspace has ${dep}@${v}`);
    }
  }
  return out;
}
