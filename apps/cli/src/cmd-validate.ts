import { API_VERSION, upgradeEvent, validateEvent } from "@kaudit/api";
import { legacyToEvents } from "@kaudit/legacy";
import { PolicyError, parsePolicy } from "@kaudit/policy";
import { checkRulesFile, isRulesFile } from "./cmd-detect";
import type { CliContext } from "./context";
import { CliError, EXIT_FINDINGS, EXIT_OK, EXIT_USAGE } from "./errors";
import { kindOf, type Problem, parseDocumentText, readDocument, sniffInput } from "./input";
import { displayName } from "./io";
import { createLocator } from "./locate";

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

function* checkEventOrList(value: unknown, file: string, at: At, tally: Tally): Generator<Problem> {
  if (kindOf(value) === "EventList") {
    const list = value as { apiVersion?: unknown; items?: unknown };
    if (list.apiVersion !== API_VERSION) {
      if (list.apiVersion !== undefined && !OLD_VERSIONS.has(list.apiVersion as string)) {
        yield {
          file,
          ...at("apiVersion"),
          path: "apiVersion",
          message: `unsupported apiVersion ${JSON.stringify(list.apiVersion)}: expected "${API_VERSION}"`,
          severity: "error",
        };
        return;
      }
      yield {
        file,
        ...at("apiVersion"),
        path: "apiVersion",
        message:
          list.apiVersion === undefined
            ? `no apiVersion: read as ${API_VERSION}`
            : `${list.apiVersion} was removed in Kubernetes 1.24; read by upgrading to ${API_VERSION}`,
        severity: "warning",
      };
    }
    if (!Array.isArray(list.items)) {
      yield {
        file,
        ...at("items"),
        path: "items",
        message: "Required value: an EventList needs an items array",
        severity: "error",
      };
      return;
    }
    for (let i = 0; i < list.items.length; i++) {
      tally.events++;
      yield* checkEvent(list.items[i], file, at, `items[${i}].`, list.apiVersion ?? API_VERSION);
    }
    return;
  }
  tally.events++;
  yield* checkEvent(value, file, at, "");
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

/**
 * `kaudit validate`: checks event logs (JSON lines, one JSON or YAML Event/EventList, legacy
 * lines) and policies (YAML or JSON, validated as kube-apiserver loads them). Problems go to
 * stderr as `file:line:col: path: message`, one summary line per file to stdout.
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
      const input = await sniffInput(name, { stdin: ctx.stdin });
      if (input.format === "empty") {
        report({ file, message: "empty input: no event or policy in it", severity: "error" });
      } else if (input.format === "legacy") {
        if (options.kind === "policy") {
          report({
            file,
            line: 1,
            column: 1,
            message: "expected an audit Policy (--kind policy), found legacy AUDIT: log lines",
            severity: "error",
          });
        } else {
          for await (const r of legacyToEvents(input.lines)) {
            if ("event" in r) tally.events++;
            else
              report({
                file,
                line: r.error.line,
                column: r.error.column,
                message: r.error.message,
                severity: "error",
              });
          }
        }
      } else if (input.format === "document") {
        const text = await readDocument(input);
        const parsed = parseDocumentText(text, file);
        if ("problem" in parsed) {
          // A broken policy still gets kube-apiserver's own decode error (and is counted as one).
          if (
            options.kind === "policy" ||
            (options.kind === "auto" && LOOKS_LIKE_POLICY.test(text))
          ) {
            for (const p of checkPolicy(text, file, 0, tally)) report(p);
          } else report(parsed.problem);
        } else {
          let locator: ReturnType<typeof createLocator> | undefined;
          const at: At = (path) => {
            locator ??= createLocator(text);
            return locator.locate(path);
          };
          const kind = kindOf(parsed.value);
          if (options.kind === "auto" && isRulesFile(parsed.value)) {
            const r = checkRulesFile(text, file);
            tally.falcoRules = r.rules;
            for (const p of r.problems) report(p);
          } else if (
            options.kind === "policy" ? true : options.kind === "auto" && isPolicyKind(kind)
          ) {
            if (options.kind === "policy" && kind !== undefined && !isPolicyKind(kind))
              report(wrongKind("policy", kind, file, at));
            else for (const p of checkPolicy(text, file, 0, tally)) report(p);
          } else if (isPolicyKind(kind)) {
            report(wrongKind("event", kind, file, at));
          } else {
            for (const p of checkEventOrList(parsed.value, file, at, tally)) report(p);
          }
        }
      } else {
        let n = 0;
        for await (const line of input.lines) {
          n++;
          if (typeof line !== "string") {
            report({
              file,
              line: n,
              column: line.error.column,
              message: line.error.message,
              severity: "error",
            });
            continue;
          }
          if (line.trim() === "") continue;
          const parsed = parseDocumentText(line, file);
          if ("problem" in parsed) {
            report({ ...parsed.problem, line: n });
            continue;
          }
          const lineNo = n;
          const at: At = (path) => createLocator(line, lineNo - 1).locate(path);
          const kind = kindOf(parsed.value);
          if (isPolicyKind(kind) || options.kind === "policy") {
            // A wrong kind is said once per file: the rest of a log would only repeat it.
            if (options.kind === "event") {
              report(wrongKind("event", kind, file, at));
              break;
            }
            if (options.kind === "policy" && !isPolicyKind(kind)) {
              report(wrongKind("policy", kind, file, at));
              break;
            }
            for (const p of checkPolicy(line, file, n - 1, tally)) report(p);
            continue;
          }
          for (const p of checkEventOrList(parsed.value, file, at, tally)) report(p);
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
