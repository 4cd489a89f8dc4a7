import fs from "node:fs";
import path from "node:path";
import { decodeEvent, type Event, encodeEvent, type Sink } from "@kaudit/api";
import { formatLegacyLine } from "@kaudit/legacy";
import { ReportingBase, type ReportingOptions, SinkError } from "./report";
import { backupName, mill } from "./rotate";

/** Options of {@link createLogSink}; names and defaults follow kube-apiserver's `--audit-log-*` flags. */
export interface LogSinkOptions extends ReportingOptions {
  /** The file; `-` writes to standard output (no file, no rotation). */
  path: string;
  /** `json` (default): kube-apiserver's JSON lines; `legacy`: its `AUDIT: id=…` lines. */
  format?: string;
  /** Megabytes before the file is rotated; 0 never rotates (a plain append file). Default 100. */
  maxSize?: number;
  /** Days to keep rotated files, by the time in their names; 0 = no limit. Default 366. */
  maxAge?: number;
  /** Rotated files to keep; 0 = all. Default 100. */
  maxBackups?: number;
  /** Gzip rotated files. Default false. */
  compress?: boolean;
  /** Beyond the reference: bytes all rotated files together may take; 0 = no cap (default). */
  maxTotalSize?: number;
  /**
   * Beyond the reference: `"every event"` makes `processEvents` return only after the lines are
   * on disk (fdatasync); a number fdatasyncs every that many milliseconds. Default: never (the
   * page cache, as kube-apiserver).
   */
  fsync?: "every event" | number;
  /**
   * Beyond the reference: queue lines and write them together at the end of the event-loop turn
   * (or once 64 KB are queued), so a busy server makes one write for many events instead of one
   * per event. `processEvents` then answers true for accepted lines and a later write failure is
   * reported (`error`, counted) rather than returned. Default true; false writes in the call, as
   * kube-apiserver does. Always off with `fsync: "every event"`; createAuditBackend turns it off
   * for `blocking-strict`, whose answer must say whether the line was written.
   */
  coalesce?: boolean;
  /** The clock (epoch ms) for backup names and maxAge; tests pin it. */
  now?: () => number;
}

/** What a log sink has done so far. */
export interface LogSinkStats {
  /** Events written. */
  events: number;
  /** Bytes written. */
  bytes: number;
  /** Events that could not be written (each also reported as an `error`). */
  errors: number;
  /** Rotations done. */
  rotations: number;
}

const FORMATS = ["legacy", "json"];
const MB = 1024 * 1024;
const COALESCE_BYTES = 64 * 1024;

/** The queued text back as lines, each with its newline. */
function splitQueued(queued: string): string[] {
  const lines = queued.split("\n");
  lines.pop(); // the text ends with a newline
  return lines.map((l) => `${l}\n`);
}

/**
 * kube-apiserver's log backend (plugin/pkg/audit/log) with lumberjack's rotation. Lines are
 * written synchronously, all lines of a call in one write, so `processEvents` answers truthfully
 * (false when a line could not be written, which blocking-strict turns into a 500) and a line is
 * never split, across a rotation or a crash.
 */
export class LogSink extends ReportingBase implements Sink {
  readonly stats: LogSinkStats = { events: 0, bytes: 0, errors: 0, rotations: 0 };
  private readonly file: string | undefined;
  private readonly format: string;
  private readonly maxBytes: number;
  private readonly options: Required<
    Pick<LogSinkOptions, "maxAge" | "maxBackups" | "compress" | "maxTotalSize">
  >;
  private readonly now: () => number;
  private readonly fsyncEvery: boolean;
  private fd: number | undefined;
  private size = 0;
  private written = false;
  private closed = false;
  private milling: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private readonly coalesce: boolean;
  // Queued lines as one string (a line never holds a raw newline: both formats escape it), so
  // the write flattens one rope instead of joining an array of them.
  private queue = "";
  private queuedLines = 0;
  private scheduled = false;

