import fs from "node:fs";
import path from "node:path";
import { SourceReadError } from "./errors";
import type { FileRef } from "./file-identity";

/** What a follower's position file holds (JSON). */
export interface SavedPosition {
  version: 1;
  /** The file the last acknowledged line came from. */
  file: FileRef;
  /** Byte offset just past that line (uncompressed bytes for a `.gz` file). */
  offset: number;
  /**
   * Backups rotated at or after this time (epoch ms, the time in their names) come after the
   * file: its own rotation time when it was a backup, else when the position was saved.
   */
  after: number;
}

function isRef(v: unknown): v is FileRef {
  const r = v as FileRef;
  return (
    typeof r === "object" &&
    r !== null &&
    typeof r.path === "string" &&
    typeof r.dev === "number" &&
    typeof r.ino === "number" &&
    typeof r.fingerprint === "string" &&
    typeof r.fingerprintBytes === "number" &&
    typeof r.gz === "boolean"
  );
}

/**
 * Reads a position file; undefined when there is none. A file that is not a position (another
 * program's, or damaged) is an error rather than a silent restart from scratch.
 */
export function readPositionFile(file: string): SavedPosition | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new SourceReadError("open", file, `reading position file: ${(e as Error).message}`, {
      cause: e,
    });
  }
  let v: SavedPosition;
  try {
    v = JSON.parse(text) as SavedPosition;
  } catch {
    throw new SourceReadError("open", file, `${file}: not a followLog position file (not JSON)`);
  }
  if (
    v?.version !== 1 ||
    !isRef(v.file) ||
    typeof v.offset !== "number" ||
    typeof v.after !== "number"
  ) {
    throw new SourceReadError("open", file, `${file}: not a followLog position file (version 1)`);
  }
  return v;
}

/**
 * Writes a position file atomically: a temporary file in the same directory, fsync'd, renamed
 * over the old one — a crash leaves either the old or the new position, never half of one.
 */
export function writePositionFile(file: string, pos: SavedPosition): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = fs.openSync(tmp, "w", 0o600);
  try {
    fs.writeSync(fd, `${JSON.stringify(pos)}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}
