import { isUtf8 } from "node:buffer";
import type { LineReadError } from "./convert";

/** Options of {@link splitLines}. */
export interface SplitLinesOptions {
  /**
   * The longest line accepted, in bytes (without its line ending). A longer line is not kept
   * in memory: it is skipped up to its newline and a {@link LineReadError} takes its place.
   * Default 1 MiB.
   */
  maxLineBytes?: number;
}

const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

/** Byte offset of the first invalid UTF-8 sequence (the line is known to be invalid). */
function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    let need = 0;
    let lo = 0x80;
    let hi = 0xbf;
    if (c < 0x80) {
      i++;
      continue;
    }
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c === 0xe0) lo = 0xa0;
      if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c === 0xf0) lo = 0x90;
      if (c === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= need; k++) {
      const d = b[i + k];
      if (d === undefined || d < (k === 1 ? lo : 0x80) || d > (k === 1 ? hi : 0xbf)) return i;
    }
    i += need + 1;
  }
  return b.length;
}

function decodeLine(bytes: Buffer, first: boolean): string | LineReadError {
  let start = 0;
  let end = bytes.length;
  if (first && end >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
  if (end > start && bytes[end - 1] === 0x0d) end--;
  const b = start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end);
  if (isUtf8(b)) return b.toString("utf8");
  const at = firstInvalidUtf8(b);
  const column = b.subarray(0, at).toString("utf8").length + 1;
  return {
    error: {
      column,
      message: `column ${column}: not UTF-8 text (invalid byte 0x${b[at]!.toString(16).padStart(2, "0")} at byte ${at + start}); kube-apiserver writes legacy lines as UTF-8 with invalid bytes escaped`,
    },
  };
}

function tooLong(bytes: number, max: number): LineReadError {
  return {
    error: {
      column: 1,
      message: `line is ${bytes} bytes long, over the ${max}-byte limit (maxLineBytes); skipped`,
    },
  };
}

/** Marks a line source that can also hand out whole batches of lines (see {@link splitLines}). */
export const LINE_BATCHES: unique symbol = Symbol.for("kaudit.legacy.lineBatches");

/** What {@link splitLines} returns: lines one by one, or (for our own consumers) in batches. */
export interface LineSource extends AsyncIterable<string | LineReadError> {
  /** The same lines, one array per input chunk (fewer awaits for fast consumers). */
  [LINE_BATCHES](): AsyncIterable<(string | LineReadError)[]>;
}

/**
 * Splits a byte stream (a Node Readable, or any (async) iterable of Buffers, Uint8Arrays or
 * strings) into lines, pulling one chunk at a time so memory stays bounded by the chunk size
 * plus one line (at most `maxLineBytes`) and back-pressure reaches the source. Handles `\n`
 * and `\r\n`, a UTF-8 BOM at the start, and a last line without newline. A line longer than
 * `maxLineBytes` or not valid UTF-8 is yielded as a {@link LineReadError}, so line numbers
 * downstream stay right and reading goes on. {@link legacyToEvents} reads it in batches.
 *
 * @example
 * for await (const r of legacyToEvents(splitLines(createReadStream(path)))) { ... }
 */
export function splitLines(
  source: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
  options: SplitLinesOptions = {},
): LineSource {
  const max = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  if (!Number.isInteger(max) || max < 1) {
    throw new RangeError(`maxLineBytes must be a positive integer, got ${max}`);
  }
  let used = false;
  const batches = () => {
    if (used) throw new Error("splitLines: a line source can be read only once");
    used = true;
    return lineBatches(source, max);
  };
  return {
    [LINE_BATCHES]: batches,
    async *[Symbol.asyncIterator]() {
      for await (const batch of batches()) yield* batch;
    },
  };
}

async function* lineBatches(
  source: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
  max: number,
): AsyncGenerator<(string | LineReadError)[], void, undefined> {
  let parts: Buffer[] = [];
  let partBytes = 0;
  let skipping = false; // inside an over-long line
  let skipped = 0;
  let first = true;
  let lastByte = 0; // the last byte of the previous chunk, for a \r\n split across chunks
  for await (const chunk of source) {
    const buf =
      typeof chunk === "string"
        ? Buffer.from(chunk, "utf8")
        : Buffer.isBuffer(chunk)
          ? chunk
          : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const batch: (string | LineReadError)[] = [];
    let start = 0;
    for (;;) {
      if (!skipping && partBytes === 0) {
        // Bulk path: every complete line left in this chunk at once, when they are valid
        // UTF-8 and short enough (one decode and one split instead of one per line).
        const last = buf.lastIndexOf(10);
        if (last > start && last - start <= max) {
          const region = buf.subarray(start, last);
          if (isUtf8(region)) {
            const lines = region.toString("utf8").split("\n");
            for (let i = 0; i < lines.length; i++) {
              let l = lines[i]!;
              if (l.charCodeAt(l.length - 1) === 0x0d) l = l.slice(0, -1);
              if (first) {
                if (l.charCodeAt(0) === 0xfeff) l = l.slice(1);
                first = false;
              }
              batch.push(l);
            }
            start = last + 1;
          }
        }
      }
      const nl = buf.indexOf(10, start);
      if (nl === -1) {
        const rest = buf.length - start;
        if (rest === 0) break;
        lastByte = buf[buf.length - 1]!;
        if (skipping) skipped += rest;
        else if (partBytes + rest > max) {
          skipping = true;
          skipped = partBytes + rest;
          parts = [];
          partBytes = 0;
        } else {
          // Copy so that the (possibly large) chunk is not kept alive by a small tail.
          parts.push(Buffer.from(buf.subarray(start)));
          partBytes += rest;
        }
        break;
      }
      if (skipping) {
        // Like other lines, the length does not count a `\r` before the newline.
        const prev = nl > start ? buf[nl - 1] : lastByte;
        batch.push(tooLong(skipped + (nl - start) - (prev === 0x0d ? 1 : 0), max));
        skipping = false;
        skipped = 0;
      } else {
        let line: Buffer;
        if (partBytes > 0) {
          parts.push(buf.subarray(start, nl));
          line = Buffer.concat(parts);
          parts = [];
          partBytes = 0;
        } else {
          line = buf.subarray(start, nl);
        }
        const length =
          line.length > 0 && line[line.length - 1] === 0x0d ? line.length - 1 : line.length;
        batch.push(length > max ? tooLong(length, max) : decodeLine(line, first));
      }
      first = false;
      start = nl + 1;
    }
    if (batch.length > 0) yield batch;
  }
  if (skipping) yield [tooLong(skipped, max)];
  else if (partBytes > 0) {
    const line = Buffer.concat(parts);
    yield [line.length > max ? tooLong(line.length, max) : decodeLine(line, first)];
  }
}
