import fs from "node:fs";
import path from "node:path";

/** One fenced code block of a README, with the directives of the comment right above it. */
export interface Block {
  /** The README, relative to the repository root (`packages/api/README.md`). */
  readme: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** First word of the info string, lower-cased (`ts`, `console`, `json`, `` for none). */
  lang: string;
  /** The block's text, its fence's indentation removed, ending with a newline. */
  body: string;
  /** `<!-- doctest: key=value … -->` on the line(s) just above the fence. */
  directives: Directives;
}

/** What a `<!-- doctest: … -->` comment says. Unknown keys are an error (typos must not pass). */
export interface Directives {
  /** Not checked at all; the reason is required and printed. */
  skip?: string;
  /** ts/js: type-checked, not run (a server that listens forever); the reason is required. */
  typecheckOnly?: string;
  /** A test file (repo-relative) that runs what this block shows; it must name this README. */
  testedBy?: string;
  /** Files copied into the block's working directory: `src` (relative to the README) or `src:dest`. */
  fixtures: { src: string; dest: string }[];
  /** json: every document (or line) is checked with @kaudit/api's validator of this kind. */
  validate?: "Event" | "EventList" | "Policy";
  /** Exit code the program or the last command must end with (default 0). */
  exit?: number;
  /**
   * console/sh: start `kaudit-demo --port 0` (plus these flags) in the block's cwd first, so
   * `$PWD/.kaudit/kubeconfig` reaches it; stopped with SIGTERM after the block.
   */
  demo?: string[];
}

const KEYS = new Set([
  "skip",
  "typecheck-only",
  "tested-by",
  "fixture",
  "validate",
  "exit",
  "demo",
]);

/** Every README the doctest covers, relative to the root: the root's, packages/*, apps/*, tools/*. */
export function findReadmes(root: string): string[] {
  const out = fs.existsSync(path.join(root, "README.md")) ? ["README.md"] : [];
  for (const group of ["packages", "apps", "tools"]) {
    const dir = path.join(root, group);
    if (!fs.existsSync(dir)) continue;
    for (const name of fs.readdirSync(dir).sort()) {
      const rel = `${group}/${name}/README.md`;
      if (fs.existsSync(path.join(root, rel))) out.push(rel);
    }
  }
  return out;
}

/** Parses the directive comment text (`skip="why" fixture=a.log`), throwing on what it cannot read. */
export function parseDirectives(text: string, where: string): Directives {
  const d: Directives = { fixtures: [] };
  const re = /\s*([a-z-]+)(?:=(?:"([^"]*)"|(\S+)))?/y;
  let rest = text.trim();
  while (rest.length > 0) {
    re.lastIndex = 0;
    const m = re.exec(rest);
    if (!m) throw new Error(`${where}: cannot read doctest directive at ${JSON.stringify(rest)}`);
    const [, key, quoted, bare] = m;
    const value = quoted ?? bare;
    rest = rest.slice(m[0].length).trimStart();
    if (!KEYS.has(key!)) throw new Error(`${where}: unknown doctest directive "${key}"`);
    if (key === "demo") {
      d.demo = value ? value.split(/\s+/) : [];
      continue;
    }
    if (value === undefined || value === "")
      throw new Error(`${where}: doctest directive "${key}" needs a value`);
    switch (key) {
      case "skip":
        d.skip = value;
        break;
      case "typecheck-only":
        d.typecheckOnly = value;
        break;
      case "tested-by":
        d.testedBy = value;
        break;
      case "fixture": {
        const [src, dest] = value.split(":");
        d.fixtures.push({ src: src!, dest: dest ?? path.basename(src!) });
        break;
      }
      case "validate":
        if (value !== "Event" && value !== "EventList" && value !== "Policy")
          throw new Error(`${where}: validate= takes Event, EventList or Policy, not ${value}`);
        d.validate = value;
        break;
      case "exit":
        d.exit = Number(value);
        if (!Number.isInteger(d.exit)) throw new Error(`${where}: exit= needs an integer`);
        break;
    }
  }
  return d;
}

/** Every fenced block of one README (``` or ~~~ fences, indented ones inside lists too). */
export function extractBlocks(root: string, readme: string): Block[] {
  const lines = fs.readFileSync(path.join(root, readme), "utf8").split("\n");
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence, lang] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const l = lines[j]!;
      if (l.trim().startsWith(fence!) && l.trim().replace(/[`~]/g, "") === "") break;
      body.push(l.startsWith(indent!) ? l.slice(indent!.length) : l.trimStart());
    }
    if (j === lines.length) throw new Error(`${readme}:${i + 1}: code block never closed`);
    // The directive comment: the nearest non-blank line above the fence.
    let k = i - 1;
    while (k >= 0 && lines[k]!.trim() === "") k--;
    const comment = k >= 0 ? /^\s*<!--\s*doctest:(.*)-->\s*$/.exec(lines[k]!) : null;
    const where = `${readme}:${i + 1}`;
    blocks.push({
      readme,
      line: i + 1,
      lang: lang!.toLowerCase(),
      body: `${body.join("\n")}\n`,
      directives: comment ? parseDirectives(comment[1]!, where) : { fixtures: [] },
    });
    i = j;
  }
  return blocks;
}

/** The kinds of block and how each is checked. */
export type Kind = "program" | "commands" | "json" | "yaml" | "text";

/** How a block's language is checked; throws for a language the doctest does not know. */
export function kindOf(block: Block): Kind {
  switch (block.lang) {
    case "ts":
    case "typescript":
    case "js":
    case "javascript":
      return "program";
    case "console":
    case "sh":
    case "shell":
    case "bash":
      return "commands";
    case "json":
    case "jsonl":
      return "json";
    case "yaml":
    case "yml":
      return "yaml";
    case "text":
      return "text";
    default:
      throw new Error(
        `${block.readme}:${block.line}: code block without a known language (${JSON.stringify(block.lang)}): use ts, js, console, sh, json, yaml or text`,
      );
  }
}