  constructor(o: LogSinkOptions) {
    super(o);
    this.file = o.path === "-" ? undefined : path.resolve(o.path);
    this.format = o.format ?? "json";
    const maxSize = o.maxSize ?? 100;
    this.maxBytes = maxSize * MB;
    this.options = {
      maxAge: o.maxAge ?? 366,
      maxBackups: o.maxBackups ?? 100,
      compress: o.compress ?? false,
      maxTotalSize: o.maxTotalSize ?? 0,
    };
    for (const [flag, v] of [
      ["maxage", this.options.maxAge],
      ["maxbackup", this.options.maxBackups],
      ["maxsize", maxSize],
    ] as const) {
      if (!Number.isFinite(v) || v < 0)
        throw new SinkError("log", `--audit-log-${flag} ${v} can't be a negative number`);
    }
    this.now = o.now ?? Date.now;
    this.fsyncEvery = o.fsync === "every event";
    this.coalesce = (o.coalesce ?? true) && !this.fsyncEvery;
    if (this.file !== undefined) {
      // ensureLogFile: the directory 0700 and the file 0600 exist from start-up.
      try {
        fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
        this.open();
      } catch (e) {
        throw new SinkError("log", `ensureLogFile: ${(e as Error).message}`, { cause: e });
      }
      if (typeof o.fsync === "number" && o.fsync > 0) {
        this.timer = setInterval(() => this.sync(), o.fsync);
        this.timer.unref();
      }
    }
  }

  private open(): void {
    this.fd = fs.openSync(
      this.file!,
      fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT,
      0o600,
    );
    this.size = fs.fstatSync(this.fd).size;
  }

  private sync(): void {
    if (this.fd === undefined) return;
    try {
      fs.fdatasyncSync(this.fd);
    } catch {
      // a failing fsync shows up as a failing write next
    }
  }

  /** Encodes one event; undefined (reported) when it cannot be. */
  private line(e: Event): string | undefined {
    try {
      return `${this.format === "legacy" ? formatLegacyLine(e) : encodeEvent(e)}\n`;
    } catch (err) {
      this.fail(new SinkError("log", `encoding event: ${(err as Error).message}`, { cause: err }), [
        e,
      ]);
      return undefined;
    }
  }

  private fail(error: Error, events: Event[]): void {
    this.stats.errors += events.length;
    this.report(
      "error",
      "log",
      error,
      events.map((e) => structuredClone(e)),
    );
  }

  /** Writes `text` (whole lines) to the file; throws on failure. */
  private writeOut(text: string): number {
    if (this.fd === undefined) this.open();
    const bytes = Buffer.byteLength(text);
    let n = fs.writeSync(this.fd!, text);
    if (n < bytes) {
      // A short write (rare: a signal, a nearly full disk): finish the lines from a buffer.
      const buf = Buffer.from(text);
      while (n < bytes) n += fs.writeSync(this.fd!, buf, n, bytes - n);
    }
    this.size += bytes;
    this.written = true;
    return bytes;
  }

  private rotate(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    const mode = fs.statSync(this.file!).mode & 0o777;
    fs.renameSync(this.file!, backupName(this.file!, this.now()));
    this.fd = fs.openSync(
      this.file!,
      fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_TRUNC,
      mode || 0o600,
    );
    this.size = 0;
    this.stats.rotations++;
    const r = { ...this.options, maxAgeDays: this.options.maxAge, now: this.now };
    this.milling = this.milling.then(() =>
      mill(this.file!, r).then(
        () => undefined,
        (e: Error) =>
          this.report(
            "error",
            "log",
            new SinkError("log", `rotating: ${e.message}`, { cause: e }),
            [],
          ),
      ),
    );
  }

