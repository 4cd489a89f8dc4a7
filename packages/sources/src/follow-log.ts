import fs from "node:fs";
import path from "node:path";
import { createGunzip } from "node:zlib";
import {
  API_VERSION,
  decodeEvent,
  type Event,
  jsonDepthExceeded,
  jsonSyntaxMessage,
  upgradeEvent,
} from "@kaudit/api";
import { type LegacyConversionResult, LegacyConverter } from "@kaudit/legacy";
import { SourceReadError } from "./errors";
import {
  type Backup,
  FINGERPRINT_BYTES,
  type FileRef,
  hashBytes,
  headOfFd,
  headOfGzip,
  listBackups,
  sameContent,
} from "./file-identity";
import { DEFAULT_MAX_DEPTH } from "./json-limits";
import { readPositionFile, type SavedPosition, writePositionFile } from "./position-file";
import type { Problem } from "./problem";
import { SourceEmitter, type SourceStats } from "./source-stats";

/** Where a followed line ended: the file (by identity) and the byte offset just past the line. */
export interface FollowPosition {
  file: FileRef;
  /** Bytes from the start of the (uncompressed) file to just past the line's newline. */
  offset: number;
}

/** One item of {@link followLog}: an event, or a problem with a line that is not one. */
export type FollowItem =
  | { event: Event; position: FollowPosition }
  | { problem: Problem; position: FollowPosition };

/** Options of {@link followLog}. Durations are milliseconds. */
export interface FollowLogOptions {
  /**
   * Where the last acknowledged position is kept (JSON, written atomically). On start, a position
   * found there wins over `from`: the follower resumes after it, first reading the backups rotated
   * since. Default: none (nothing survives a restart).
   */
  positionFile?: string;
  /** Without a saved position: `end` (default) starts at the end of the current file, `start` at its beginning. */
  from?: "start" | "end";
  /** How often the file is checked when no change notification came. Default 250. */
  pollInterval?: number;
  /**
   * `auto` (default): an item counts as acknowledged once you ask for the next one (or leave the
   * loop); `manual`: only positions passed to {@link LogFollower.ack} are.
   */
  ack?: "auto" | "manual";
  /** The position file is written after this many acknowledged items. Default 1000 (the duplicates bound). */
  saveEvery?: number;
  /** …and at the latest this long after an unsaved acknowledgement. Default 1000. */
  saveInterval?: number;
  /** Longest line; a longer one is skipped (counted) up to its newline. Default 16 MiB. */
  maxLineBytes?: number;
  /** Deepest nesting of an event; deeper lines are dropped and counted. Default 1000. */
  maxDepth?: number;
  /**
   * Keep the exact text of `requestObject`/`responseObject` (as `decodeEvent` does), so that
   * re-encoding an event gives kube-apiserver's bytes (`1.0`, big integers, key order). Costs
   * about as much again as parsing. Default false: bodies are plain parsed JSON.
   */
  keepBodyText?: boolean;
}

/** A follower's counters: {@link SourceStats} plus what happened to the files. */
export interface FollowStats extends SourceStats {
  /** Rotations seen (the path now names a new file). */
  rotations: number;
  /** Truncations seen (copytruncate: the file shrank or its first bytes changed). */
  truncations: number;
  /** Backups read to catch up (rotated before the follower got to them). */
  backupsRead: number;
  /** Position file writes. */
  saves: number;
}

const LEGACY_LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d) AUDIT: /;
const CHUNK = 256 * 1024;

/** One file being read, or waiting in line to be read. */
interface Cursor {
  ref: FileRef;
  /** Opened as the followed path (may still grow, rotate or be truncated). */
  live: boolean;
  fh?: fs.promises.FileHandle;
  gunzip?: AsyncIterator<Buffer>;
  /** Offset just past the last whole line consumed. */
  offset: number;
  /** Bytes after `offset` that do not end in a newline yet. */
  pending: Buffer;
  /** Skipping an over-long line until its newline. */
  skipping: boolean;
  /** 1-based number of the next line, when the file was read from its start. */
  line: number | undefined;
  /** Backup names present when a live file was opened: a later rotation's new backups are the rest. */
  snapshot: Set<string>;
  /** The time in the name of a backup (epoch ms), for the position file's `after`. */
  rotatedAt: number | undefined;
  /** Bytes of the file seen by fstat, to tell how much a truncation without a copy lost. */
  seenSize: number;
  /** Uncompressed bytes passed so far (gzip'd files). */
  gzRead: number;
  /** When the path was last seen still naming this (live) file, epoch ms. */
  confirmedAt: number;
}

function statOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p);
  } catch {
    return undefined;
  }
}

/**
 * Whether backup `b` is the rotated `own` file. A plain backup is the renamed file (same inode);
 * one compressed meanwhile is its `.gz` twin, known by content — the plain name listed a moment
 * ago may already be gone, and reading the twin as another backup would repeat the whole file.
 */
export async function isOwnBackup(b: Backup, own: FileRef, ownHead: FileRef): Promise<boolean> {
  if (!b.gz) {
    const st = statOrUndefined(b.path);
    if (st) return st.ino === own.ino && st.dev === own.dev;
  }
  if (ownHead.fingerprintBytes === 0) return false;
  return sameContent(b.gz ? b.path : `${b.path}.gz`, ownHead);
}

/**
 * Follows kube-apiserver's audit log across rotation. See {@link followLog}. An EventEmitter of
 * `skip`, `drop` and `duplicate` reports, counted in {@link LogFollower.stats}.
 */
export class LogFollower extends SourceEmitter implements AsyncIterable<FollowItem> {
  override readonly stats: FollowStats = {
    read: 0,
    skipped: 0,
    dropped: 0,
    duplicated: 0,
    rotations: 0,
    truncations: 0,
    backupsRead: 0,
    saves: 0,
  };
  private readonly file: string;
  private readonly o: Required<Omit<FollowLogOptions, "positionFile">> & { positionFile?: string };
  /** Files to read in order: the first is being read; the last is the newest opened as the path. */
  private files: Cursor[] = [];
  private items: FollowItem[] = [];
  private idx = 0;
  private reads = 0;
  private filling: Promise<void> | undefined;
  private last: FollowItem | undefined;
  private started = false;
  /** Backups that existed when the followed file was not there yet (see start). */
  private absentWith: Set<string> | undefined;
  private closed = false;
  private watcher: fs.FSWatcher | undefined;
  private wake: (() => void) | undefined;
  private changed = false;
  private acked: FollowPosition | undefined;
  private unsaved = 0;
  private saveTimer: NodeJS.Timeout | undefined;
  private legacy: LegacyConverter | undefined;
  private readonly legacyOut: LegacyConversionResult[] = [];

  constructor(file: string, options: FollowLogOptions = {}) {
    super();
    this.file = path.resolve(file);
    this.o = {
      from: options.from ?? "end",
      pollInterval: options.pollInterval ?? 250,
      ack: options.ack ?? "auto",
      saveEvery: Math.max(1, options.saveEvery ?? 1000),
      saveInterval: options.saveInterval ?? 1000,
      maxLineBytes: options.maxLineBytes ?? 16 * 1024 * 1024,
      maxDepth: options.maxDepth ?? DEFAULT_MAX_DEPTH,
      keepBodyText: options.keepBodyText ?? false,
      ...(options.positionFile !== undefined
        ? { positionFile: path.resolve(options.positionFile) }
        : {}),
    };
    if (this.o.from !== "start" && this.o.from !== "end")
      throw new SourceReadError("option", this.file, `from must be "start" or "end"`);
  }

  // ---- the consumer side ---------------------------------------------------------------

  [Symbol.asyncIterator](): AsyncIterator<FollowItem> {
    return {
      next: () => this.next(),
      return: async () => {
        await this.close();
        return { value: undefined, done: true };
      },
    };
  }

