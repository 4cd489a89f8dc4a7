import { createRequire } from "node:module";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { type CliContext, createContext } from "./context";
import { CliError, EXIT_FINDINGS, EXIT_OK, EXIT_USAGE } from "./errors";
import { registerWatch } from "./watch/command";

const require = createRequire(import.meta.url);
const { version } = require("../package.json") as { version: string };

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a positive integer");
  return n;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/**
 * Builds the `kaudit` command tree. Actions store their exit code in `result.code`; commander's
 * own errors surface as CommanderError (exitOverride) and become exit code 2. Each command's code
 * is imported when the command runs, so a command loads only the packages it uses (start-up is
 * part of every `kaudit` run).
 */
export function createProgram(ctx: CliContext, result: { code: number }): Command {
  const program = new Command("kaudit");
  program
    .description(
      "Kubernetes API audit logs and policies: validate, convert, explain, simulate, analyze",
    )
    .version(version, "-V, --version")
    .exitOverride()
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
      outputError: (s, write) => write(ctx.err.red(s)),
    })
    .addHelpText(
      "after",
      `
Exit codes: 0 ok, 1 invalid input or findings, 2 usage error (bad option, unreadable file).
Inputs may be gzip'd (detected from their bytes) and "-" means stdin/stdout.`,
    );

  program
    .command("validate")
    .description(
      "check audit events (JSON lines, a JSON/YAML Event or EventList, legacy lines) and audit policies",
    )
    .argument("<file...>", "files to check (- for stdin; gzip'd is fine)")
    .addOption(
      new Option("--kind <kind>", "what the files hold")
        .choices(["auto", "event", "policy"])
        .default("auto"),
    )
    .addHelpText(
      "after",
      `
Every problem is printed on stderr as file:line:col: path: message; fields kube-apiserver
ignores when decoding (a v1 event still carrying "timestamp") are warnings. Exit 1 if any
file is invalid.

Example:
  $ kaudit validate audit-policy.yaml /var/log/kube-apiserver/audit.log.1.gz`,
    )
    .action(async (files: string[], opts: { kind: "auto" | "event" | "policy" }) => {
      const { runValidate } = await import("./cmd-validate");
      result.code = await runValidate(ctx, files, opts);
    });

  program
    .command("schema")
    .description("print the JSON Schema of an audit.k8s.io/v1 type (or list them)")
    .argument("[name]", "Event, EventList, Policy, ... (omit to list the names)")
    .addHelpText("after", "\nExample:\n  $ kaudit schema Policy > policy.schema.json")
    .action(async (name: string | undefined) => {
      const { runSchema } = await import("./cmd-schema");
      result.code = runSchema(ctx, name);
    });

  program
    .command("convert")
    .description(
      "convert audit logs: legacy lines <-> v1 JSON lines, v1alpha1/v1beta1 events -> v1",
    )
    .argument("[file...]", "input logs (- for stdin, the default; gzip'd is fine)")
    .addOption(
      new Option("--to <format>", "output format").choices(["json", "legacy"]).default("json"),
    )
    .option(
      "-o, --output <file>",
      "write here (atomically: a temporary file renamed into place) instead of stdout",
    )
    .option(
      "--strict",
      "stop at the first line that cannot be converted (and write nothing with -o)",
    )
    .option(
      "-j, --jobs <n>",
      "worker threads converting pieces of large inputs (default: the cores, at most 4; 1: none); the output is the same",
      positiveInt,
    )
    .addOption(new Option("--piece-bytes <n>").argParser(positiveInt).hideHelp())
    .addHelpText(
      "after",
      `
The input format (legacy AUDIT: lines, JSON lines, a JSON/YAML EventList) is detected.
Lines that cannot be converted are reported on stderr (exit 1) and skipped, unless --strict.

Examples:
  $ kaudit convert old-audit.log -o audit.jsonl
  $ kaudit convert --to legacy audit.log.gz | less`,
    )
    .action(
      async (
        files: string[],
        opts: {
          to: "json" | "legacy";
          output?: string;
          strict?: boolean;
          jobs?: number;
          pieceBytes?: number;
        },
      ) => {
        const { runConvert } = await import("./cmd-convert");
        result.code = await runConvert(ctx, files.length ? files : ["-"], opts);
      },
    );

  const policy = program
    .command("policy")
    .description("dry-run an audit policy: explain one request, or simulate it on recorded logs");
  policy
    .command("explain")
    .description("show the decision for a request and, rule by rule, why each did or did not match")
    .requiredOption("--policy <file>", "the audit policy (YAML or JSON)")
    .option(
      "--request <request>",
      'the request as "METHOD /path?query", e.g. "GET /api/v1/namespaces/x/pods"',
    )
    .option("--user <name>", "the requesting user")
    .option("--group <group>", "a group of the user (repeatable)", collect, [])
    .option("--event <file>", "explain the requests recorded in an audit log instead")
    .option("--json", "print JSON instead of text")
    .addHelpText(
      "after",
      `
Examples:
  $ kaudit policy explain --policy audit-policy.yaml --request "GET /api/v1/namespaces/x/pods" --user alice --group system:authenticated
  $ kaudit policy explain --policy audit-policy.yaml --event one-event.json`,
    )
    .action(
      async (opts: {
        policy: string;
        request?: string;
        user?: string;
        group: string[];
        event?: string;
        json?: boolean;
      }) => {
        const { runExplain } = await import("./cmd-policy");
        result.code = await runExplain(ctx, opts);
      },
    );
  policy
    .command("simulate")
    .description(
      "replay recorded logs through a policy: per rule, the events and bytes it would keep",
    )
    .requiredOption("--policy <file>", "the audit policy (YAML or JSON)")
    .argument(
      "<log...>",
      "recorded audit logs (JSON lines, legacy lines; gzip'd is fine; - for stdin)",
    )
    .option(
      "-o, --output <file>",
      "also write the log as the policy would have written it (- for stdout)",
    )
    .option("--json", "print the report as JSON")
    .addHelpText(
      "after",
      `
Bodies that the recorded log did not keep cannot be recovered, so when the policy asks for a
higher level than was recorded, the kept bytes are a lower bound (the report says how often).

Example:
  $ kaudit policy simulate --policy new-policy.yaml /var/log/kube-apiserver/audit.log* -o /tmp/would-be.log`,
    )
    .action(async (logs: string[], opts: { policy: string; output?: string; json?: boolean }) => {
      const { runSimulate } = await import("./cmd-policy");
      result.code = await runSimulate(ctx, logs, opts);
    });

  program
    .command("analyze")
    .description(
      "who did what, what failed, what was slow: 401/403s, latency percentiles, top users/verbs/resources/codes",
    )
    .argument(
      "[log...]",
      "audit logs (JSON lines, legacy lines; gzip'd is fine; - for stdin, the default)",
    )
    .option("--json", "print JSON instead of tables")
    .option("--top <n>", "rows per table", positiveInt, 10)
    .addOption(sinceOption())
    .addOption(untilOption())
    .addHelpText(
      "after",
      `
Latency is stageTimestamp - requestReceivedTimestamp of each request's final stage
(ResponseComplete or Panic), plus the apiserver.latency.k8s.io/* annotations.

Example:
  $ kaudit analyze /var/log/kube-apiserver/audit.log* --since 2h --top 5`,
    )
    .action(
      async (
        logs: string[],
        opts: { json?: boolean; top: number; since?: string; until?: string },
      ) => {
        const { runAnalyze } = await import("./cmd-analyze");
        result.code = await runAnalyze(ctx, logs.length ? logs : ["-"], opts);
      },
    );

  program
    .command("report")
    .description(
      "one self-contained HTML page of an audit log: requests over time, failures, latency, who did what",
    )
    .argument(
      "[log...]",
      "audit logs in any format kaudit reads (gzip'd is fine; - for stdin, the default)",
    )
    .requiredOption("-o, --output <file>", "where to write the page (- for stdout)")
    .option("--title <text>", "the page's title")
    .option(
      "--rules <file>",
      "Falco rules for the alerts section (repeatable; default: @kaudit/rules' default set)",
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option("--top <n>", "rows per table", positiveInt, 15)
    .addOption(sinceOption())
    .addOption(untilOption())
    .addHelpText(
      "after",
      `
The page inlines its charts (Apache ECharts) and data: it opens offline, needs no server, and
holds no request or response body. Its numbers are those of \`kaudit analyze --json\`.

Example:
  $ kaudit report /var/log/kube-apiserver/audit.log* --since 24h -o incident.html`,
    )
    .action(
      async (
        logs: string[],
        opts: {
          output: string;
          top: number;
          since?: string;
          until?: string;
          title?: string;
          rules?: string[];
        },
      ) => {
        const { runReport } = await import("./cmd-report");
        result.code = await runReport(ctx, logs.length ? logs : ["-"], opts);
      },
    );

  registerDetect(program, ctx, result);
  registerWatch(program, ctx, result);
  return program;
}

