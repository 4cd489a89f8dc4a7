import { AuditStats, renderReport } from "@kaudit/analyze";
import { collectStats, timeBound } from "./cmd-analyze";
import type { CliContext } from "./context";
import { EXIT_FINDINGS, EXIT_OK } from "./errors";
import { displayName, openOutput } from "./io";

/** Options of `kaudit report`. */
export interface ReportOptions {
  output: string;
  top: number;
  since?: string | undefined;
  until?: string | undefined;
  title?: string | undefined;
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
  const stats = new AuditStats({ top: options.top, since, until });
  const { problems } = await collectStats(ctx, logs, "reporting", (e) => stats.add(e));
  const inputs = logs.map(displayName);
  const html = renderReport({
    report: stats.report(),
    title: options.title ?? `Audit report: ${inputs.join(", ")}`,
    inputs,
    problems,
    generatedAt: new Date().toISOString(),
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
