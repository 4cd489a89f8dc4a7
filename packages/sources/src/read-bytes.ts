import { createReadStream } from "node:fs";
import { pipeline, Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { SourceReadError } from "./errors";

/** An input: a path, `-` for stdin, or any readable byte stream. */
export type Input = string | NodeJS.ReadableStream;

/** Options for reading the bytes of an input. */
export interface ReadBytesOptions {
  /** Called with the number of raw (possibly compressed) bytes as they are read (progress bars). */
  onBytes?: (n: number) => void;
  /** Where `-` reads from (default `process.stdin`). */
  stdin?: NodeJS.ReadableStream;
  /** How `input` is named in problems (default: the path, `<stdin>` for `-` and streams). */
  name?: string;
  /**
   * Gunzip an input that starts with gzip's magic bytes (default `true`); `false` for bytes
   * already decompressed (a piece of an input cut by its reader, which sniffed the gzip itself).
   */
  decompress?: boolean;
}

const CHUNK = 256 * 1024;

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: "no such file or directory",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EISDIR: "is a directory",
  ENOTDIR: "not a directory",
  EMFILE: "too many open files",
  ENOSPC: "no space left on device",
  EROFS: "read-only file system",
  EEXIST: "file exists",
};

/** `no such file or directory` for ENOENT and so on; the error's own message otherwise. */
export function errnoText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === "string" && ERRNO_TEXT[err.code]) return ERRNO_TEXT[err.code]!;
  return err instanceof Error ? err.message : String(e);
}

/** The name an input is shown by: its path, `<stdin>` for `-` and for streams. */
export function inputName(input: Input, options: { name?: string } = {}): string {
  if (options.name !== undefined) return options.name;
  return typeof input === "string" && input !== "-" ? input : "<stdin>";
}

/**
 * The bytes of an input, decompressed when they start with the gzip magic bytes (1f 8b) whatever
 * the file is called, one chunk at a time so memory stays bounded. Concatenated gzip members
 * (`cat a.gz b.gz`) are read as one stream.
 *
 * @throws {SourceReadError} kind `open` when the input cannot be opened or read, kind `gzip` for
 *   corrupt or truncated gzip data.
 */
export async function* readBytes(
  input: Input,
  options: ReadBytesOptions = {},
): AsyncGenerator<Buffer, void, undefined> {
  const shown = inputName(input, options);
  const owned = typeof input === "string" && input !== "-";
  const raw: NodeJS.ReadableStream =
    typeof input !== "string"
      ? input
      : input === "-"
        ? (options.stdin ?? process.stdin)
        : createReadStream(input, { highWaterMark: CHUNK });
  const it = (raw as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
  let compressed = 0;
  const next = async (): Promise<IteratorResult<Buffer>> => {
    let r: IteratorResult<Buffer | string>;
    try {
      r = await it.next();
    } catch (e) {
      throw new SourceReadError("open", shown, `${shown}: cannot read: ${errnoText(e)}`, {
        cause: e,
      });
    }
    if (r.done) return r as IteratorResult<Buffer>;
    const b = typeof r.value === "string" ? Buffer.from(r.value) : r.value;
    compressed += b.length;
    options.onBytes?.(b.length);
    return { done: false, value: b };
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
    const first = head.length === 1 ? head[0]! : Buffer.concat(head);
    async function* rest(): AsyncGenerator<Buffer> {
      if (first.length > 0) yield first;
      if (ended) return;
      for (;;) {
        const r = await next();
        if (r.done) return;
        yield r.value;
      }
    }
    if (
      options.decompress === false ||
      !(first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b)
    ) {
      yield* rest();
      return;
    }
    // zlib's gunzip reads concatenated members on its own.
    const gunzip = createGunzip({ chunkSize: CHUNK });
    const source = Readable.from(rest(), { objectMode: false });
    let sourceError: unknown;
    pipeline(source, gunzip, (e) => {
      if (e) sourceError = e;
    });
    try {
      for await (const chunk of gunzip) yield chunk as Buffer;
    } catch (e) {
      if (SourceReadError.isInstance(sourceError)) throw sourceError;
      if (SourceReadError.isInstance(e)) throw e;
      const err = e as NodeJS.ErrnoException;
      if (err.code === "Z_BUF_ERROR" || /unexpected end of file/.test(err.message)) {
        throw new SourceReadError(
          "gzip",
          shown,
          `${shown}: truncated gzip data: unexpected end of file after ${compressed} compressed bytes (was the file cut off or still being written?)`,
          { cause: e },
        );
      }
      throw new SourceReadError("gzip", shown, `${shown}: corrupt gzip data: ${err.message}`, {
        cause: e,
      });
    }
  } finally {
    if (owned) (raw as unknown as { destroy(): void }).destroy();
  }
}