/** Adds `kaudit detect` to the program (its action stores the exit code in `result.code`). */
function registerDetect(program: Command, ctx: CliContext, result: { code: number }): void {
  program
    .command("detect")
    .description(
      "run Falco k8s_audit rules (and kaudit's thresholds, latency, time windows) over recorded logs",
    )
    .argument("[log...]", "audit logs in any format kaudit reads (- for stdin, the default)")
    .option(
      "--rules <file>",
      "a Falco rules file (repeatable; later files change earlier ones); default: kaudit's rules",
      collect,
      [],
    )
    .option("--json", "one JSON alert per line (Falco's json_output shape)")
    .option("--list", "print the loaded rules and exit")
    .option(
      "--time-zone <zone>",
      "IANA time zone of kaudit.hour/kaudit.weekday and time windows (default UTC)",
    )
    .addHelpText(
      "after",
      `
Alerts are printed as Falco prints them: <time>: <Priority> <output>. Events the rules cannot
read are reported on stderr and skipped. Exit 0 when no rule fired, 1 when one did, 2 for usage
errors and rules files that cannot be loaded.

Examples:
  $ kaudit detect /var/log/kube-apiserver/audit.log
  $ kaudit detect --rules k8s_audit_rules.yaml --rules my-overrides.yaml --json audit.log.gz`,
    )
    .action(
      async (
        logs: string[],
        opts: { rules: string[]; json?: boolean; list?: boolean; timeZone?: string },
      ) => {
        const { runDetect } = await import("./cmd-detect");
        result.code = await runDetect(ctx, logs.length ? logs : ["-"], opts);
      },
    );
}

