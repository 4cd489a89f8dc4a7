import { EventEmitter } from "node:events";
import { createWriteStream } from "node:fs";
import type { WatchAlert } from "./alert";
import type { AlertOutput, DropReason, OutputStats } from "./output";

/** Options of {@link createJsonLinesOutput}. */
export interface JsonLinesOutputOptions {
  /** A file to append to (created 0600), or `-` for `stream` (default: standard output). */
  path?: string | undefined;
  /** The stream for `-` (default `process.stdout`). */
  stream?: NodeJS.WritableStream | undefined;
  /** Bytes waiting to be written at most; more alerts are dropped as `queue-full` (default 16 MiB). */
  maxBufferBytes?: number | undefined;
}

/**
 * Alerts as JSON lines (Falco's `json_output` shape, one alert per line) appended to a file or
 * written to standard output. A reader that stops reading fills a bounded buffer, then alerts
 * are dropped and counted rather than held in memory; a write error (EPIPE, disk full) drops
 * that output's later alerts as `write-error` and never reaches the inputs.
 *
 * @example
 * const out = createJsonLinesOutput({ path: "/var/log/kaudit/alerts.jsonl" });
 * out.send(alert);
 * await out.close();
 */
export function createJsonLinesOutput(options: JsonLinesOutputOptions = {}): AlertOutput {
  const path = options.path ?? "-";
  const toFile = path !== "-";
  const stream: NodeJS.WritableStream & { writableLength?: number } = toFile
    ? createWriteStream(path, { flags: "a", mode: 0o600 })
    : (options.stream ?? process.stdout);
  const max = options.maxBufferBytes ?? 16 * 1024 * 1024;
  const counts: OutputStats = { sent: 0, dropped: 0, queued: 0, failures: 0 };
  let failed: Error | undefined;
  let closing = false;
  const out = new EventEmitter() as AlertOutput & EventEmitter;
  const drop = (reason: DropReason, count: number, error?: Error) => {
    counts.dropped += count;
    out.emit("drop", { output: out.name, reason, count, error });
  };
  const onError = (e: Error) => {
    if (failed) return;
    failed = e;
    counts.failures++;
    out.emit("failure", { output: out.name, error: e, retrying: false });
  };
  stream.on("error", onError);
  Object.defineProperty(out, "name", { value: `json-lines ${toFile ? path : "stdout"}` });
  out.send = (alert: WatchAlert) => {
    if (closing) return drop("shutdown", 1);
    if (failed) return drop("write-error", 1, failed);
    if ((stream.writableLength ?? 0) > max) return drop("queue-full", 1);
    stream.write(`${JSON.stringify(alert)}\n`, (e) => {
      if (e) {
        onError(e);
        drop("write-error", 1, e);
      } else {
        counts.sent++;
        out.emit("sent", 1);
      }
    });
  };
  out.stats = () => ({ ...counts, queued: 0 });
  out.close = async (timeoutMs = 10_000) => {
    if (closing) return;
    closing = true;
    if (failed) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      t.unref();
      const done = () => {
        clearTimeout(t);
        resolve();
      };
      // A file is ended (flushed and closed); standard output is only drained, it is not ours.
      if (toFile) stream.end(done);
      else if ((stream.writableLength ?? 0) === 0) done();
      else stream.once("drain", done);
    });
  };
  return out;
}
