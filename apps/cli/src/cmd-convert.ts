import { availableParallelism } from "node:os";
import type { CliContext } from "./context";
import { convertInPieces, type ReadTotals } from "./convert-parallel";
import { lineOf } from "./convert-piece";
import { PiecePool } from "./convert-pool";
import { CliError, EXIT_FINDINGS, EXIT_OK } from "./errors";
import {
  emptyInputProblem,
  isEmptyInput,
  type Problem,
  type ReadResult,
  readEventBatches,
  readEventBatchesOf,
  readInputBytes,
} from "./input";
import { displayName, type Output, openOutput } from "./io";
import { prepareInputs } from "./sources";
import type { Progress } from "./term";

/** Options of `kaudit convert`. */
export interface ConvertOptions {
  /** `json`: audit.k8s.io/v1 JSON lines (kube-apiserver's exact bytes); `legacy`: its legacy text lines. */
  to: "json" | "legacy";
  /** Output path (`-` or absent: stdout), written atomically. */
  output?: string | undefined;
  /** Stop at the first problem; with `-o` nothing is written. */
  strict?: boolean | undefined;
  /**
   * Worker threads converting pieces of each input (default: the available cores, at most
   * {@link MAX_DEFAULT_JOBS}); 1 converts in the main thread only. Output, problems and counts
   * are the same whatever the number.
   */
  jobs?: number | undefined;
  /**
   * Bytes per piece handed to a worker (default 256 KiB); an input under 32 pieces (8 MiB) starts no
   * worker. Small values are for tests (pieces, and their edges, on small inputs).
   */
  pieceBytes?: number | undefined;
}

/** The most worker threads `kaudit convert` starts unless told (`--jobs`). */
export const MAX_DEFAULT_JOBS = 4;
const PIECE_BYTES = 256 * 1024;
/** Inputs below this many pieces are converted in the main thread: starting workers costs more. */
const START_PIECES = 32;

/** Takes converted lines and problems in input order: writes, reports and counts them. */
class ConvertSink {
  events = 0;
  errors = 0;
  private chunk = "";
  constructor(
    private readonly ctx: CliContext,
    private readonly out: Output,
    private readonly progress: Progress,
    private readonly strict: boolean,
  ) {}

  /** Whether --strict stopped at a problem. */
  get stopped(): boolean {
    return this.strict && this.errors > 0;
  }

  /** One output line (without its newline). */
  async line(text: string): Promise<void> {
    this.events++;
    // Lines are gathered into ~64 KB chunks: one stream write per line cost more than encoding
    // (a writev of 100,000 tiny buffers per 100,000 events in a --cpu-prof of 100k legacy lines).
    this.chunk += `${text}\n`;
    if (this.chunk.length >= 65536) await this.flush();
  }

  /** Output lines already encoded (a worker's); the caller may reuse the bytes afterwards. */
  async bytes(b: Uint8Array): Promise<void> {
    await this.flush();
    const pending = this.out.write(b);
    if (pending) await pending;
  }

  /** Reports a problem after the lines before it; true when conversion must stop. */
  async problem(p: Problem): Promise<boolean> {
    this.errors++;
    await this.flush();
    this.progress.finish();
    this.ctx.report(p);
    return this.strict;
  }

  async flush(): Promise<void> {
    if (this.chunk === "") return;
    const pending = this.out.write(this.chunk);
    this.chunk = "";
    if (pending) await pending;
  }
}

/** Today's single-threaded conversion of read results, in order. */
async function convertInOrder(
  name: string,
  batches: AsyncIterable<ReadResult[]>,
  to: "json" | "legacy",
  sink: ConvertSink,
): Promise<void> {
  const file = displayName(name);
  // Batches (one per chunk of input) rather than one `await` per event through two
  // generators (the reader's and the CLI's).
  for await (const batch of batches) {
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i]!;
      const line = "problem" in r ? r.problem : lineOf(file, to, r);
      if (typeof line === "string") await sink.line(line);
      else if (await sink.problem(line)) return;
    }
  }
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
  const strict = options.strict ?? false;
  const jobs = options.jobs ?? Math.min(availableParallelism(), MAX_DEFAULT_JOBS);
  const pieceBytes = options.pieceBytes ?? PIECE_BYTES;
  const sink = new ConvertSink(ctx, out, progress, strict);
  let pool: PiecePool | undefined;
  try {
    for (const name of files) {
      const input = {
        validate: true,
        strict,
        stdin: ctx.stdin,
        onBytes: (n: number) => progress.add(n),
      };
      if (jobs <= 1) {
        await convertInOrder(name, readEventBatches(name, input), options.to, sink);
      } else {
        const totals: ReadTotals = await convertInPieces(
          {
            name,
            to: options.to,
            strict,
            bytes: readInputBytes(name, input),
            pieceBytes,
            startBytes: pieceBytes * START_PIECES,
            pool: () => {
              pool ??= new PiecePool(jobs);
              return pool;
            },
          },
          {
            write: (b) => sink.bytes(b),
            problem: (p) => sink.problem(p),
            wrote: (n) => {
              sink.events += n;
            },
            inOrder: async (bytes, firstLine) => {
              // Its bytes were counted for the progress bar as this thread read them.
              const r = readEventBatchesOf(name, bytes, firstLine, { validate: true, strict });
              await convertInOrder(name, r.batches, options.to, sink);
              return r.counts;
            },
          },
        );
        // The one rule for empty inputs (input.ts), over the whole input.
        if (!sink.stopped && isEmptyInput({ counts: totals })) {
          await sink.problem(emptyInputProblem(name));
        }
      }
      await sink.flush();
      if (sink.stopped) break;
    }
  } catch (e) {
    progress.finish();
    await out.abort();
    throw e;
  } finally {
    await pool?.close();
  }
  progress.finish();
  if (sink.stopped) {
    await out.abort();
    throw new CliError(
      `kaudit convert: stopped at the first problem (--strict)${options.output && options.output !== "-" ? `; ${options.output} was not written` : ""}`,
      EXIT_FINDINGS,
    );
  }
  await out.commit();
  if (sink.errors > 0) {
    ctx.stderr.write(
      ctx.err.yellow(
        `kaudit convert: ${sink.events} events written, ${sink.errors} problem${sink.errors === 1 ? "" : "s"} (see above)\n`,
      ),
    );
    return EXIT_FINDINGS;
  }
  return EXIT_OK;
}
