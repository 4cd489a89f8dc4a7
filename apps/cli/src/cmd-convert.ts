import { encodeEvent } from "@kaudit/api";
import { formatLegacyLine } from "@kaudit/legacy";
import type { CliContext } from "./context";
import { CliError, EXIT_FINDINGS, EXIT_OK } from "./errors";
import { readEventBatches } from "./input";
import { displayName, openOutput } from "./io";
import { prepareInputs } from "./sources";

/** Options of `kaudit convert`. */
export interface ConvertOptions {
  /** `json`: audit.k8s.io/v1 JSON lines (kube-apiserver's exact bytes); `legacy`: its legacy text lines. */
  to: "json" | "legacy";
  /** Output path (`-` or absent: stdout), written atomically. */
  output?: string | undefined;
  /** Stop at the first problem; with `-o` nothing is written. */
  strict?: boolean | undefined;
}

/**
 * `kaudit convert`: streams events from each input (legacy lines, JSON lines of any audit
 * version, an EventList document) and writes them as v1 JSON lines or legacy lines.
 */
export async function runConvert(
  ctx: CliContext,
  files: string[],
  options: ConvertOptions,
): Promise<number> {
  const progress = await prepareInputs(ctx, files, "converting");
  const out = openOutput(options.output, ctx.stdout);
  let errors = 0;
  let events = 0;
  // Lines are gathered into ~64 KB chunks: one stream write per line cost more than encoding
  // (a writev of 100,000 tiny buffers per 100,000 events in a --cpu-prof of 100k legacy lines).
  let chunk = "";
  const flush = async () => {
    if (chunk === "") return;
    const pending = out.write(chunk);
    chunk = "";
    if (pending) await pending;
  };
  try {
    for (const name of files) {
      const batches = readEventBatches(name, {
        validate: true,
        strict: options.strict ?? false,
        stdin: ctx.stdin,
        onBytes: (n) => progress.add(n),
      });
      // Batches (one per chunk of input) rather than one `await` per event through two
      // generators (the reader's and the CLI's).
      for await (const batch of batches) {
        for (let i = 0; i < batch.length; i++) {
          const r = batch[i]!;
          if ("problem" in r) {
            errors++;
            await flush(); // the events before a problem are written before it is reported
            progress.finish();
            ctx.report(r.problem);
            if (options.strict) break;
            continue;
          }
          let text: string;
          try {
            text = options.to === "json" ? encodeEvent(r.event) : formatLegacyLine(r.event);
          } catch (e) {
            errors++;
            await flush();
            progress.finish();
            ctx.report({
              file: displayName(name),
              line: r.line || undefined,
              message: (e as Error).message,
              severity: "error",
            });
            if (options.strict) break;
            continue;
          }
          events++;
          chunk += `${text}\n`;
          if (chunk.length >= 65536) await flush();
        }
        if (options.strict && errors > 0) break;
      }
      await flush();
      if (options.strict && errors > 0) break;
    }
  } catch (e) {
    progress.finish();
    await out.abort();
    throw e;
  }
  progress.finish();
  if (options.strict && errors > 0) {
    await out.abort();
    throw new CliError(
      `kaudit convert: stopped at the first problem (--strict)${options.output && options.output !== "-" ? `; ${options.output} was not written` : ""}`,
      EXIT_FINDINGS,
    );
  }
  await out.commit();
  if (errors > 0) {
    ctx.stderr.write(
      ctx.err.yellow(
        `kaudit convert: ${events} events written, ${errors} problem${errors === 1 ? "" : "s"} (see above)\n`,
      ),
    );
    return EXIT_FINDINGS;
  }
  return EXIT_OK;
}
