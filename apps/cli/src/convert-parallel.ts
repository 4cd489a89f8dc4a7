import type { Problem } from "@kaudit/sources";
import type { PieceRequest, PieceResult } from "./convert-piece";
import { displayName } from "./io";

/** Converts pieces elsewhere (convert-pool.ts: on worker threads). */
export interface PieceConverter {
  /** How many pieces it works on at once. */
  readonly size: number;
  /** Converts a piece (its bytes are handed over, and come back in the result). */
  convert(piece: PieceRequest): Promise<PieceResult>;
}

/** Options of {@link convertInPieces}. */
export interface PiecesOptions {
  /** The input as given (`-` for stdin). */
  name: string;
  to: "json" | "legacy";
  strict: boolean;
  /** The input's bytes, gunzipped (the one reading of the input). */
  bytes: AsyncIterable<Buffer>;
  /** Bytes per piece handed to a worker (pieces end at a newline, so they are about this big). */
  pieceBytes: number;
  /** An input that ends before this many bytes is converted in this thread: no worker starts. */
  startBytes: number;
  /** The workers, started on first use (shared by the command's inputs). */
  pool: () => PieceConverter;
}

/** Where {@link convertInPieces} hands its output, strictly in input order. */
export interface PiecesTarget {
  /** Output lines (UTF-8, with their newlines); the bytes are reused once this resolves. */
  write(bytes: Uint8Array): Promise<void>;
  /** One problem; true when conversion must stop (--strict). */
  problem(p: Problem): Promise<boolean>;
  /** Events written. */
  wrote(events: number): void;
  /**
   * Converts the rest of the input in this thread, in order: `bytes` from line `firstLine` on,
   * with today's single-threaded path. Resolves to the reader's counts.
   */
  inOrder(bytes: AsyncIterable<Buffer>, firstLine: number): Promise<ReadTotals>;
}

/** What an input's reader counted: all zero means an empty input. */
export interface ReadTotals {
  read: number;
  dropped: number;
  skipped: number;
}

interface Sent {
  firstLine: number;
  last: boolean;
  result: Promise<PieceResult>;
}

/** The longest stretch without a place to cut before reading on in order instead. */
const MAX_UNCUT_PIECES = 8;

/**
 * Where to end a piece of `buf` near `target`: just after a newline whose next byte is known and
 * starts a line that reads the same at the start of an input as inside it — not a BOM (dropped
 * only at line 1) nor gzip's first byte (the pieces are gunzipped already; never sniffed, but a
 * line cannot start with 0x1f in a log either). -1 when there is none.
 */
export function cutPoint(buf: Uint8Array, target: number): number {
  const ok = (nl: number) => nl + 1 < buf.length && buf[nl + 1] !== 0xef && buf[nl + 1] !== 0x1f;
  const at = Math.min(target, buf.length - 1);
  for (let nl = buf.lastIndexOf(10, at); nl > 0; nl = buf.lastIndexOf(10, nl - 1))
    if (ok(nl)) return nl + 1;
  for (let nl = buf.indexOf(10, at); nl !== -1; nl = buf.indexOf(10, nl + 1))
    if (ok(nl)) return nl + 1;
  return -1;
}

function countLines(u: Uint8Array): number {
  // Buffer's indexOf (memchr) is 4-10x a JS loop over the bytes or Uint8Array's own indexOf.
  const b = Buffer.from(u.buffer, u.byteOffset, u.byteLength);
  let n = 0;
  for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) n++;
  return n;
}

/**
 * The bytes read but not yet cut into pieces, in one buffer reused as they go (as are the pieces'
 * own buffers, which come back with their results): this thread's heap barely allocates, so V8
 * would collect dropped ArrayBuffers only every ~64 MB of them — that much more RSS.
 */
class Pending {
  private buf = new Uint8Array(0);
  length = 0;

  /** The pending bytes (a view, valid until the next call). */
  get bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  push(chunk: Uint8Array): void {
    const need = this.length + chunk.length;
    if (need > this.buf.length) {
      const grown = new Uint8Array(Math.max(need, this.buf.length * 2));
      grown.set(this.bytes);
      this.buf = grown;
    }
    this.buf.set(chunk, this.length);
    this.length = need;
  }

  /** Moves the first `n` bytes into `into` (or drops them without it). */
  shift(n: number, into?: Uint8Array): void {
    if (into !== undefined) into.set(this.buf.subarray(0, n));
    this.buf.copyWithin(0, n, this.length);
    this.length -= n;
  }

  /** A copy of the pending bytes, and none left. */
  takeAll(): Uint8Array {
    const out = this.buf.slice(0, this.length);
    this.length = 0;
    return out;
  }
}

/**
 * `kaudit convert --jobs N` for one input: this thread reads the input and cuts it into pieces of
 * whole lines (each with its first line number), the workers convert them (convert-piece.ts:
 * parse, upgrade, validate, encode), and this thread writes their bytes and reports their problems
 * strictly in input order — so the output, the problems (file:line:col), the first problem of
 * --strict and the counts are the single-threaded path's. Cutting is speculative: a piece that
 * ends inside something the next lines continue (a multi-line document, legacy request lines
 * waiting for their response) says so, and the input is then read on in order in this thread
 * from that piece's first line, through the pieces already sent (their results are dropped).
 * An input shorter than `startBytes` is read in this thread and starts no worker.
 */
