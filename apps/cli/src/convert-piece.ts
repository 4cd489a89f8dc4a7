import { Readable } from "node:stream";
import { type Event, encodeEvent } from "@kaudit/api";
import { formatLegacyLine } from "@kaudit/legacy";
import { type Problem, readEvents } from "@kaudit/sources";

const utf8 = new TextEncoder();

/** What {@link convertPiece} converts: whole lines of one input, from a given line on. */
export interface PieceRequest {
  /** The input as shown in problems (`<stdin>` for `-`). */
  name: string;
  /** The piece's bytes (already gunzipped), whole lines from `firstLine` on; handed back in the result. */
  bytes: Uint8Array;
  /** The input's line number of the piece's first line. */
  firstLine: number;
  to: "json" | "legacy";
  /** Stop at the first problem (the piece's parts then end with it). */
  strict: boolean;
  /** Where to write the output (a buffer handed back by an earlier result; grown if too small). */
  out?: Uint8Array | undefined;
}

/** What a piece converted to, in input order. */
export interface PieceResult {
  /** The request's bytes, handed back (transferred to the worker and back, never copied). */
  bytes: Uint8Array;
  /** The output: UTF-8 lines with their newlines, `out.length` bytes. */
  out: Uint8Array;
  /**
   * The output and the problems between its lines, in input order: a number is the end (in
   * `out`) of the bytes written since the previous number, a problem is reported after them.
   * Bytes rather than strings: the main thread writes them as they are (no copy into it, no
   * UTF-8 encoding there) and hands the buffer back for a later piece — new ArrayBuffers for
   * every piece piled up there as external memory (its heap barely allocates, so V8 collected
   * them only every ~64 MB), and strings cost a copy each way.
   */
  parts: (number | Problem)[];
  /** Events written into `parts`. */
  events: number;
  /** The reader's counts, for the empty-input rule over the whole input. */
  read: number;
  dropped: number;
  skipped: number;
  /**
   * The piece ended inside something the next lines could continue (a multi-line document,
   * legacy request lines waiting for their response line): unless it is the input's last piece,
   * its results are not the whole input's and the caller reads on from its start in order.
   */
  openAtEnd: boolean;
}

/**
 * One event's output line (`encodeEvent` or `formatLegacyLine`), or the problem of an event the
 * writer refuses, named `file` at the event's line: for both of `kaudit convert`'s paths, the
 * pieces here and the in-order one (cmd-convert.ts).
 */
export function lineOf(
  file: string,
  to: "json" | "legacy",
  r: { event: Event; source: { line: number } },
): string | Problem {
  try {
    return to === "json" ? encodeEvent(r.event) : formatLegacyLine(r.event);
  } catch (e) {
    return {
      file,
      line: r.source.line || undefined,
      message: (e as Error).message,
      severity: "error",
    };
  }
}

/**
 * Converts one piece of an input — lines `firstLine`… of it — exactly as `kaudit convert`
 * converts those lines inside the whole input, provided the piece starts where nothing carries
 * over from the lines before it (see `openAtEnd`): the same reader (@kaudit/sources' readEvents:
 * decode, upgrade, validateEvent), the same writer (encodeEvent or formatLegacyLine), the same
 * problems with the input's own line numbers. Runs on a worker thread (convert-worker.ts).
 */
export async function convertPiece(req: PieceRequest): Promise<PieceResult> {
  const { name, to, strict } = req;
  const b = req.bytes;
  const reader = readEvents(
    Readable.from([Buffer.from(b.buffer, b.byteOffset, b.byteLength)], { objectMode: false }),
    { name, validate: true, strict, firstLine: req.firstLine, decompress: false },
  );
  const parts: (number | Problem)[] = [];
  let out = req.out ?? new Uint8Array(Math.max(65536, b.byteLength * 2));
  let pos = 0;
  let text = "";
  let events = 0;
  let stop = false;
  /** Encodes the lines gathered so far into `out` (growing it when full). */
  const flush = (): void => {
    if (text === "") return;
    let rest = text;
    for (;;) {
      const r = utf8.encodeInto(rest, out.subarray(pos));
      pos += r.written;
      if (r.read === rest.length) break;
      rest = rest.slice(r.read);
      const grown = new Uint8Array(Math.max(out.length * 2, pos + rest.length * 3));
      grown.set(out.subarray(0, pos));
      out = grown;
    }
    text = "";
    const last = parts.length - 1;
    if (last >= 0 && typeof parts[last] === "number") parts[last] = pos;
    else parts.push(pos);
  };
  const problem = (p: Problem): void => {
    flush();
    parts.push(p);
    if (strict) stop = true;
  };
  for await (const batch of reader.batches()) {
    for (let i = 0; i < batch.length && !stop; i++) {
      const r = batch[i]!;
      if ("problem" in r) {
        problem(r.problem);
        continue;
      }
      const line = lineOf(name, to, r);
      if (typeof line !== "string") {
        problem(line);
        continue;
      }
      events++;
      text += `${line}\n`;
      // Encoded every ~64 KB: one string of the whole piece's output, flattened at once, went
      // to V8's large-object space and doubled the worker's GC time.
      if (text.length >= 65536) flush();
    }
    if (stop) break;
  }
  flush();
  const c = reader.counts;
  return {
    bytes: b,
    out: out.subarray(0, pos),
    parts,
    events,
    read: c.read,
    dropped: c.dropped,
    skipped: c.skipped,
    openAtEnd: c.openAtEnd,
  };
}