  processEvents(events: readonly Event[]): boolean {
    if (this.closed) {
      this.fail(new SinkError("log", "audit backend shut down"), [...events]);
      return false;
    }
    if (!FORMATS.includes(this.format)) {
      this.fail(
        new SinkError(
          "log",
          `log format "${this.format}" is not in list of known formats (${FORMATS.join(",")})`,
        ),
        [...events],
      );
      return false;
    }
    if (this.file === undefined) {
      let text = "";
      for (const e of events) text += this.line(e) ?? "";
      process.stdout.write(text);
      this.stats.events += events.length;
      this.stats.bytes += Buffer.byteLength(text);
      return true;
    }
    let ok = true;
    for (const e of events) {
      const line = this.line(e);
      if (line === undefined) ok = false;
      else {
        this.queue += line;
        this.queuedLines++;
      }
    }
    if (!this.coalesce) return this.flush() && ok;
    if (this.queue.length >= COALESCE_BYTES) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.flush();
      });
    }
    return ok;
  }

  /** The events behind queued lines, for a failure report (the lines are all that is kept). */
  private eventsOf(lines: readonly string[]): Event[] {
    return lines.map((l) => {
      if (this.format === "json") {
        try {
          return decodeEvent(l);
        } catch {
          // fall through
        }
      }
      const id = /id="((?:[^"\\]|\\.)*)"/.exec(l)?.[1] ?? "";
      return {
        level: "Metadata",
        auditID: id,
        stage: "ResponseComplete",
        requestURI: "",
        verb: "",
        user: {},
      } as Event;
    });
  }

  /**
   * Writes the queued lines: whole lines only, one write per run of lines that fits the current
   * file, rotating in between (lumberjack's rule: the first write rotates when size + len >= max,
   * later ones when > max). Returns false if any line could not be written.
   */
  private flush(): boolean {
    const queued = this.queue;
    if (queued === "") return true;
    const count = this.queuedLines;
    this.queue = "";
    this.queuedLines = 0;
    // A UTF-16 unit is at most 3 UTF-8 bytes: when even that bound stays under the limit, no
    // line can cross it and the whole queue goes out in one write without measuring each line.
    if (this.maxBytes === 0 || this.size + 3 * queued.length < this.maxBytes) {
      try {
        const n = this.writeOut(queued);
        this.stats.events += count;
        this.stats.bytes += n;
      } catch (e) {
        this.fail(
          new SinkError("log", (e as Error).message, { cause: e }),
          this.eventsOf(splitQueued(queued)),
        );
        return false;
      }
      return this.syncIfAsked(queued);
    }
    const lines = splitQueued(queued);
    let ok = true;
    let chunk = "";
    let chunkBytes = 0;
    let pending: string[] = [];
    const write = () => {
      if (chunk === "") return;
      try {
        this.writeOut(chunk);
        this.stats.events += pending.length;
        this.stats.bytes += chunkBytes;
      } catch (e) {
        ok = false;
        this.fail(new SinkError("log", (e as Error).message, { cause: e }), this.eventsOf(pending));
      }
      chunk = "";
      chunkBytes = 0;
      pending = [];
    };
    for (const line of lines) {
      const n = Buffer.byteLength(line);
      if (this.maxBytes > 0) {
        if (n > this.maxBytes) {
          ok = false;
          this.fail(
            new SinkError("log", `write length ${n} exceeds maximum file size ${this.maxBytes}`),
            this.eventsOf([line]),
          );
          continue;
        }
        const total = this.size + chunkBytes + n;
        if (this.written ? total > this.maxBytes : total >= this.maxBytes) {
          write();
          try {
            this.rotate();
          } catch (err) {
            ok = false;
            this.fail(
              new SinkError("log", `rotating: ${(err as Error).message}`, { cause: err }),
              this.eventsOf([line]),
            );
            continue;
          }
        }
      }
      chunk += line;
      chunkBytes += n;
      pending.push(line);
    }
    write();
    return this.syncIfAsked(queued) && ok;
  }

  /** With `fsync: "every event"`, the lines are acknowledged only once they are on disk. */
  private syncIfAsked(queued: string): boolean {
    if (!this.fsyncEvery || this.fd === undefined) return true;
    try {
      fs.fdatasyncSync(this.fd);
      return true;
    } catch (e) {
      this.fail(
        new SinkError("log", `fsync: ${(e as Error).message}`, { cause: e }),
        this.eventsOf(splitQueued(queued)),
      );
      return false;
    }
  }

  /** Closes and reopens the file, for external rotation (logrotate's `postrotate`). */
  reopen(): void {
    if (this.file === undefined || this.closed) return;
    this.flush();
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    this.open();
  }

  /** Resolves when background retention work (deleting, compressing backups) is done. */
  async settled(): Promise<void> {
    await this.milling;
  }

  async shutdown(): Promise<void> {
    if (this.closed) return;
    if (this.file !== undefined) this.flush();
    this.closed = true;
    const syncing = this.fsyncEvery || this.timer !== undefined;
    if (this.timer) clearInterval(this.timer);
    await this.milling;
    if (this.fd !== undefined) {
      // Like kube's log backend, closing leaves the lines to the page cache unless fsync was asked.
      if (syncing) this.sync();
      fs.closeSync(this.fd);
      this.fd = undefined;
    }
  }

  override toString(): string {
    return "log";
  }
}

/**
 * The log backend: one line per event and stage, JSON (kube-apiserver's bytes) or legacy,
 * rotated like kube-apiserver's lumberjack.
 *
 * @example
 * const sink = createLogSink({ path: "/var/log/kube-audit/audit.log", maxSize: 100, maxBackups: 10, compress: true });
 * sink.on("error", ({ error, events }) => console.error(error.message, events.length));
 */
export function createLogSink(options: LogSinkOptions): LogSink {
  return new LogSink(options);
}