export async function convertInPieces(o: PiecesOptions, target: PiecesTarget): Promise<ReadTotals> {
  const totals: ReadTotals = { read: 0, dropped: 0, skipped: 0 };
  const add = (t: ReadTotals) => {
    totals.read += t.read;
    totals.dropped += t.dropped;
    totals.skipped += t.skipped;
  };
  const it = o.bytes[Symbol.asyncIterator]();
  const held = new Pending();
  /** Piece and output buffers back from the workers, for the next pieces. */
  const free: ArrayBuffer[] = [];
  const freeOut: ArrayBuffer[] = [];
  let line = 1;
  let ended = false;
  let pool: PieceConverter | undefined;
  const queue: Sent[] = [];
  const maxQueued = 3;

  /** Reads on in order in this thread from `firstLine`: `first`, then the rest of the input. */
  const inOrder = async (first: Uint8Array[], firstLine: number): Promise<ReadTotals> => {
    async function* rest(): AsyncGenerator<Buffer> {
      for (const b of first) yield Buffer.from(b.buffer, b.byteOffset, b.byteLength);
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield r.value;
      }
    }
    const r = await target.inOrder(rest(), firstLine);
    add(r);
    return r;
  };

  /** Writes a piece's result; true when conversion stopped (--strict). */
  const take = async (res: PieceResult): Promise<boolean> => {
    let from = 0;
    for (const p of res.parts) {
      if (typeof p === "number") {
        await target.write(res.out.subarray(from, p));
        from = p;
      } else if (await target.problem(p)) return true;
    }
    target.wrote(res.events);
    add(res);
    if (free.length < 16) free.push(res.bytes.buffer as ArrayBuffer);
    if (freeOut.length < 16) freeOut.push(res.out.buffer as ArrayBuffer);
    return false;
  };

  /**
   * Handles the oldest piece sent; "stop" after --strict stopped, "in-order" when the input was
   * read on in order from it (to its end).
   */
  const handleOldest = async (): Promise<"next" | "stop" | "in-order"> => {
    const sent = queue.shift()!;
    const res = await sent.result;
    if (res.openAtEnd && !sent.last) {
      // The pieces' bytes come back with their results (transferred to the workers, not kept).
      const first = [res.bytes];
      for (const q of queue) first.push((await q.result).bytes);
      first.push(held.takeAll());
      queue.length = 0;
      await inOrder(first, sent.firstLine);
      return "in-order";
    }
    return (await take(res)) ? "stop" : "next";
  };

  /** Handles the oldest pieces until at most `keep` are in hand; false when conversion ended. */
  const drain = async (keep: number): Promise<boolean> => {
    while (queue.length > keep) if ((await handleOldest()) !== "next") return false;
    return true;
  };

  const send = (bytes: Uint8Array, last: boolean): void => {
    pool ??= o.pool();
    const firstLine = line;
    line += countLines(bytes);
    const out = freeOut.pop();
    const result = pool.convert({
      name: displayName(o.name),
      bytes,
      firstLine,
      to: o.to,
      strict: o.strict,
      out: out === undefined ? undefined : new Uint8Array(out),
    });
    queue.push({ firstLine, last, result });
  };

  /** A buffer for a piece of `size` bytes: one back from a worker, else a new one. */
  const pieceBuffer = (size: number): Uint8Array => {
    const i = free.findIndex((ab) => ab.byteLength >= size);
    if (i !== -1) return new Uint8Array(free.splice(i, 1)[0]!, 0, size);
    return new Uint8Array(new ArrayBuffer(Math.max(size, o.pieceBytes * 2)), 0, size);
  };

  for (;;) {
    if (!ended && (pool !== undefined || held.length < o.startBytes)) {
      let r: IteratorResult<Buffer>;
      try {
        r = await it.next();
      } catch (e) {
        // A read error (a truncated gzip input) fails the command as with --jobs 1, after the
        // pieces already cut are written (on stdout; with -o nothing is). The lines read since
        // the last piece are not: --jobs 1 would have written those too.
        await drain(0);
        throw e;
      }
      if (r.done) ended = true;
      else {
        held.push(r.value);
        if (pool === undefined && held.length < o.startBytes) continue;
      }
    }
    if (pool === undefined && ended) {
      // A small input: no worker for it.
      await inOrder([held.takeAll()], 1);
      return totals;
    }
    // Cut what is held into pieces of about pieceBytes.
    while (held.length >= o.pieceBytes || (ended && held.length > 0)) {
      const n = held.length;
      let cut = ended && n < o.pieceBytes * 2 ? n : cutPoint(held.bytes, o.pieceBytes);
      if (cut === -1 && ended) cut = n;
      if (cut === -1) {
        if (n < o.pieceBytes * MAX_UNCUT_PIECES) break;
        // No place to cut for a long stretch: read the rest in order.
        if (await drain(0)) await inOrder([held.takeAll()], line);
        return totals;
      }
      // A buffer of its own, transferred to the worker and back.
      const piece = pieceBuffer(cut);
      held.shift(cut, piece);
      send(piece, ended && held.length === 0);
      if (!(await drain(maxQueued * (pool?.size ?? 1)))) return totals;
    }
    if (ended) {
      await drain(0);
      return totals;
    }
  }
}
