import { Readable } from "node:stream";
import { encodeEvent } from "@kaudit/api";
import { formatLegacyLine } from "@kaudit/legacy";
import { type Problem, readEvents } from "@kaudit/sources";

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
}

/** What a piece converted to, in input order. */
export interface PieceResult {
  /** The request's bytes, handed back (transferred to the worker and back, never copied). */
  bytes: Uint8Array;
  /**
   * The output (lines with their newlines, ~64 KB per string) and the problems between them, in
   * input order. Strings, not encoded bytes: on the main thread they are young objects of its
   * heap, collected as it goes, where transferred ArrayBuffers piled up as external memory (its
   * own heap barely allocates, so V8 collected them only every ~64 MB: +60 MB of RSS).
   */
  parts: (string | Problem)[];
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
  const parts: (string | Problem)[] = [];
  let text = "";
  let events = 0;
  let stop = false;
  const problem = (p: Problem): void => {
    if (text !== "") parts.push(text);
    text = "";
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
      let line: string;
      try {
        line = to === "json" ? encodeEvent(r.event) : formatLegacyLine(r.event);
      } catch (e) {
        problem({
          file: name,
          line: r.source.line || undefined,
          message: (e as Error).message,
          severity: "error",
        });
        continue;
      }
      events++;
      text += `${line}\n`;
      // In ~64 KB parts: one string of the whole piece's output, flattened at once, went to
      // V8's large-object space and doubled the worker's GC time.
      if (text.length >= 65536) {
        parts.push(text);
        text = "";
      }
    }
    if (stop) break;
  }
  if (text !== "") parts.push(text);
  const c = reader.counts;
  return {
    bytes: b,
    parts,
    events,
    read: c.read,
    dropped: c.dropped,
    skipped: c.skipped,
    openAtEnd: c.openAtEnd,
  };
}
