import { Readable } from "node:stream";
import type { Event } from "@kaudit/api";
import {
  type EventSource,
  formatProblem,
  type Problem,
  type ReadBytesOptions,
  type ReadEventsOptions,
  type ReadResult,
  type RecordReader,
  readBytes,
  readEvents as readSource,
  readRecords as readSourceRecords,
  type SourceFormat,
  SourceReadError,
} from "@kaudit/sources";
import { CliError, EXIT_FINDINGS, EXIT_USAGE } from "./errors";
import { displayName } from "./io";

export { formatProblem, type Problem, type ReadResult };

/**
 * Every input is read by @kaudit/sources (one reader for every format: JSON lines of any audit
 * version, legacy lines, JSON/YAML documents, GKE/EKS/AKS exports, gzip); this module only turns
 * its errors into exit codes and applies the CLI's one rule for empty inputs.
 */

/** Options of {@link readEvents}. */
export interface InputOptions {
  /** Check every event against the v1 schema (validateEvent) and report failures as problems (default false: the command decides). */
  validate?: boolean;
  /** Stop after the first problem. */
  strict?: boolean;
  /** Called with the number of raw (possibly compressed) bytes as they are read. */
  onBytes?: (n: number) => void;
  /** Where `-` reads from (default process.stdin). */
  stdin?: NodeJS.ReadableStream;
  /** What the inputs hold (default `auto`: told apart per line and document). */
  format?: "auto" | SourceFormat;
  /** Keep the bodies' exact text for re-encoding (default true; commands that only read events turn it off). */
  keepBodyText?: boolean;
}

/** One event read from an input, with the line it came from (0 when not known). */
export interface EventRecord {
  event: Event;
  line: number;
  source: EventSource;
}

/** A source error as the CLI reports it: cannot open → exit 2; broken gzip → exit 1. */
export function cliErrorOf(e: unknown): unknown {
  if (!(e instanceof SourceReadError) && !(SourceReadError.isInstance(e) && "kind" in e)) return e;
  const err = e as SourceReadError;
  return new CliError(err.message, err.kind === "gzip" ? EXIT_FINDINGS : EXIT_USAGE, { cause: e });
}

function sourceOptions(name: string, options: InputOptions): ReadEventsOptions {
  const o: ReadEventsOptions = { name: displayName(name), validate: options.validate ?? false };
  if (options.strict !== undefined) o.strict = options.strict;
  if (options.onBytes !== undefined) o.onBytes = options.onBytes;
  if (options.stdin !== undefined) o.stdin = options.stdin;
  if (options.format !== undefined) o.format = options.format;
  if (options.keepBodyText !== undefined) o.keepBodyText = options.keepBodyText;
  return o;
}

/**
 * The one rule for empty inputs, in every command: an input with nothing in it (no bytes, or
 * only blank lines and comments) is a problem — `file: empty input: …` — and the command exits 1
 * after reading its other inputs. An audit log is never empty while kube-apiserver writes it, so
 * an empty one is almost always the wrong file.
 */
export function isEmptyInput(reader: {
  counts: Pick<RecordReader["counts"], "read" | "dropped" | "skipped">;
}): boolean {
  const c = reader.counts;
  return c.read === 0 && c.dropped === 0 && c.skipped === 0;
}

/** The problem {@link isEmptyInput} gives an input of events. */
export function emptyInputProblem(name: string): Problem {
  return {
    file: displayName(name),
    message: "empty input: no audit events in it",
    severity: "error",
  };
}

/**
 * The events of one input, whatever its format (see @kaudit/sources' readEvents), as
 * `{ event, line, source }` or `{ problem }`; problems never stop reading unless `strict`.
 *
 * @throws {CliError} exit 2 when the input cannot be opened, exit 1 for corrupt gzip data.
 */
export async function* readEvents(
  name: string,
  options: InputOptions = {},
): AsyncGenerator<EventRecord | { problem: Problem }, void, undefined> {
  const reader = readSource(name, sourceOptions(name, options));
  try {
    for await (const r of reader) {
      if ("problem" in r) yield r;
      else yield { event: r.event, line: r.source.line, source: r.source };
    }
  } catch (e) {
    throw cliErrorOf(e);
  }
  if (isEmptyInput(reader)) yield { problem: emptyInputProblem(name) };
}

/**
 * {@link readEvents} in arrays, one per chunk of input (see @kaudit/sources' `batches()`): the
 * same items in the same order, the empty-input problem included, without an `await` per event.
 * The reader's own results (`{ event, source }`), not wrapped again: on `kaudit convert`'s path
 * an object per event is measurable.
 *
 * @throws {CliError} exit 2 when the input cannot be opened, exit 1 for corrupt gzip data.
 */
export async function* readEventBatches(
  name: string,
  options: InputOptions = {},
): AsyncGenerator<ReadResult[], void, undefined> {
  const reader = readSource(name, sourceOptions(name, options));
  try {
    yield* reader.batches();
  } catch (e) {
    throw cliErrorOf(e);
  }
  if (isEmptyInput(reader)) yield [{ problem: emptyInputProblem(name) }];
}

/**
 * {@link readEventBatches} over bytes of an input already read and gunzipped: `bytes` holds its
 * lines from `firstLine` on (the rest of an input `kaudit convert --jobs` cut into pieces). The
 * empty-input rule is left to the caller, who has seen the whole input; `counts` are the reader's.
 */
export function readEventBatchesOf(
  name: string,
  bytes: AsyncIterable<Buffer>,
  firstLine: number,
  options: InputOptions = {},
): {
  batches: AsyncIterable<ReadResult[]>;
  counts: RecordReader["counts"];
} {
  const o = sourceOptions(name, options);
  o.firstLine = firstLine;
  o.decompress = false;
  const reader = readSource(Readable.from(bytes, { objectMode: false }), o);
  async function* batches(): AsyncGenerator<ReadResult[]> {
    try {
      yield* reader.batches();
    } catch (e) {
      throw cliErrorOf(e);
    }
  }
  return { batches: batches(), counts: reader.counts };
}

/**
 * The records of one input undecided (see @kaudit/sources' readRecords), for `kaudit validate`.
 * Errors are turned into CliErrors as {@link readEvents} does.
 */
export function readRecords(name: string, options: InputOptions = {}): RecordReader {
  const reader = readSourceRecords(name, sourceOptions(name, options));
  const iterate = reader[Symbol.asyncIterator].bind(reader);
  Object.defineProperty(reader, Symbol.asyncIterator, {
    value: () => {
      const it = iterate();
      return {
        next: async () => {
          try {
            return await it.next();
          } catch (e) {
            throw cliErrorOf(e);
          }
        },
        return: async () => (it.return ? it.return() : { done: true, value: undefined }),
      };
    },
  });
  return reader;
}

/**
 * The bytes of an input (`-` = stdin), gunzipped when they start with gzip's magic bytes.
 *
 * @throws {CliError} exit 2 when the input cannot be opened, exit 1 for corrupt gzip data.
 */
export async function* readInputBytes(
  name: string,
  options: { stdin?: NodeJS.ReadableStream; onBytes?: (n: number) => void } = {},
): AsyncGenerator<Buffer, void, undefined> {
  try {
    const o: ReadBytesOptions = { name: displayName(name) };
    if (options.stdin !== undefined) o.stdin = options.stdin;
    if (options.onBytes !== undefined) o.onBytes = options.onBytes;
    yield* readBytes(name, o);
  } catch (e) {
    throw cliErrorOf(e);
  }
}
