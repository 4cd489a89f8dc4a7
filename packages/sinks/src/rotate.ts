import fs from "node:fs";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";

/**
 * lumberjack v2.2.1's naming and retention (natefinch/lumberjack `lumberjack.go`), which
 * kube-apiserver's log backend uses: backups are `<name>-<UTC 2006-01-02T15-04-05.000><ext>`
 * next to the file, optionally gzip'd.
 */

const COMPRESS_SUFFIX = ".gz";

/** `audit.log` → `{ dir, prefix: "audit-", ext: ".log" }` (lumberjack's prefixAndExt). */
export function backupParts(filename: string): { dir: string; prefix: string; ext: string } {
  const base = path.basename(filename);
  const ext = path.extname(base);
  return {
    dir: path.dirname(filename),
    prefix: `${base.slice(0, base.length - ext.length)}-`,
    ext,
  };
}

/** The UTC time as lumberjack writes it in a backup name: `2006-01-02T15-04-05.000`. */
export function backupTimestamp(ms: number): string {
  return new Date(ms).toISOString().slice(0, 23).replace(/:/g, "-");
}

/** The path a rotation at `ms` renames `filename` to. */
export function backupName(filename: string, ms: number): string {
  const { dir, prefix, ext } = backupParts(filename);
  return path.join(dir, `${prefix}${backupTimestamp(ms)}${ext}`);
}

const STAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2})-(\d{2})-(\d{2})\.(\d{3})$/;

function parseStamp(text: string): number | undefined {
  const m = STAMP.exec(text);
  if (!m) return undefined;
  const t = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, +m[7]!);
  return Number.isNaN(t) ? undefined : t;
}

/** One backup file found in the directory. */
export interface Backup {
  name: string;
  /** The time in its name, epoch ms. */
  time: number;
  size: number;
}

/** Backups of `filename`, newest first by the time in their names (lumberjack's oldLogFiles). */
export function listBackups(filename: string): Backup[] {
  const { dir, prefix, ext } = backupParts(filename);
  const out: Backup[] = [];
  for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!ent.isFile() || !ent.name.startsWith(prefix)) continue;
    let stem: string | undefined;
    if (ent.name.endsWith(ext)) stem = ent.name.slice(prefix.length, ent.name.length - ext.length);
    else if (ent.name.endsWith(ext + COMPRESS_SUFFIX)) {
      stem = ent.name.slice(prefix.length, ent.name.length - ext.length - COMPRESS_SUFFIX.length);
    }
    const time = stem === undefined ? undefined : parseStamp(stem);
    if (time === undefined) continue;
    let size = 0;
    try {
      size = fs.statSync(path.join(dir, ent.name)).size;
    } catch {
      continue;
    }
    out.push({ name: ent.name, time, size });
  }
  return out.sort((a, b) => b.time - a.time);
}

/** Retention settings (lumberjack's MaxBackups, MaxAge, Compress, plus our maxTotalSize). */
export interface Retention {
  maxBackups: number;
  maxAgeDays: number;
  compress: boolean;
  /** Beyond lumberjack: bytes all backups together may take; 0 = no cap. */
  maxTotalSize: number;
  now: () => number;
}

/**
 * lumberjack's millRunOnce: keep the newest `maxBackups` (a file and its `.gz` twin count once),
 * drop those older than `maxAge` days, gzip the rest; then, beyond lumberjack, delete the oldest
 * until the backups fit `maxTotalSize`. Returns the names removed.
 */
export async function mill(filename: string, r: Retention): Promise<string[]> {
  if (r.maxBackups === 0 && r.maxAgeDays === 0 && !r.compress && r.maxTotalSize === 0) return [];
  const { dir } = backupParts(filename);
  let files = listBackups(filename);
  const remove: Backup[] = [];
  if (r.maxBackups > 0 && files.length >= r.maxBackups) {
    const preserved = new Set<string>();
    const remaining: Backup[] = [];
    for (const f of files) {
      const key = f.name.endsWith(COMPRESS_SUFFIX)
        ? f.name.slice(0, -COMPRESS_SUFFIX.length)
        : f.name;
      preserved.add(key);
      if (preserved.size > r.maxBackups) remove.push(f);
      else remaining.push(f);
    }
    files = remaining;
  }
  if (r.maxAgeDays > 0) {
    const cutoff = r.now() - r.maxAgeDays * 24 * 3600 * 1000;
    const remaining: Backup[] = [];
    for (const f of files) (f.time < cutoff ? remove : remaining).push(f);
    files = remaining;
  }
  for (const f of remove) fs.rmSync(path.join(dir, f.name), { force: true });
  if (r.compress) {
    for (const f of files) {
      if (f.name.endsWith(COMPRESS_SUFFIX)) continue;
      const src = path.join(dir, f.name);
      const dst = `${src}${COMPRESS_SUFFIX}`;
      await pipeline(
        fs.createReadStream(src),
        createGzip(),
        fs.createWriteStream(dst, { mode: 0o600 }),
      );
      fs.rmSync(src);
      f.name += COMPRESS_SUFFIX;
      f.size = fs.statSync(dst).size;
    }
  }
  if (r.maxTotalSize > 0) {
    let total = 0;
    for (const f of files) {
      total += f.size;
      if (total > r.maxTotalSize) {
        fs.rmSync(path.join(dir, f.name), { force: true });
        remove.push(f);
      }
    }
  }
  return remove.map((f) => f.name);
}
