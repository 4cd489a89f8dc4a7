import { readFile, stat } from "node:fs/promises";
import { API_VERSION, upgradeEvent, validateEvent } from "@kaudit/api";
import { DEFAULT_MAX_POLICY_BYTES, PolicyError, parsePolicy } from "@kaudit/policy";
import { kindOf, type ListRecord, type RawRecord } from "@kaudit/sources";
import { checkRulesFile, isRulesFile } from "./cmd-detect";
import type { CliContext } from "./context";
import { CliError, EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, fileError } from "./errors";
import { isEmptyInput, type Problem, readRecords } from "./input";
import { displayName } from "./io";

/** Options of `kaudit validate`. */
export interface ValidateOptions {
  /** What the files hold: `auto` (from `kind` and the fields), `event` or `policy`. */
  kind: "auto" | "event" | "policy";
}

const OLD_VERSIONS = new Set(["audit.k8s.io/v1alpha1", "audit.k8s.io/v1beta1"]);

type At = (path: string) => { line: number; column: number };

interface Tally {
  events: number;
  policies: number;
  rules: number;
  /** Rules of a Falco rules file (kaudit detect's), when the file is one. */
  falcoRules?: number;
  errors: number;
  warnings: number;
}

function issuesOf(r: unknown): { path: string; message: string }[] {
  const v = r as { ok: boolean; issues?: { path: string; message: string }[] };
  return v.ok ? [] : (v.issues ?? []);
}

/** Checks one decoded event object; yields its problems (warnings for what kube would ignore). */
function* checkEvent(
  value: unknown,
  file: string,
  at: At,
  prefix: string,
  listVersion?: unknown,
): Generator<Problem> {
  const p = (path: string, message: string, severity: Problem["severity"]): Problem => ({
    file,
    ...at(`${prefix}${path}`),
    path: `${prefix}${path}`,
    message,
    severity,
  });
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    yield p(
      "",
      `expected an audit Event object, found ${value === null ? "null" : Array.isArray(value) ? "an array" : typeof value}`,
      "error",
    );
    return;
  }
  const obj = value as Record<string, unknown>;
  const apiVersion = listVersion ?? obj.apiVersion;
  if (apiVersion === API_VERSION) {
    // kube-apiserver's decoder drops fields it does not know (a v1 event still carrying
    // v1beta1's `timestamp` and `metadata`): the schema's "unknown field" is a warning here.
    for (const issue of issuesOf(validateEvent(obj))) {
      if (issue.message === "unknown field") {
        yield p(
          issue.path,
          "unknown field, ignored by kube-apiserver's decoder (dropped when re-encoded)",
          "warning",
        );
      } else yield p(issue.path, issue.message, "error");
    }
    return;
  }
  if (apiVersion !== undefined && !OLD_VERSIONS.has(apiVersion as string)) {
    yield p(
      "apiVersion",
      `unsupported apiVersion ${JSON.stringify(apiVersion)}: expected "${API_VERSION}" (or the older audit.k8s.io/v1beta1, v1alpha1)`,
      "error",
    );
    return;
  }
  if (listVersion === undefined) {
    if (apiVersion === undefined) {
      yield p(
        "apiVersion",
        `no apiVersion (kube-apiserver's decoder needs one): read as audit.k8s.io/v1beta1 and upgraded to ${API_VERSION}`,
        "warning",
      );
    } else {
      yield p(
        "apiVersion",
        `${apiVersion} was removed in Kubernetes 1.24; read by upgrading to ${API_VERSION} (kaudit convert writes v1)`,
        "warning",
      );
    }
  }
  let upgraded: unknown;
  try {
    upgraded = upgradeEvent(
      listVersion !== undefined ? { kind: "Event", apiVersion, ...obj } : obj,
    );
  } catch (e) {
    const issues = (e as { issues?: { path: string; message: string }[] }).issues;
    if (issues?.length) for (const i of issues) yield p(i.path, i.message, "error");
    else yield p("", (e as Error).message, "error");
    return;
  }
  for (const issue of issuesOf(validateEvent(upgraded)))
    yield p(issue.path, issue.message, "error");
}