/** `--since` of analyze and report (filters on requestReceivedTimestamp). */
function sinceOption(): Option {
  return new Option(
    "--since <time>",
    "only requests received at or after this time (RFC 3339, or a duration ago: 90m, 2h, 7d)",
  );
}

/** `--until` of analyze and report. */
function untilOption(): Option {
  return new Option(
    "--until <time>",
    "only requests received before this time (RFC 3339, or a duration ago)",
  );
}

/** Runs the CLI on `argv` (without node and script) and returns the exit code. */
export async function main(argv: string[], ctx: CliContext = createContext()): Promise<number> {
  const result = { code: EXIT_OK };
  const program = createProgram(ctx, result);
  try {
    await program.parseAsync(argv, { from: "user" });
    return result.code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version") return EXIT_OK;
      // `kaudit help <cmd>` exits 0; help shown because a command is missing exits non-zero.
      if (e.code === "commander.help" && e.exitCode === 0) return EXIT_OK;
      return EXIT_USAGE;
    }
    if (CliError.isInstance(e)) {
      ctx.stderr.write(`${ctx.err.red(e.message)}\n`);
      return (e as CliError).exitCode;
    }
    const err = e as Error;
    ctx.stderr.write(`${ctx.err.red(`kaudit: ${err?.stack ?? String(e)}`)}\n`);
    return EXIT_FINDINGS;
  }
}
