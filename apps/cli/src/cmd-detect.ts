import { KauditError } from "@kaudit/api";
import {
  type Alert,
  loadRules,
  type RuleSet,
  type RulesError,
  type RulesWarning,
} from "@kaudit/rules";
import type { CliContext } from "./context";
import { CliError, EXIT_FINDINGS, EXIT_OK, EXIT_USAGE } from "./errors";
import { type Problem, readEvents } from "./input";
import { prepareInputs } from "./sources";

/** Options of `kaudit detect`. */
export interface DetectOptions {
  /** Rules files, in order (later ones change earlier items); none: kaudit's default rules. */
  rules: string[];
  json?: boolean | undefined;
  list?: boolean | undefined;
  /** Time zone of kaudit.hour / kaudit.weekday and time windows (default UTC). */
  timeZone?: string | undefined;
}

/** A kaudit error of one kind, recognised across copies of the package (not instanceof). */
function isNamed(e: unknown, name: string): boolean {
  return KauditError.isInstance(e) && e.name === name;
}

function warningProblem(w: RulesWarning): Problem {
  const item = w.item ? `${w.item.kind}${w.item.name ? ` '${w.item.name}'` : ""}` : undefined;
  return {
    file: w.file,
    line: w.line,
    column: w.column,
    path: [item, w.part].filter(Boolean).join(": ") || undefined,
    message: w.message,
    severity: "warning",
  };
}

/** Loads the rules; a file that cannot be loaded is a usage error (exit 2) saying where. */
function load(ctx: CliContext, files: string[], timeZone: string | undefined): RuleSet {
  try {
    const rules = loadRules(files, timeZone === undefined ? {} : { timeZone });
    for (const w of rules.warnings) ctx.report(warningProblem(w));
    return rules;
  } catch (e) {
    if (isNamed(e, "RulesError") || e instanceof RangeError) {
      throw new CliError(`kaudit detect: ${(e as Error).message}`, EXIT_USAGE, { cause: e });
    }
    throw e;
  }
}

// Falco prints one alert per line: control characters in field values are escaped.
const CONTROL = /[\u0000-\u001f\u007f]/g;
function oneLine(s: string): string {
  return s.replace(CONTROL, (c) => JSON.stringify(c).slice(1, -1));
}

function listRules(ctx: CliContext, rules: RuleSet, json: boolean): void {
  if (json) {
    for (const r of rules.rules) ctx.stdout.write(`${JSON.stringify(r)}\n`);
    return;
  }
  for (const r of rules.rules) {
    const notes: string[] = [];
    if (!r.enabled) notes.push("disabled");
    if (r.threshold) {
      const by = r.threshold.by.length ? ` by ${r.threshold.by.join(",")}` : "";
      const what = r.threshold.distinct ? ` distinct ${r.threshold.distinct}` : "";
      notes.push(`${r.threshold.count}${what} in ${r.threshold.window_ms / 1000}s${by}`);
    }
    if (r.inside?.length) notes.push(`inside ${r.inside.join(",")}`);
    if (r.outside?.length) notes.push(`outside ${r.outside.join(",")}`);
    ctx.stdout.write(
      `${r.priority.padEnd(13)} ${r.name}${notes.length ? ` (${notes.join("; ")})` : ""}\n`,
    );
  }
  const s = rules.skipped;
  if (s.rules > 0) {
    ctx.stderr.write(
      `${s.rules} rule(s) of other sources skipped: ${Object.entries(s.bySource)
        .map(([k, n]) => `${k} ${n}`)
        .join(", ")}\n`,
    );
  }
}

/**
 * `kaudit detect`: runs Falco k8s_audit rules (and kaudit's extensions) over recorded logs.
 * Alerts go to stdout as Falco prints them (`<time>: <Priority> <output>`, or `--json` lines);
 * events the rules cannot read are reported on stderr and skipped. Exit 0 when nothing fired,
 * 1 when something did, 2 for usage errors and rules that cannot be loaded.
 */
export async function runDetect(
  ctx: CliContext,
  logs: string[],
  options: DetectOptions,
): Promise<number> {
  const rules = load(ctx, options.rules, options.timeZone);
  if (options.list) {
    listRules(ctx, rules, options.json === true);
    return EXIT_OK;
  }
  const progress = await prepareInputs(ctx, logs, "detecting");
  let alerts = 0;
  let skipped = 0;
  const emit = (list: Alert[]) => {
    for (const a of list) {
      alerts++;
      ctx.stdout.write(options.json ? `${JSON.stringify(a)}\n` : `${oneLine(a.output)}\n`);
    }
  };
  try {
    for (const name of logs) {
      for await (const r of readEvents(name, {
        // Only looks at the events: the bodies' exact text is not needed.
        keepBodyText: false,
        stdin: ctx.stdin,
        onBytes: (n) => progress.add(n),
      })) {
        if ("problem" in r) {
          skipped++;
          progress.finish();
          ctx.report(r.problem);
          continue;
        }
        try {
          emit(rules.evaluate(r.event));
        } catch (e) {
          if (!isNamed(e, "UnreadableEventError")) throw e;
          skipped++;
          progress.finish();
          ctx.report({
            file: name === "-" ? "<stdin>" : name,
            ...(r.line > 0 ? { line: r.line, column: 1 } : {}),
            message: (e as Error).message,
            severity: "error",
          });
        }
      }
    }
  } finally {
    progress.finish();
  }
  const evicted = rules.stats().thresholds.evicted;
  if (skipped > 0 || evicted > 0) {
    const parts = [`${rules.stats().events} events, ${alerts} alerts`];
    if (skipped > 0) parts.push(`${skipped} unreadable event(s) skipped (see above)`);
    if (evicted > 0) parts.push(`${evicted} threshold key(s) evicted to bound memory`);
    ctx.stderr.write(`kaudit detect: ${parts.join("; ")}\n`);
  }
  return alerts > 0 ? EXIT_FINDINGS : EXIT_OK;
}

/** True when a decoded YAML document is a Falco rules file (a list of rule/macro/list items). */
export function isRulesFile(value: unknown): boolean {
  if (!Array.isArray(value) || value.length === 0) return false;
  const keys = ["rule", "macro", "list", "required_engine_version", "required_plugin_versions"];
  return value.some(
    (item) => item !== null && typeof item === "object" && keys.some((k) => Object.hasOwn(item, k)),
  );
}

/** `kaudit validate` of a rules file: its load error and warnings as problems, and its rule count. */
export function checkRulesFile(text: string, file: string): { problems: Problem[]; rules: number } {
  try {
    const rules = loadRules([{ name: file, text }]);
    return { problems: rules.warnings.map(warningProblem), rules: rules.rules.length };
  } catch (e) {
    if (!isNamed(e, "RulesError")) throw e;
    const err = e as RulesError;
    const p = err.position;
    const item = p.item ? `${p.item.kind}${p.item.name ? ` '${p.item.name}'` : ""}` : undefined;
    return {
      problems: [
        {
          file,
          line: p.line,
          column: p.column,
          path: [item, p.part].filter(Boolean).join(": ") || undefined,
          message: err.reason,
          severity: "error",
        },
      ],
      rules: 0,
    };
  }
}
