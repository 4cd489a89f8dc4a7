import { closeSync, openSync, writeSync } from "node:fs";
import { rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { fileError } from "./errors";

/** The display name of an input: `-` reads stdin and is shown as `<stdin>`. */
export function displayName(name: string): string {
  return name === "-" ? "<stdin>" : name;
}

/** Where a command writes its data: stdout, or a file written atomically. */
export interface Output {
  /**
   * Writes text (or UTF-8 bytes, which the caller may reuse once this returns or resolves),
   * waiting when the destination pushes back.
   */
  write(text: string | Uint8Array): Promise<void> | undefined;
  /** Finishes: flushes and, for a file, renames the temporary file into place. */
  commit(): Promise<void>;
  /** Gives up: for a file, removes the temporary file so nothing half-written is left. */
  abort(): Promise<void>;
}

function writer(
  stream: NodeJS.WritableStream,
): (text: string | Uint8Array) => Promise<void> | undefined {
  let failed: unknown;
  stream.on("error", (e) => {
    failed = e;
  });
  return (text) => {
    if (failed) throw failed;
    // A stream may hold on to what it was given: bytes are copied (the caller reuses them).
    if (stream.write(typeof text === "string" ? text : Buffer.from(text))) return undefined;
    return new Promise<void>((resolve, reject) => {
      const onDrain = () => {
        stream.off("error", onError);
        resolve();
      };
      const onError = (e: unknown) => {
        stream.off("drain", onDrain);
        reject(e);
      };
      stream.once("drain", onDrain);
      stream.once("error", onError);
    });
  };
}

/**
 * Opens an output: `undefined` or `-` is stdout; a path is written to a temporary file in the
 * same directory and renamed over the path on `commit`, so readers never see half a file and
 * a failed run leaves the old file as it was. The file is opened on the first write (or at
 * commit) and written synchronously: callers hand over ~64 KB at a time, and a write stream's
 * bookkeeping and its waits for `drain` (one per chunk past its 16 KB mark) cost `kaudit
 * convert` more than the writes themselves.
 */
export function openOutput(
  path: string | undefined,
  stdout: NodeJS.WritableStream = process.stdout,
): Output {
  if (path === undefined || path === "-") {
    const write = writer(stdout);
    return {
      write,
      commit: async () => {},
      abort: async () => {},
    };
  }
  const tmp = join(
    dirname(path),
    `.${basename(path)}.kaudit-${process.pid}-${Date.now().toString(36)}.tmp`,
  );
  let fd: number | undefined;
  let created = false;
  const open = (): number => {
    if (fd === undefined) {
      fd = openSync(tmp, "wx", 0o644);
      created = true;
    }
    return fd;
  };
  const close = (): void => {
    if (fd === undefined) return;
    const f = fd;
    fd = undefined;
    closeSync(f);
  };
  return {
    write: (text) => {
      try {
        const f = open();
        const bytes = typeof text === "string" ? Buffer.from(text, "utf8") : text;
        // writeSync may write less than asked (a full disk, a signal): go on from where it stopped.
        for (let off = 0; off < bytes.length; ) off += writeSync(f, bytes, off);
      } catch (e) {
        throw fileError(path, e, "cannot write");
      }
      return undefined;
    },
    commit: async () => {
      try {
        open();
        close();
        await rename(tmp, path);
      } catch (e) {
        try {
          close();
        } catch {
          // already failing: the first error is the one reported
        }
        if (created) await unlink(tmp).catch(() => {});
        throw fileError(path, e, "cannot write");
      }
    },
    abort: async () => {
      try {
        close();
      } catch {
        // giving up anyway: the temporary file is removed below
      }
      if (created) await unlink(tmp).catch(() => {});
    },
  };
}