/** An EventList's envelope: its apiVersion decides how its items are read. */
function* checkList(list: ListRecord, file: string): Generator<Problem> {
  const apiVersion = (list.value as { apiVersion?: unknown } | null)?.apiVersion;
  if (list.container !== "items" || apiVersion === API_VERSION) return;
  if (apiVersion !== undefined && !OLD_VERSIONS.has(apiVersion as string)) {
    yield {
      file,
      ...list.locate("apiVersion"),
      path: "apiVersion",
      message: `unsupported apiVersion ${JSON.stringify(apiVersion)}: expected "${API_VERSION}"`,
      severity: "error",
    };
    return;
  }
  yield {
    file,
    ...list.locate("apiVersion"),
    path: "apiVersion",
    message:
      apiVersion === undefined
        ? `no apiVersion: read as ${API_VERSION}`
        : `${apiVersion} was removed in Kubernetes 1.24; read by upgrading to ${API_VERSION}`,
    severity: "warning",
  };
}

function checkPolicy(text: string, file: string, lineOffset: number, tally: Tally): Problem[] {
  const out: Problem[] = [];
  const shift = (line?: number) => (line === undefined ? undefined : line + lineOffset);
  try {
    const policy = parsePolicy(text, { source: file });
    tally.policies++;
    tally.rules += policy.rules.length;
    for (const w of policy.warnings) {
      out.push({
        file,
        line: shift(w.line),
        column: w.column,
        path: w.path,
        message: w.message,
        severity: "warning",
      });
    }
  } catch (e) {
    if (!(e instanceof PolicyError) && !PolicyError.isInstance(e)) throw e;
    const issues = (e as PolicyError).issues;
    tally.policies++;
    for (const i of issues) {
      out.push({
        file,
        line: shift(i.line),
        column: i.column,
        path: i.path,
        message: i.message,
        severity: "error",
      });
    }
  }
  return out;
}

function wrongKind(expected: string, found: string | undefined, file: string, at: At): Problem {
  return {
    file,
    ...at("kind"),
    path: "kind",
    message: `expected ${expected === "policy" ? "an audit Policy" : "audit Events"} (--kind ${expected}), found ${found === undefined ? "no kind" : `kind ${JSON.stringify(found)}`}`,
    severity: "error",
  };
}

