import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";

const SEGMENT = /^(\d{16})\.spool$/;
const SEGMENT_BYTES = 4 * 1024 * 1024;

/**
 * A directory of append-only segment files, one encoded event per line, consumed oldest first.
 * A segment is deleted only after its events were delivered, so a crash re-delivers rather than
 * loses (at-least-once).
 */
export class Spool {
  private segments: number[] = [];
  private fd: number | undefined;
  private activeSeq: number | undefined;
  private activeBytes = 0;
  private totalBytes = 0;
  private readonly reading = new Set<number>();

  constructor(
    readonly dir: string,
    private readonly maxBytes: number,
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const name of readdirSync(dir)) {
      const m = SEGMENT.exec(name);
      if (!m) continue;
      this.segments.push(Number(m[1]));
      this.totalBytes += statSync(join(dir, name)).size;
    }
    this.segments.sort((a, b) => a - b);
  }

  private path(seq: number): string {
    return join(this.dir, `${String(seq).padStart(16, "0")}.spool`);
  }

  /** Bytes on disk. */
  get size(): number {
    return this.totalBytes;
  }

  /** True when undelivered events are on disk. */
  get hasData(): boolean {
    return this.segments.some((s) => !this.reading.has(s));
  }

  /** Appends encoded events; false (nothing written) when the disk budget would be exceeded. */
  append(lines: readonly string[]): boolean {
    if (lines.length === 0) return true;
    const data = Buffer.from(`${lines.join("\n")}\n`);
    if (this.totalBytes + data.length > this.maxBytes) return false;
    if (this.fd === undefined || this.activeBytes >= SEGMENT_BYTES) this.rotate();
    writeSync(this.fd!, data);
    this.activeBytes += data.length;
    this.totalBytes += data.length;
    return true;
  }

  private rotate(): void {
    this.closeActive();
    const seq = (this.segments.at(-1) ?? 0) + 1;
    this.fd = openSync(this.path(seq), "a", 0o600);
    this.activeSeq = seq;
    this.activeBytes = 0;
    this.segments.push(seq);
  }

  private closeActive(): void {
    if (this.fd === undefined) return;
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = undefined;
    this.activeSeq = undefined;
  }

  /** The segments on disk now, oldest first. */
  snapshot(): number[] {
    return [...this.segments];
  }

  /** Takes the oldest segment not being read (or `only` that one), closing the active one if needed. */
  take(only?: number): { seq: number; lines: string[] } | undefined {
    const seq = this.segments.find(
      (s) => !this.reading.has(s) && (only === undefined || s === only),
    );
    if (seq === undefined) return undefined;
    if (seq === this.activeSeq) this.closeActive();
    this.reading.add(seq);
    const text = readFileSync(this.path(seq), "utf8");
    // A crash can leave a partial last line; it was never acknowledged to anyone.
    const lines = text.split("\n").filter((l) => l.length > 0 && l.endsWith("}"));
    return { seq, lines };
  }

  /** The segment's events were delivered (or re-spooled): delete it. */
  ack(seq: number): void {
    const p = this.path(seq);
    try {
      this.totalBytes -= statSync(p).size;
      unlinkSync(p);
    } catch {
      // already gone
    }
    this.reading.delete(seq);
    this.segments = this.segments.filter((s) => s !== seq);
  }

  /** Flushes and closes the active segment. */
  close(): void {
    this.closeActive();
  }
}
