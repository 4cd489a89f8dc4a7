import { AlertStats, AuditStats, renderReport } from "@kaudit/analyze";
import { loadRules, RulesError, UnreadableEventError } from "@kaudit/rules";
import { collectStats, timeBound } from "./cmd-analyze";
import type { CliContext } from "./context";
import { CliError, EXIT_FINDINGS, EXIT_OK, EXIT_USAGE } from "./errors";
import { displayName, openOutput } from "./io";

/** Options of `kaudit report`. */
export interface ReportOptions {
  output: string;
  top: number;
  since?: string | undefined;
  until?: string | undefined;
  title?: string | undefined;
  /** Falco rules files for the alerts section; none: @kaudit/rules' default set. */
  rules?: string[] | undefined;
}

/**
 * `kaudit report`: one streaming pass over the logs (the same statistics as `kaudit analyze`),
 * then one self-contained HTML page, written atomically.
 */
export async function runReport(
  ctx: CliContext,
  logs: string[],
  options: ReportOptions,
): Promise<number> {
  const since = timeBound("report", "--since", options.since);
  const until = timeBound("report", "--until", options.until);
  let rules: ReturnType<typeof loadRules>;
  try {
    rules = loadRules(options.rules ?? []);
  } catch (e) {
    if (e instanceof RulesError) throw new CliError(`kaudit report: ${e.message}`, EXIT_USAGE);
    throw e;
  }
  const stats = new AuditStats({ top: options.top, since, until });
  const alerts = new AlertStats(rules.rules.filter((r) => r.enabled).length);
  let unreadable = 0;
  const { problems } = await collectStats(ctx, logs, "reporting", (e) => {
    if (!stats.add(e)) return;
    try {
      for (const a of rules.evaluate(e)) {
        const user = a.output_fields["ka.user.name"];
        alerts.add({
          time: a.time,
          rule: a.rule,
          priority: a.priority,
          output: a.output,
          ...(typeof user === "string" ? { user } : {}),
        });
      }
    } catch (err) {
      if (!(err instanceof UnreadableEventError)) throw err;
      unreadable++;
    }
  });
  if (unreadable > 0) {
    ctx.stderr.write(
      `kaudit report: ${unreadable} events the rules could not read were left out of the alerts\n`,
    );
  }
  const inputs = logs.map(displayName);
  const html = renderReport({
    report: stats.report(),
    title: options.title ?? `Audit report: ${inputs.join(", ")}`,
    inputs,
    problems,
    generatedAt: new Date().toISOString(),
    alerts: alerts.report(),
  });
  const out = openOutput(options.output, ctx.stdout);
  try {
    await out.write(html);
    await out.commit();
  } catch (e) {
    await out.abort();
    throw e;
  }
  return problems > 0 ? EXIT_FINDINGS : EXIT_OK;
}