  private async next(): Promise<IteratorResult<FollowItem>> {
    if (this.last !== undefined && this.o.ack === "auto") this.ack(this.last.position);
    this.last = undefined;
    while (this.idx >= this.items.length) {
      this.items = [];
      this.idx = 0;
      if (this.closed) return { value: undefined, done: true };
      this.filling = this.fill();
      try {
        await this.filling;
      } catch (e) {
        // after close() the handles are gone: the loop just ends
        if (!this.closed) throw e;
      } finally {
        this.filling = undefined;
      }
    }
    const item = this.items[this.idx++]!;
    if ("event" in item) this.stats.read++;
    this.last = item;
    return { value: item, done: false };
  }

  /**
   * Marks everything up to `position` as processed: it is what a restart resumes after. With
   * `ack: "auto"` the follower does this itself when you ask for the next item.
   */
  ack(position: FollowPosition): void {
    this.acked = position;
    if (this.o.positionFile === undefined) return;
    if (++this.unsaved >= this.o.saveEvery) this.save();
    else if (this.saveTimer === undefined) {
      this.saveTimer = setTimeout(() => this.save(), this.o.saveInterval);
      this.saveTimer.unref();
    }
  }

  /** Writes the acknowledged position now (also done on close). */
  save(): void {
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    const pos = this.acked;
    if (this.o.positionFile === undefined || pos === undefined || this.unsaved === 0) return;
    const cur = this.files.find((c) => c.ref.ino === pos.file.ino && c.ref.dev === pos.file.dev);
    // Backups rotated after this time come after the file: its own rotation time, or (still
    // live) the last time the path was seen naming it.
    const after = cur?.rotatedAt ?? cur?.confirmedAt ?? Date.now();
    writePositionFile(this.o.positionFile, {
      version: 1,
      file: pos.file,
      offset: pos.offset,
      after,
    });
    this.unsaved = 0;
    this.stats.saves++;
  }

