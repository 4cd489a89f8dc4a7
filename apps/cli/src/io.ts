import { createWriteStream, type WriteStream } from "node:fs";
import { rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { fileError } from "./errors";

/** The display name of an input: `-` reads stdin and is shown as `<stdin>`. */
export function displayName(name: string): string {
  return name === "-" ? "<stdin>" : name;
}

/** Where a command writes its data: stdout, or a file written atomically. */
export interface Output {
  /** Writes text, waiting when the destination pushes back. */
  write(text: string): Promise<void> | undefined;
  /** Finishes: flushes and, for a file, renames the temporary file into place. */
  commit(): Promise<void>;
  /** Gives up: for a file, removes the temporary file so nothing half-written is left. */
  abort(): Promise<void>;
}

function writer(stream: NodeJS.WritableStream): (text: string) => Promise<void> | undefined {
  let failed: unknown;
  stream.on("error", (e) => {
    failed = e;
  });
  return (text) => {
    if (failed) throw failed;
    if (stream.write(text)) return undefined;
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
 * a failed run leaves the old file as it was.
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
  const stream: WriteStream = createWriteStream(tmp, { flags: "wx", mode: 0o644 });
  let openError: unknown;
  stream.on("error", (e) => {
    openError = e;
  });
  const write = writer(stream);
  const closed = () =>
    new Promise<void>((resolve, reject) => {
      if (stream.closed) {
        resolve();
        return;
      }
      stream.end((e?: unknown) => (e ? reject(e) : resolve()));
    });
  return {
    write: (text) => {
      if (openError) throw fileError(path, openError, "cannot write");
      try {
        const r = write(text);
        return r?.catch((e) => {
          throw fileError(path, e, "cannot write");
        });
      } catch (e) {
        throw fileError(path, e, "cannot write");
      }
    },
    commit: async () => {
      try {
        await closed();
        if (openError) throw openError;
        await rename(tmp, path);
      } catch (e) {
        await unlink(tmp).catch(() => {});
        throw fileError(path, e, "cannot write");
      }
    },
    abort: async () => {
      // Wait for the close: a stream destroyed while still opening creates the file afterwards.
      await new Promise<void>((resolve) => {
        if (stream.closed) resolve();
        else {
          stream.once("close", () => resolve());
          stream.destroy();
        }
      });
      await unlink(tmp).catch(() => {});
    },
  };
}