const LOOKS_LIKE_POLICY = /^\s*"?kind"?\s*:\s*["']?Policy(?:List)?["']?\s*,?\s*$/m;

const isPolicyKind = (k: string | undefined) => k === "Policy" || k === "PolicyList";

/** Refuses a policy file by its size before anything reads it (`--kind policy`). */
async function policySizeProblem(name: string, file: string): Promise<Problem | undefined> {
  if (name === "-") return undefined;
  let size: number;
  try {
    const st = await stat(name);
    if (!st.isFile()) return undefined;
    size = st.size;
  } catch (e) {
    throw fileError(file, e);
  }
  if (size <= DEFAULT_MAX_POLICY_BYTES) return undefined;
  return {
    file,
    message: `${size} bytes is too large for an audit policy (limit ${DEFAULT_MAX_POLICY_BYTES}); not parsed`,
    severity: "error",
  };
}

/** The largest Falco rules file `validate` reads whole. */
const MAX_RULES_FILE_BYTES = 16 * 1024 * 1024;

/** A Falco rules file, read again whole for the rules loader (files only: stdin cannot be read twice). */
async function checkRules(name: string, file: string, tally: Tally): Promise<Problem[]> {
  if (name === "-") {
    return [
      {
        file,
        message: "a Falco rules file on stdin: pass it as a file to validate it",
        severity: "error",
      },
    ];
  }
  let text: string;
  try {
    const st = await stat(name);
    if (st.size > MAX_RULES_FILE_BYTES) {
      return [
        {
          file,
          message: `${st.size} bytes is too large for a rules file (limit ${MAX_RULES_FILE_BYTES}); not parsed`,
          severity: "error",
        },
      ];
    }
    text = await readFile(name, "utf8");
  } catch (e) {
    throw fileError(file, e);
  }
  const r = checkRulesFile(text, file);
  tally.falcoRules = r.rules;
  return r.problems;
}

/** Checks one record of an input (an event of any version, a policy, or a document that did not decode). */
function* checkRaw(
  raw: RawRecord,
  file: string,
  kind: ValidateOptions["kind"],
  tally: Tally,
): Generator<Problem | "wrong-kind"> {
  if (raw.invalid !== undefined) {
    // A broken policy still gets kube-apiserver's own decode error (and is counted as one).
    const text = raw.text ?? "";
    if (kind === "policy" || (kind === "auto" && LOOKS_LIKE_POLICY.test(text)))
      yield* checkPolicy(text, file, (raw.textLine ?? 1) - 1, tally);
    else yield raw.invalid;
    return;
  }
  const found = kindOf(raw.value);
  const at: At = raw.locate;
  if (isPolicyKind(found) || kind === "policy") {
    // A wrong kind is said once per file: the rest of a log would only repeat it.
    if (kind === "event") {
      yield wrongKind("event", found, file, at);
      yield "wrong-kind";
      return;
    }
    if (kind === "policy" && !isPolicyKind(found)) {
      yield wrongKind("policy", found, file, at);
      yield "wrong-kind";
      return;
    }
    const text = raw.text ?? JSON.stringify(raw.value);
    yield* checkPolicy(text, file, (raw.textLine ?? 1) - 1, tally);
    return;
  }
  tally.events++;
  const inList = raw.prefix.startsWith("items[");
  yield* checkEvent(
    raw.value,
    file,
    at,
    raw.prefix,
    raw.listVersion ?? (inList ? API_VERSION : undefined),
  );
}

/**
 * `kaudit validate`: checks event logs (every format @kaudit/sources reads: JSON lines, JSON or
 * YAML Event/EventList documents, legacy lines, GKE/EKS/AKS exports) and policies (YAML or
 * JSON, validated as kube-apiserver loads them). Problems go to stderr as
 * `file:line:col: path: message`, one summary line per file to stdout.
 */
export async function runValidate(
  ctx: CliContext,
  files: string[],
  options: ValidateOptions,
): Promise<number> {
  let exit = EXIT_OK;
  for (const name of files) {
    const file = displayName(name);
    const tally: Tally = { events: 0, policies: 0, rules: 0, errors: 0, warnings: 0 };
    const report = (p: Problem) => {
      if (p.severity === "error") tally.errors++;
      else tally.warnings++;
      ctx.report(p);
    };
    try {
      const tooBig = options.kind === "policy" ? await policySizeProblem(name, file) : undefined;
      if (tooBig !== undefined) {
        tally.policies++;
        report(tooBig);
      } else {
        const reader = readRecords(name, { stdin: ctx.stdin });
        let rulesFile = false;
        read: for await (const r of reader) {
          if ("problem" in r) report(r.problem);
          else if ("list" in r) for (const p of checkList(r.list, file)) report(p);
          else if ("event" in r) {
            // A legacy line, already converted.
            if (options.kind === "policy") {
              report({
                file,
                line: r.source.line || 1,
                column: 1,
                message: "expected an audit Policy (--kind policy), found legacy AUDIT: log lines",
                severity: "error",
              });
              break;
            }
            tally.events++;
          } else if (
            options.kind === "auto" &&
            /^\[\d+\]$/.test(r.raw.source.record ?? "") &&
            isRulesFile([r.raw.value])
          ) {
            // A Falco rules file (a YAML list of rule/macro/list items): kaudit detect's loader checks it whole.
            rulesFile = true;
            break;
          } else {
            for (const p of checkRaw(r.raw, file, options.kind, tally)) {
              if (p === "wrong-kind") break read;
              report(p);
            }
          }
        }
        if (rulesFile) {
          for (const p of await checkRules(name, file, tally)) report(p);
        } else if (isEmptyInput(reader) && tally.errors === 0) {
          report({ file, message: "empty input: no event or policy in it", severity: "error" });
        }
      }
    } catch (e) {
      if (!CliError.isInstance(e)) throw e;
      ctx.stderr.write(`${ctx.err.red(e.message)}\n`);
      ctx.counts.errors++;
      exit = Math.max(exit, (e as CliError).exitCode);
      continue;
    }
    const what: string[] = [];
    if (tally.policies > 0)
      what.push(
        tally.policies === 1 ? `policy, ${tally.rules} rules` : `${tally.policies} policies`,
      );
    if (tally.falcoRules !== undefined)
      what.push(`rules file, ${tally.falcoRules} k8s_audit rules`);
    else if (tally.events > 0 || tally.policies === 0)
      what.push(`${tally.events} event${tally.events === 1 ? "" : "s"}`);
    const notes: string[] = [];
    if (tally.errors > 0) notes.push(`${tally.errors} error${tally.errors === 1 ? "" : "s"}`);
    if (tally.warnings > 0)
      notes.push(`${tally.warnings} warning${tally.warnings === 1 ? "" : "s"}`);
    const verdict = tally.errors > 0 ? ctx.out.red("invalid") : ctx.out.green("valid");
    ctx.stdout.write(
      `${file}: ${verdict} (${what.join(", ")}${notes.length ? `; ${notes.join(", ")}` : ""})\n`,
    );
    if (tally.errors > 0) exit = Math.max(exit, EXIT_FINDINGS);
  }
  return exit === EXIT_USAGE ? EXIT_USAGE : exit;
}