  /** Stops following: saves the position, closes the files and the watcher. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.last !== undefined && this.o.ack === "auto") this.ack(this.last.position);
    this.last = undefined;
    this.closed = true;
    this.save();
    this.watcher?.close();
    this.wake?.();
    await this.filling?.catch(() => {});
    for (const c of this.files.splice(0)) await this.release(c);
  }

  // ---- opening files -------------------------------------------------------------------

  private async openCursor(
    p: string,
    o: { live: boolean; offset: number; rotatedAt?: number; fromStart: boolean },
  ): Promise<Cursor | undefined> {
    let fh: fs.promises.FileHandle;
    try {
      fh = await fs.promises.open(p, "r");
    } catch {
      return undefined;
    }
    const st = await fh.stat();
    const gz = p.endsWith(".gz") && !o.live;
    const head = gz
      ? await headOfGzip(fh, FINGERPRINT_BYTES)
      : await headOfFd(fh, FINGERPRINT_BYTES);
    const ref: FileRef = {
      path: p,
      dev: st.dev,
      ino: st.ino,
      fingerprint: hashBytes(head),
      fingerprintBytes: head.length,
      gz,
    };
    const c: Cursor = {
      ref,
      live: o.live,
      fh,
      offset: o.offset,
      pending: Buffer.alloc(0),
      skipping: false,
      line: o.fromStart ? 1 : undefined,
      snapshot: o.live ? new Set(listBackups(this.file).map((b) => b.stem)) : new Set(),
      rotatedAt: o.rotatedAt,
      seenSize: st.size,
      gzRead: 0,
      confirmedAt: Date.now(),
    };
    if (gz) {
      // A gzip'd backup is read through; an offset is skipped in uncompressed bytes.
      const stream = fh.createReadStream({ start: 0, autoClose: false }).pipe(createGunzip());
      c.gunzip = stream[Symbol.asyncIterator]();
    }
    return c;
  }

  private async release(c: Cursor): Promise<void> {
    await c.gunzip?.return?.();
    await c.fh?.close().catch(() => {});
    c.fh = undefined;
  }

  /** The first position: a saved one if there is one, else `from`. */
  private async start(): Promise<void> {
    this.started = true;
    try {
      this.watcher = fs.watch(path.dirname(this.file), () => {
        this.changed = true;
        this.wake?.();
      });
      this.watcher.on("error", () => {
        // Polling alone still finds every change (watch limits, removed directories).
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch {
      this.watcher = undefined;
    }
    const saved =
      this.o.positionFile === undefined ? undefined : readPositionFile(this.o.positionFile);
    if (saved) await this.resume(saved);
    else if (!(await this.openLive(this.o.from))) {
      // Not there yet: whatever rotates out of it before we look again is new, so remember
      // the backups that were there before.
      this.absentWith = new Set(listBackups(this.file).map((b) => b.stem));
    }
  }

  /** Opens the followed path as the newest file; `end` starts after its last whole line. */
  private async openLive(from: "start" | "end"): Promise<boolean> {
    const c = await this.openCursor(this.file, { live: true, offset: 0, fromStart: true });
    if (!c) return false;
    if (from === "end" && c.seenSize > 0) {
      c.offset = await this.lastLineEnd(c, c.seenSize);
      c.line = undefined;
    }
    this.files.push(c);
    return true;
  }

  /** The offset just past the last newline before `size` (0 if none). */
  private async lastLineEnd(c: Cursor, size: number): Promise<number> {
    const buf = Buffer.alloc(64 * 1024);
    let end = size;
    while (end > 0) {
      const start = Math.max(0, end - buf.length);
      const { bytesRead } = await c.fh!.read(buf, 0, end - start, start);
      const nl = buf.subarray(0, bytesRead).lastIndexOf(10);
      if (nl !== -1) return start + nl + 1;
      end = start;
    }
    return 0;
  }

  /** Restart: find the saved file (live, a backup, or a copytruncate copy) and what came after it. */
  private async resume(saved: SavedPosition): Promise<void> {
    const ref = saved.file;
    const live = statOrUndefined(this.file);
    if (
      live &&
      live.dev === ref.dev &&
      live.ino === ref.ino &&
      !ref.gz &&
      (await sameContent(this.file, ref))
    ) {
      const c = await this.openCursor(this.file, {
        live: true,
        offset: saved.offset,
        fromStart: false,
      });
      // The path was checked before it was opened: a rotation in between opened the new file,
      // and the saved one is then looked for among the backups like any rotated file.
      if (c && c.ref.ino === ref.ino && c.ref.dev === ref.dev) {
        this.files.push(c);
        return;
      }
      if (c) await this.release(c);
    }
    const found = await this.savedBackup(ref);
    let after = saved.after;
    if (found) {
      const at = { live: false, offset: saved.offset, rotatedAt: found.time, fromStart: false };
      // gzip'd (and removed) since it was matched: its .gz twin, as in pinNewer
      const c =
        (await this.openCursor(found.path, at)) ??
        (found.gz ? undefined : await this.openCursor(`${found.path}.gz`, at));
      if (c) {
        this.files.push(c);
        this.stats.backupsRead++;
      }
      after = found.time + 1;
    } else {
      const copy = await this.findCopy(ref);
      if (copy) {
        const c = await this.openCursor(copy, {
          live: false,
          offset: saved.offset,
          fromStart: false,
        });
        if (c) this.files.push(c);
      } else {
        this.count("drop", {
          reason: "gone",
          count: 1,
          where: `${ref.path}:${saved.offset}`,
          message: `the file of the saved position is gone (rotated and deleted while the follower was down); reading the backups rotated since`,
        });
      }
    }
    const handled = new Set<string>();
    if (found) handled.add(found.stem);
    await this.pinNewer(handled, after);
  }

  /**
   * The backup that is the saved file: the renamed file (same inode and first bytes), or a `.gz`
   * by its first bytes. A plain backup listed a moment ago may be gzip'd and gone by the time it is
   * stat'ed or read: its .gz twin is then checked. (Missed, the file was found only as a "copy",
   * not known as a backup, and read a second time from its start by pinNewer.)
   */
  private async savedBackup(ref: FileRef): Promise<Backup | undefined> {
    for (const b of listBackups(this.file)) {
      if (!b.gz) {
        const st = statOrUndefined(b.path);
        // a plain backup of a plain file is the renamed file itself: same inode
        if (st && !ref.gz && (st.ino !== ref.ino || st.dev !== ref.dev)) continue;
        // A saved .gz whose plain twin is still listed (compression was still writing it when
        // the position was saved) is that twin: known by content, read from the same offset.
        if (st && (await sameContent(b.path, ref))) return b;
        if (statOrUndefined(b.path)) continue;
      }
      const gz = b.gz ? b.path : `${b.path}.gz`;
      if (await sameContent(gz, ref)) return { ...b, path: gz, gz: true };
    }
    return undefined;
  }

  /** A file next to the followed one starting with `ref`'s bytes under another inode (a copytruncate copy). */
  private async findCopy(ref: FileRef): Promise<string | undefined> {
    if (ref.fingerprintBytes === 0) return undefined;
    const dir = path.dirname(this.file);
    const stem = path.basename(this.file).split(".")[0]!;
    let best: { p: string; size: number } | undefined;
    for (const name of fs.readdirSync(dir)) {
      const p = path.join(dir, name);
      if (p === this.file || p === this.o.positionFile || !name.startsWith(stem)) continue;
      const st = statOrUndefined(p);
      if (!st?.isFile() || (st.ino === ref.ino && st.dev === ref.dev)) continue;
      if (!(await sameContent(p, ref))) continue;
      if (!best || st.size > best.size) best = { p, size: st.size };
    }
    return best?.p;
  }

  // ---- reading -------------------------------------------------------------------------

  /** Produces the next items, waiting for the file to change when there is nothing to read. */
  private async fill(): Promise<void> {
    if (!this.started) {
      await this.start();
      if (this.closed) return;
    }
    for (;;) {
      if (this.closed) return;
      const c = this.files[0];
      if (!c) {
        if (this.absentWith) {
          // The file appeared (perhaps rotated several times already): its backups first.
          const before = this.absentWith;
          if (
            statOrUndefined(this.file) ||
            listBackups(this.file).some((b) => !before.has(b.stem))
          ) {
            await this.pinNewer(new Set(before), 0);
            if (this.files.length > 0) this.absentWith = undefined;
          }
          if (this.files.length > 0) continue;
        } else if (await this.openLive("start")) continue;
        await this.sleep();
        continue;
      }
      const newest = this.files[this.files.length - 1]!;
      if (newest !== c && newest.live && ++this.reads % 8 === 0) {
        // Catching up: keep opening what rotates meanwhile, before retention deletes it.
        await this.checkRotation(newest);
      }
      const n = await this.readChunk(c);
      if (this.items.length > 0) return;
      if (n > 0) continue;
      // At the end of what is there.
      if (!c.live || this.files.length > 1) {
        // A rotated or backup file is finished: its last line may lack a newline (a crash).
        this.finishFile(c);
        this.files.shift();
        await this.release(c);
        if (this.items.length > 0) return;
        continue;
      }
      if (await this.checkLive(c)) continue;
      if (this.items.length > 0) return;
      await this.sleep();
    }
  }

  private sleep(): Promise<void> {
    if (this.changed) {
      this.changed = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const t = setTimeout(done, this.o.pollInterval);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        this.changed = false;
        done();
      };
    });
  }

  /** Reads one chunk of `c` and turns its whole lines into items. Returns the bytes read. */
  private async readChunk(c: Cursor): Promise<number> {
    let chunk: Buffer;
    if (c.gunzip) {
      const r = await c.gunzip.next().catch((e: Error) => {
        this.count("drop", {
          reason: "broken gzip",
          count: 1,
          where: `${c.ref.path}:${c.offset}`,
          message: `the rest of a gzip'd backup cannot be read: ${e.message}`,
        });
        return { done: true as const, value: undefined };
      });
      if (r.done) return 0;
      chunk = r.value;
      // Skip the part before a resumed offset (gzip cannot seek).
      const at = c.offset + c.pending.length;
      const startOf = c.gzRead;
      c.gzRead += chunk.length;
      if (c.gzRead <= at) return chunk.length;
      if (startOf < at) chunk = chunk.subarray(at - startOf);
    } else {
      const buf = Buffer.allocUnsafe(CHUNK);
      const { bytesRead } = await c.fh!.read(buf, 0, CHUNK, c.offset + c.pending.length);
      if (bytesRead === 0) return 0;
      chunk = buf.subarray(0, bytesRead);
      // A live file may have been truncated and refilled before this read: then these bytes
      // belong to new content at an old offset. Checked after the read, so a match means they
      // are the old content's.
      if (c.live && !(await this.sameStart(c))) {
        await this.truncated(c);
        return 1;
      }
    }
    this.lines(c, chunk);
    return chunk.length;
  }

  /**
   * Whether the file still starts with the bytes `c` was fingerprinted by; a file that has
   * grown is fingerprinted further (positions already handed out keep the shorter fingerprint,
   * which still matches).
   */
  private async sameStart(c: Cursor): Promise<boolean> {
    const head = await headOfFd(c.fh!, FINGERPRINT_BYTES);
    const n = c.ref.fingerprintBytes;
    if (head.length < n || hashBytes(head.subarray(0, n)) !== c.ref.fingerprint) return false;
    if (head.length > n)
      c.ref = { ...c.ref, fingerprint: hashBytes(head), fingerprintBytes: head.length };
    return true;
  }

  /** Splits `chunk` (after the cursor's pending bytes) into whole lines and decodes them. */
  private lines(c: Cursor, chunk: Buffer): void {
    const data = c.pending.length > 0 ? Buffer.concat([c.pending, chunk]) : chunk;
    const base = c.offset;
    const nul = data.indexOf(0) !== -1;
    let start = 0;
    for (;;) {
      const nl = data.indexOf(10, start);
      if (nl === -1) break;
      if (c.skipping) c.skipping = false;
      else this.line(c, data, start, nl, base + nl + 1, nul);
      if (c.line !== undefined) c.line++;
      start = nl + 1;
    }
    c.offset = base + start;
    const rest = data.length - start;
    if (rest > this.o.maxLineBytes) {
      if (!c.skipping)
        this.count("skip", {
          reason: "line too long",
          count: 1,
          where: `${c.ref.path}:${c.offset}`,
          message: `a line longer than ${this.o.maxLineBytes} bytes skipped`,
        });
      c.skipping = true;
      c.offset += rest;
      c.pending = Buffer.alloc(0);
    } else c.pending = rest === 0 ? Buffer.alloc(0) : Buffer.from(data.subarray(start));
  }

  /** A finished file's unterminated last line, if any. */
  private finishFile(c: Cursor): void {
    if (c.pending.length > 0 && !c.skipping) {
      const end = c.offset + c.pending.length;
      this.line(c, c.pending, 0, c.pending.length, end, c.pending.indexOf(0) !== -1);
      c.offset = end;
    }
    c.pending = Buffer.alloc(0);
    if (this.legacy) {
      this.legacy.end(this.legacyOut);
      this.flushLegacy(c, c.offset);
    }
  }

  private problem(c: Cursor, end: number, message: string, column = 1): void {
    const problem: Problem = {
      file: c.ref.path,
      line: c.line,
      column,
      message,
      severity: "error",
    };
    if (c.line === undefined) problem.message = `${message} (line ending at byte ${end})`;
    this.count("skip", {
      reason: "not an event",
      count: 1,
      where: `${c.ref.path}:${end}`,
      message,
    });
    this.items.push({ problem, position: { file: c.ref, offset: end } });
  }

  /** One line, bytes [s, e) of `data`, ending at file offset `end`. */
  private line(c: Cursor, data: Buffer, s: number, e: number, end: number, nul: boolean): void {
    if (nul) {
      // copytruncate with a writer that does not append leaves a run of NULs where the old
      // content was; no JSON or legacy line holds a NUL, so the run is dropped.
      while (s < e && data[s] === 0) s++;
    }
    if (e > s && data[e - 1] === 13) e--;
    if (e === s) return;
    if (nul && data.indexOf(0, s) !== -1 && data.indexOf(0, s) < e) {
      this.problem(
        c,
        end,
        "a run of NUL bytes inside the line (the file was truncated while written)",
      );
      return;
    }
    const text = data.toString("utf8", s, e);
    const c0 = text.charCodeAt(0);
    if (c0 === 0x7b) {
      let ev: Event;
      if (this.o.keepBodyText) {
        try {
          // the nesting limit is checked on the text, before anything recursive runs
          ev = decodeEvent(text, { maxDepth: this.o.maxDepth });
        } catch (err) {
          const at = (err as { offset?: number }).offset;
          this.problem(c, end, (err as Error).message, (at ?? 0) + 1);
          return;
        }
      } else {
        const deep = jsonDepthExceeded(text, this.o.maxDepth);
        if (deep !== -1) {
          this.problem(c, end, `JSON nests deeper than ${this.o.maxDepth} levels`, deep + 1);
          return;
        }
        let v: unknown;
        try {
          v = JSON.parse(text);
        } catch (err) {
          const at = /position (\d+)/.exec(String((err as Error).message))?.[1];
          this.problem(c, end, `invalid JSON: ${jsonSyntaxMessage(err)}`, Number(at ?? 0) + 1);
          return;
        }
        if (typeof v !== "object" || v === null || Array.isArray(v)) {
          this.problem(c, end, "not an audit event: not a JSON object");
          return;
        }
        ev = v as Event;
      }
      if (ev.apiVersion !== API_VERSION || "timestamp" in ev || "metadata" in ev)
        ev = upgradeEvent(ev);
      if (typeof ev.auditID !== "string" || typeof ev.stage !== "string") {
        this.problem(c, end, "not an audit event: auditID and stage must be strings");
        return;
      }
      this.items.push({ event: ev, position: { file: c.ref, offset: end } });
      return;
    }
    if (LEGACY_LINE.test(text)) {
      this.legacy ??= new LegacyConverter({ strict: false });
      this.legacy.push(text, this.legacyOut);
      this.flushLegacy(c, end);
      return;
    }
    this.problem(c, end, "not a JSON line or a legacy AUDIT: line");
  }

  private flushLegacy(c: Cursor, end: number): void {
    for (const r of this.legacyOut) {
      if ("event" in r) {
        this.items.push({ event: r.event, position: { file: c.ref, offset: end } });
      } else this.problem(c, end, r.error.message, r.error.column);
    }
    this.legacyOut.length = 0;
  }

  /**
   * At the end of the live file: has the path been rotated to a new file, or the file
   * truncated? Returns true when there is something new to read.
   */
  private async checkLive(c: Cursor): Promise<boolean> {
    const st = await c.fh!.stat();
    if (st.size < c.offset + c.pending.length) {
      await this.truncated(c);
      return true;
    }
    c.seenSize = st.size;
    if (!(await this.sameStart(c))) {
      await this.truncated(c);
      return true;
    }
    return this.checkRotation(c);
  }

  /** Whether the path still names `c` (the newest live file); if not, pins what came after it. */
  private async checkRotation(c: Cursor): Promise<boolean> {
    const now = statOrUndefined(this.file);
    if (!now) return false;
    if (now.dev === c.ref.dev && now.ino === c.ref.ino) {
      c.confirmedAt = Date.now();
      return false;
    }
    await this.rotated(c);
    return true;
  }

  /**
   * The path names a new file. Every backup rotated since `c` was opened (other than `c`'s own)
   * and the new file are opened now — open, they survive compression and retention — and read
   * in order after `c` is drained.
   */
  private async rotated(c: Cursor): Promise<void> {
    this.stats.rotations++;
    await this.pinNewer(new Set(c.snapshot), 0, c);
  }

  /**
   * Opens every backup not in `handled` (nor older than `after`, nor `own`'s backup) and then
   * the file the path names now, in that order. A rotation between the listing and the open is
   * caught by listing again: its backup is then opened first.
   */
  private async pinNewer(handled: Set<string>, after: number, own?: Cursor): Promise<void> {
    let ownRef: FileRef | undefined;
    if (own) {
      const head = await headOfFd(own.fh!, FINGERPRINT_BYTES);
      ownRef = { ...own.ref, fingerprint: hashBytes(head), fingerprintBytes: head.length };
    }
    for (let attempt = 0; attempt < 50; attempt++) {
      for (const b of listBackups(this.file)) {
        if (handled.has(b.stem)) continue;
        handled.add(b.stem);
        if (b.time < after) continue;
        if (own && ownRef && (await isOwnBackup(b, own.ref, ownRef))) {
          own.rotatedAt = b.time;
          continue;
        }
        const at = { live: false, offset: 0, rotatedAt: b.time, fromStart: true };
        // A plain backup gzip'd (and removed) between the listing and the open is read from its
        // .gz twin: lumberjack removes the plain file only once the .gz is complete.
        const n =
          (await this.openCursor(b.path, at)) ??
          (b.gz ? undefined : await this.openCursor(`${b.path}.gz`, at));
        if (n) {
          this.files.push(n);
          this.stats.backupsRead++;
        }
      }
      const n = await this.openCursor(this.file, { live: true, offset: 0, fromStart: true });
      if (n && listBackups(this.file).every((b) => handled.has(b.stem))) {
        n.snapshot = handled;
        this.files.push(n);
        return;
      }
      if (n) await this.release(n);
      else await new Promise((r) => setTimeout(r, 10));
    }
  }

  /**
   * The live file shrank or its first bytes changed (logrotate's copytruncate). What was not
   * read yet is looked for in the copy (a file next to it with the old first bytes); lines
   * written between the copy and the truncation are in neither file and cannot be recovered.
   */
  private async truncated(c: Cursor): Promise<void> {
    this.stats.truncations++;
    const copy = await this.findCopy(c.ref);
    const from = c.offset;
    if (copy) {
      const cc = await this.openCursor(copy, {
        live: false,
        offset: from,
        fromStart: false,
      });
      if (cc) {
        cc.line = c.line;
        this.files.unshift(cc);
      }
    } else if (c.seenSize > from) {
      this.count("drop", {
        reason: "truncated",
        count: 1,
        where: `${c.ref.path}:${from}`,
        message: `the file was truncated with ${c.seenSize - from} byte(s) unread and no copy of it was found`,
      });
    }
    // Start over on the same file (same inode), fingerprinting its new content.
    const head = await headOfFd(c.fh!, FINGERPRINT_BYTES);
    c.ref = { ...c.ref, fingerprint: hashBytes(head), fingerprintBytes: head.length };
    c.offset = 0;
    c.pending = Buffer.alloc(0);
    c.skipping = false;
    c.line = 1;
    c.seenSize = 0;
  }
}

/**
 * Follows kube-apiserver's audit log as it is written and rotated: lumberjack's rename + create
 * (with the backup gzip'd, and old backups deleted), logrotate's copytruncate. Files are known by
 * device + inode and a hash of their first 1024 bytes; a renamed file is drained to its end before
 * the next; backups rotated in between are read in order; a shrink (or new first bytes) is a
 * truncation; only whole lines are decoded, NUL runs skipped; a missing file is waited for.
 * Each item carries its position; with `positionFile`, a restart resumes after the last
 * acknowledged one, catching up from the `audit-*.log[.gz]` backups rotated since.
 *
 * Delivery is at-least-once: after a crash, items acknowledged since the last save are read
 * again — by design at most `saveEvery` (default 1000), fewer when `saveInterval` passed first
 * (a restart has been seen to repeat more; the README gives the measurements).
 *
 * @example
 * ```ts
 * for await (const item of followLog("/var/log/kube-audit/audit.log", { positionFile: "audit.pos" })) {
 *   if ("event" in item) console.log(item.event.auditID);
 * }
 * ```
 */
export function followLog(file: string, options?: FollowLogOptions): LogFollower {
  return new LogFollower(file, options);
}
