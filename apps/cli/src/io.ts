import { createReadStream, createWriteStream, type WriteStream } from "node:fs";
import { rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { pipeline, Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { type LineReadError, splitLines } from "@kaudit/legacy";
import { CliError, EXIT_FINDINGS, fileError } from "./errors";

/** The display name of an input: `-` reads stdin and is shown as `<stdin>`. */
export function displayName(name: string): string {
  return name === "-" ? "<stdin>" : name;
}

/** Options of {@link readBytes}. */
export interface ReadOptions {
  /** Called with the number of raw (possibly compressed) bytes as they are read. */
  onBytes?: (n: number) => void;
  /** Where `-` reads from (default process.stdin). */
  stdin?: NodeJS.ReadableStream;
}

const CHUNK = 256 * 1024;

/**
 * The bytes of an input file (`-` = stdin), decompressed when they start with the gzip magic
 * bytes (1f 8b) whatever the file is called, one chunk at a time so memory stays bounded.
 * Concatenated gzip members (`cat a.gz b.gz`) are read as one stream.
 *
 * @throws {CliError} exit 2 when the file cannot be opened, exit 1 for corrupt or truncated gzip data.
 */
export async function* readBytes(
  name: string,
  options: ReadOptions = {},
): AsyncGenerator<Buffer, void, undefined> {
  const shown = displayName(name);
  const raw: NodeJS.ReadableStream =
    name === "-"
      ? (options.stdin ?? process.stdin)
      : createReadStream(name, { highWaterMark: CHUNK });
  const it = (raw as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  let compressed = 0;
  const next = async (): Promise<IteratorResult<Buffer>> => {
    let r: IteratorResult<Buffer>;
    try {
      r = await it.next();
    } catch (e) {
      throw fileError(shown, e);
    }
    if (!r.done) {
      const b = typeof r.value === "string" ? Buffer.from(r.value) : r.value;
      compressed += b.length;
      options.onBytes?.(b.length);
      return { done: false, value: b };
    }
    return r;
  };
  try {
    const head: Buffer[] = [];
    let headBytes = 0;
    let ended = false;
    while (headBytes < 2) {
      const r = await next();
      if (r.done) {
        ended = true;
        break;
      }
      head.push(r.value);
      headBytes += r.value.length;
    }
    const first = Buffer.concat(head);
    async function* rest(): AsyncGenerator<Buffer> {
      if (first.length > 0) yield first;
      if (ended) return;
      for (;;) {
        const r = await next();
        if (r.done) return;
        yield r.value;
      }
    }
    if (!(first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b)) {
      yield* rest();
      return;
    }
    const gunzip = createGunzip({ chunkSize: CHUNK });
    const source = Readable.from(rest(), { objectMode: false });
    let sourceError: unknown;
    pipeline(source, gunzip, (e) => {
      if (e) sourceError = e;
    });
    try {
      for await (const chunk of gunzip) yield chunk as Buffer;
    } catch (e) {
      if (CliError.isInstance(sourceError)) throw sourceError;
      if (CliError.isInstance(e)) throw e;
      const err = e as NodeJS.ErrnoException;
      if (err.code === "Z_BUF_ERROR" || /unexpected end of file/.test(err.message)) {
        throw new CliError(
          `${shown}: truncated gzip data: unexpected end of file after ${compressed} compressed bytes (was the file cut off or still being written?)`,
          EXIT_FINDINGS,
          { cause: e },
        );
      }
      throw new CliError(`${shown}: corrupt gzip data: ${err.message}`, EXIT_FINDINGS, {
        cause: e,
      });
    }
  } finally {
    if (name !== "-") (raw as unknown as { destroy(): void }).destroy();
  }
}

/** Longest line accepted (bytes); kube writes one event per line and events are rarely over 1 MB. */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;

/**
 * The lines of an input (`\n` or `\r\n`, gzip'd or not), as @kaudit/legacy's splitLines gives
 * them: a string per line, or a {@link LineReadError} for a line that is not UTF-8 or too long.
 */
export function readLines(
  name: string,
  options: ReadOptions = {},
): AsyncIterable<string | LineReadError> {
  return splitLines(readBytes(name, options), { maxLineBytes: MAX_LINE_BYTES });
}

/** Where a command writes its data: stdout, or a file written atomically. */
export interface Output {
  /** Writes text, waiting when the destination pushes back. */
  write(text: string): Promise<void> | undefined;
  /** Finishes: flushes and, for a file, renames the temporary file into place. */
  commit(): Promise<void>;
  /** Gives up: for a file, removes the temporary file so nothing half-written is left. */
  abort(): Promise<void>;
}

function writer(stream: NodeJS.WritableStream): (text: string) => Promise<void> | undefined {
  let failed: unknown;
  stream.on("error", (e) => {
    failed = e;
  });
  return (text) => {
    if (failed) throw failed;
    if (stream.write(text)) return undefined;
    return new Promise<void>((resolve, reject) => {
      const onDrain = () => {
        stream.off("error", onError);
        resolve();
      };
      const onError = (e: unknown) => {
        stream.off("drain", onDrain);
        reject(e);
      };
      stream.once("drain", onDrain);
      stream.once("error", onError);
    });
  };
}

/**
 * Opens an output: `undefined` or `-` is stdout; a path is written to a temporary file in the
 * same directory and renamed over the path on `commit`, so readers never see half a file and
 * a failed run leaves the old file as it was.
 */
export function openOutput(
  path: string | undefined,
  stdout: NodeJS.WritableStream = process.stdout,
): Output {
  if (path === undefined || path === "-") {
    const write = writer(stdout);
    return {
      write,
      commit: async () => {},
      abort: async () => {},
    };
  }
  const tmp = join(
    dirname(path),
    `.${basename(path)}.kaudit-${process.pid}-${Date.now().toString(36)}.tmp`,
  );
  const stream: WriteStream = createWriteStream(tmp, { flags: "wx", mode: 0o644 });
  let openError: unknown;
  stream.on("error", (e) => {
    openError = e;
  });
  const write = writer(stream);
  const closed = () =>
    new Promise<void>((resolve, reject) => {
      if (stream.closed) {
        resolve();
        return;
      }
      stream.end((e?: unknown) => (e ? reject(e) : resolve()));
    });
  return {
    write: (text) => {
      if (openError) throw fileError(path, openError, "cannot write");
      try {
        const r = write(text);
        return r?.catch((e) => {
          throw fileError(path, e, "cannot write");
        });
      } catch (e) {
        throw fileError(path, e, "cannot write");
      }
    },
    commit: async () => {
      try {
        await closed();
        if (openError) throw openError;
        await rename(tmp, path);
      } catch (e) {
        await unlink(tmp).catch(() => {});
        throw fileError(path, e, "cannot write");
      }
    },
    abort: async () => {
      // Wait for the close: a stream destroyed while still opening creates the file afterwards.
      await new Promise<void>((resolve) => {
        if (stream.closed) resolve();
        else {
          stream.once("close", () => resolve());
          stream.destroy();
        }
      });
      await unlink(tmp).catch(() => {});
    },
  };
}
