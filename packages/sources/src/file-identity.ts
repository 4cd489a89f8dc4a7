import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { createGunzip, constants as zlibConstants } from "node:zlib";

/**
 * How a follower recognises a file across renames, compression and restarts: its device and
 * inode, plus a hash of its first bytes (inode numbers are reused; a gzip'd backup or a
 * copytruncate copy has a new inode but the same first bytes). Filebeat keys on the first 1024
 * bytes too.
 */
export const FINGERPRINT_BYTES = 1024;

/** The identity of one file as a follower saw it. */
export interface FileRef {
  /** The path it was opened at. */
  path: string;
  dev: number;
  ino: number;
  /** Hex SHA-256 (first 32 digits) of the first `fingerprintBytes` bytes of the (uncompressed) content. */
  fingerprint: string;
  /** How many bytes the fingerprint covers: up to {@link FINGERPRINT_BYTES}, fewer while the file is shorter. */
  fingerprintBytes: number;
  /** Whether the file is gzip'd (offsets then count uncompressed bytes). */
  gz: boolean;
}

/** The fingerprint of some first bytes. */
export function hashBytes(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex").slice(0, 32);
}

/** The first `n` bytes of an open plain file (fewer if it is shorter). */
export async function headOfFd(fh: fs.promises.FileHandle, n: number): Promise<Buffer> {
  const buf = Buffer.alloc(n);
  let got = 0;
  while (got < n) {
    const { bytesRead } = await fh.read(buf, got, n - got, got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buf.subarray(0, got);
}

/** The first `n` uncompressed bytes of a gzip file (fewer if it is shorter, or broken). */
export function headOfGzip(file: string | fs.promises.FileHandle, n: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const range = { start: 0, end: 64 * 1024 - 1 };
    const input =
      typeof file === "string"
        ? fs.createReadStream(file, range)
        : file.createReadStream({ ...range, autoClose: false });
    // Only the first 64 KB are read: Z_SYNC_FLUSH at their end makes gunzip hand out all it could
    // decompress and end, rather than fail on the cut-off stream. (Resolving on the input's end
    // instead raced the zlib thread pool: on a busy machine the head came back empty, a backup
    // was not recognised, and a restart read it again from the start.)
    const gunzip = createGunzip({ finishFlush: zlibConstants.Z_SYNC_FLUSH });
    let finished = false;
    const done = () => {
      if (finished) return;
      finished = true;
      input.unpipe(gunzip);
      if (typeof file === "string") input.destroy();
      else input.pause();
      gunzip.destroy();
      resolve(Buffer.concat(chunks).subarray(0, n));
    };
    gunzip.on("data", (c: Buffer) => {
      chunks.push(c);
      got += c.length;
      if (got >= n) done();
    });
    gunzip.on("end", done);
    gunzip.on("error", done);
    input.on("error", done);
    input.pipe(gunzip);
  });
}

/** The first `n` bytes of a file, gzip'd or not; empty when it cannot be read. */
export async function headOf(file: string, n: number): Promise<Buffer> {
  if (file.endsWith(".gz")) return headOfGzip(file, n);
  let fh: fs.promises.FileHandle | undefined;
  try {
    fh = await fs.promises.open(file, "r");
    return await headOfFd(fh, n);
  } catch {
    return Buffer.alloc(0);
  } finally {
    await fh?.close().catch(() => {});
  }
}

/** Whether `file` starts with the bytes `ref` fingerprinted. */
export async function sameContent(file: string, ref: FileRef): Promise<boolean> {
  const head = await headOf(file, ref.fingerprintBytes);
  return head.length === ref.fingerprintBytes && hashBytes(head) === ref.fingerprint;
}

/** One lumberjack backup of the followed file. */
export interface Backup {
  /** Full path. */
  path: string;
  /** The name without `.gz`: a plain backup and its compressed twin share it. */
  stem: string;
  /** The UTC time in the name, epoch ms (when it was rotated). */
  time: number;
  gz: boolean;
}

const STAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2})-(\d{2})-(\d{2})\.(\d{3})$/;

/**
 * lumberjack's backups of `file` (`audit.log` → `audit-2026-11-22T10-04-05.123.log[.gz]`), oldest
 * first; a plain backup is preferred over its `.gz` twin (compression may still be writing it).
 */
export function listBackups(file: string): Backup[] {
  const dir = path.dirname(file);
  const base = path.basename(file);
  const ext = path.extname(base);
  const prefix = `${base.slice(0, base.length - ext.length)}-`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const byStem = new Map<string, Backup>();
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const gz = name.endsWith(`${ext}.gz`);
    if (!gz && !name.endsWith(ext)) continue;
    const stem = gz ? name.slice(0, -3) : name;
    const m = STAMP.exec(stem.slice(prefix.length, stem.length - ext.length));
    if (!m) continue;
    const time = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, +m[7]!);
    const prev = byStem.get(stem);
    if (prev && !prev.gz) continue;
    byStem.set(stem, { path: path.join(dir, name), stem, time, gz });
  }
  return [...byStem.values()].sort((a, b) => a.time - b.time);
}
