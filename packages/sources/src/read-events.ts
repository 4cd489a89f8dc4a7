import type { EventEmitter } from "node:events";
import { decodeEvent, jsonDepthExceeded, MAX_JSON_DEPTH, validateEvent } from "@kaudit/api";
import {
  isConvertedEventValid,
  type LegacyConversionResult,
  LegacyConverter,
  LINE_BATCHES,
  type LineReadError,
  splitLines,
} from "@kaudit/legacy";
import { SourceReadError } from "./errors";
import { type JsonDocItem, JsonDocScanner } from "./json-doc";
import { createLocator, jsonErrorColumn, jsonErrorMessage } from "./locate";
import type { Problem } from "./problem";
import { type Input, inputName, type ReadBytesOptions, readBytes } from "./read-bytes";
import {
  plainDecode,
  type ReadResult,
  type RecordContext,
  type RecordResult,
  readEksMessage,
  readElement,
  readRecord,
  type SkipReason,
  type SourceFormat,
} from "./records";
import { SourceEmitter, type SourceReport, type SourceStats } from "./source-stats";
import { type YamlDocItem, YamlDocSplitter } from "./yaml-doc";
import { parseYamlValue } from "./yaml-value";

/** Options of {@link readEvents}. */
export interface ReadEventsOptions extends ReadBytesOptions {
  /**
   * What the input holds; `auto` (default) tells every line and document apart by its shape.
   * Any other value makes records of other formats problems.
   */
  format?: "auto" | SourceFormat;
  /** Check every event against the audit.k8s.io/v1 schema; failures are problems. Default `true`. */
  validate?: boolean;
  /**
   * Remember the exact text of `requestObject`/`responseObject` (@kaudit/api's decodeEvent), so
   * that re-encoding gives kube-apiserver's bytes. Default `true`; `false` reads about twice as
   * fast for consumers that only look at the events (as followLog's `keepBodyText`).
   */
  keepBodyText?: boolean;
  /** Stop after the first problem (it is still yielded). */
  strict?: boolean;
  /** The longest line (bytes). Default 64 MiB. */
  maxLineBytes?: number;
  /** The largest single JSON record inside a multi-line document (characters). Default 64 MiB. */
  maxRecordBytes?: number;
  /** The largest YAML document that is not a list, and the largest YAML list item (characters). Default 4 MiB. */
  maxYamlBytes?: number;
  /** The deepest nesting of a YAML document. Default 1000. */
  maxYamlDepth?: number;
  /**
   * The line number of the input's first line (default 1), for reading a piece of a larger
   * input cut after a newline: problems and sources then carry the larger input's line numbers.
   * Whether the piece reads as it would inside the whole input: see {@link ReadCounts.openAtEnd}.
   */
  firstLine?: number;
}

/** The defaults of {@link ReadEventsOptions}' limits. */
export const READ_LIMITS = {
  maxLineBytes: 64 * 1024 * 1024,
  maxRecordBytes: 64 * 1024 * 1024,
  maxYamlBytes: 4 * 1024 * 1024,
  maxYamlDepth: 1000,
} as const;

/**
 * What a reader has counted so far (final once iteration ends): the package's {@link SourceStats}
 * — `read` events handed over, `skipped` records (on purpose: AKS records of other categories…,
 * by reason in `skippedBy`), `dropped` lines, records or events that could not be read (one per
 * problem yielded), `duplicated` (always 0: a file reader hands over what the file holds) — and
 * the `lines` read.
 */
export interface ReadCounts extends SourceStats {
  /** Lines read (after decompression). */
  lines: number;
  /** Skipped records by reason. */
  skippedBy: Partial<Record<SkipReason, number>>;
  /**
   * Set when the input is read to its end: whether it ended inside something the lines after it
   * could have continued — a multi-line JSON or YAML document, or legacy request lines waiting
   * for their response line (which the reader then finishes as at any end of input). When false,
   * the input read as one piece of a larger one (see {@link ReadEventsOptions.firstLine}) gave
   * exactly what the whole input's reader gives for those lines.
   */
  openAtEnd: boolean;
}

/**
 * An input being read: iterate it once. An EventEmitter like every source of this package:
 * `skip` and `drop` carry a {@link SourceReport} as they are counted, `problem` the problem
 * itself, `end` the final counts.
 */
export interface EventReader extends AsyncIterable<ReadResult>, EventEmitter {
  /** Live counts; final once iteration ends. */
  readonly counts: ReadCounts;
  /** The same object as {@link EventReader.counts}, under the name every source of the package uses. */
  readonly stats: SourceStats;
  /**
   * The same results in arrays, one per chunk of input (up to a few thousand): for consumers
   * that write in bulk, without an `await` per event. Use either this or the reader itself,
   * once. A strict reader's last array ends with its first problem.
   */
  batches(): AsyncIterable<ReadResult[]>;
  on(event: "skip" | "drop", listener: (r: SourceReport) => void): this;
  on(event: "problem", listener: (p: Problem) => void): this;
  on(event: "end", listener: (c: ReadCounts) => void): this;
  // biome-ignore lint/suspicious/noExplicitAny: EventEmitter's own overload
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}

/** RFC 3339 timestamp, then ` AUDIT: `: a legacy line (kube's `--audit-log-format=legacy`, all generations). */
const LEGACY_LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d) AUDIT: /;
/** An EKS export to S3: `<ISO-8601 UTC timestamp> <message>`, the message an event's JSON. */
const S3_EXPORT_LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d) (?=\{)/;
/** What can begin a YAML document (never a bare word: that is a broken line, reported alone). */
const YAML_START =
  /^(?:---|%|#|-(?: |$)|[^\s{}[\]#"'][^:]*:(?: |$)|"[^"]*":(?: |$)|'[^']*':(?: |$))/;

const CONTAINER_KEYS = new Set(["items", "events", "records"]);

function isBlank(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0xfeff) return false;
  }
  return true;
}

/** The longest record text that gets field positions in its problems. */
const MAX_LOCATOR_TEXT = 1024 * 1024;

/** Lets a locator built over one record's text answer for paths that carry the record's prefix. */
function elementLocator(
  text: string,
  line: number,
  column: number,
  base: string,
  yaml = false,
): (path: string) => { line: number; column: number } {
  let loc: ReturnType<typeof createLocator> | undefined;
  // The locator parses the text as YAML (~80 bytes of memory per byte): only for records of a
  // reasonable size; a larger one's problems point at its start.
  if (text.length > MAX_LOCATOR_TEXT) return () => ({ line, column });
  return (path) => {
    loc ??= createLocator(text, line - 1);
    const rel = path.startsWith(base) ? path.slice(base.length) : path;
    const p = loc.locate(rel);
    if (!yaml && p.line === line) p.column += column - 1;
    return p;
  };
}

class Reader extends SourceEmitter {
  readonly counts: ReadCounts = Object.assign(this.stats, {
    lines: 0,
    skippedBy: {},
    openAtEnd: false,
  });
  private used = false;
  constructor(
    private readonly input: Input,
    private readonly options: ReadEventsOptions,
    private readonly raw = false,
  ) {
    super();
    const f = options.format ?? "auto";
    if (!["auto", "kube", "legacy", "gke", "eks", "aks"].includes(f)) {
      throw new SourceReadError(
        "option",
        inputName(input, options),
        `format must be one of auto, kube, legacy, gke, eks, aks; got ${JSON.stringify(f)}`,
      );
    }
    const first = options.firstLine ?? 1;
    if (!Number.isInteger(first) || first < 1) {
      throw new SourceReadError(
        "option",
        inputName(input, options),
        `firstLine must be a positive integer; got ${JSON.stringify(first)}`,
      );
    }
  }

  private claim(): void {
    if (this.used)
      throw new SourceReadError(
        "option",
        inputName(this.input, this.options),
        "an event reader can be iterated only once",
      );
    this.used = true;
  }

  [Symbol.asyncIterator](): AsyncIterator<RecordResult> {
    this.claim();
    return this.items()[Symbol.asyncIterator]();
  }

  batches(): AsyncIterable<RecordResult[]> {
    this.claim();
    return this.handOutBatches();
  }

  /**
   * Counts one result as it is handed out (a problem is a drop, emitted as `problem`); true
   * when a strict reader must stop after it.
   */
  private take(r: RecordResult): boolean {
    if ("list" in r) return false;
    if ("problem" in r) {
      const p = r.problem;
      this.count("drop", {
        reason: "problem",
        count: 1,
        where: `${p.file}:${p.line ?? 0}:${p.column ?? 1}`,
        message: p.message,
      });
      if (this.listenerCount("problem") > 0) this.emit("problem", p);
      return this.options.strict ?? false;
    }
    this.counts.read++;
    return false;
  }

  private async *items(): AsyncGenerator<RecordResult, void, undefined> {
    let stop = false;
    for await (const batch of this.run()) {
      for (let k = 0; k < batch.length && !stop; k++) {
        const r = batch[k]!;
        stop = this.take(r);
        yield r;
      }
      if (stop) break;
    }
    this.emit("end", this.counts);
  }

  private async *handOutBatches(): AsyncGenerator<RecordResult[], void, undefined> {
    let stop = false;
    for await (const batch of this.run()) {
      let n = batch.length;
      for (let k = 0; k < n; k++) {
        if (this.take(batch[k]!)) {
          stop = true;
          n = k + 1;
        }
      }
      if (n > 0) yield n === batch.length ? batch : batch.slice(0, n);
      if (stop) break;
    }
    this.emit("end", this.counts);
  }

  /** The results, one array per chunk of input (counted as they are handed out, by the callers). */
  private async *run(): AsyncGenerator<RecordResult[], void, undefined> {
    const o = this.options;
    const file = inputName(this.input, o);
    const format = o.format ?? "auto";
    const strict = o.strict ?? false;
    const maxYaml = o.maxYamlBytes ?? READ_LIMITS.maxYamlBytes;
    const yamlLimits = {
      maxExpandedBytes: maxYaml,
      maxDepth: o.maxYamlDepth ?? READ_LIMITS.maxYamlDepth,
    };
    const out: RecordResult[] = [];
    const counts = this.counts;
    const ctx: RecordContext = {
      file,
      format,
      validate: o.validate ?? true,
      decode: (o.keepBodyText ?? true) ? decodeEvent : plainDecode,
      out,
      raw: this.raw,
      skip: (reason, detail, problem) => {
        counts.skippedBy[reason] = (counts.skippedBy[reason] ?? 0) + 1;
        this.count("skip", {
          reason,
          count: 1,
          where: `${file}:${problem.line ?? 0}`,
          message: `${detail}: ${problem.message}`,
        });
      },
    };
    const problemAt = (line: number, column: number, message: string): void => {
      out.push({ problem: { file, line, column, message, severity: "error" } });
    };

    // Legacy lines are converted by @kaudit/legacy, fed every line so its line numbers are ours.
    let legacy: LegacyConverter | undefined;
    const legacyOut: LegacyConversionResult[] = [];
    const drainLegacy = (line: number): void => {
      for (const r of legacyOut) {
        if ("event" in r) {
          // Checked like every other event: a line can hold what no v1 event may (stage="Bogus").
          // What the converter does not guarantee by construction is checked first; only an
          // event that fails that goes through validateEvent, which says what is wrong.
          const v =
            ctx.validate && !isConvertedEventValid(r.event) ? validateEvent(r.event) : undefined;
          if (v !== undefined && !v.ok) {
            for (const issue of v.issues) {
              out.push({
                problem: {
                  file,
                  line,
                  column: 1,
                  path: issue.path,
                  message: issue.message,
                  severity: "error",
                },
              });
            }
          } else out.push({ event: r.event, source: { file, line, format: "legacy" } });
        } else problemAt(r.error.line, r.error.column, r.error.message);
      }
      legacyOut.length = 0;
    };

    const jsonOut: JsonDocItem[] = [];
    let json: JsonDocScanner | undefined;
    /** The scanner of the latest JSON document (kept while its last items are read). */
    let docScanner: JsonDocScanner | undefined;
    let listVersion: string | undefined;
    const yamlOut: YamlDocItem[] = [];
    const yaml = new YamlDocSplitter(maxYaml, yamlOut);

    const readJsonDocItems = (): void => {
      for (const item of jsonOut) {
        if (item.type === "error") problemAt(item.line, item.column, item.message);
        else if (item.type === "element") {
          let value: unknown;
          try {
            value = ctx.decode(item.text);
          } catch (e) {
            const cause = (e as { cause?: unknown }).cause ?? e;
            if (!(cause instanceof SyntaxError) && item.text.trimStart().startsWith("{")) {
              // decodeEvent refuses non-objects: let the record reader say what it is.
              value = JSON.parse(item.text);
            } else {
              problemAt(item.line, item.column, `invalid JSON: ${jsonErrorMessage(cause)}`);
              continue;
            }
          }
          const base = `${item.container === null ? "" : item.container}[${item.index}].`;
          if (item.container === "items" && item.index === 0) listVersion = docScanner?.apiVersion;
          readElement(
            item.container,
            value,
            {
              line: item.line,
              column: item.column,
              prefix: base,
              locate: elementLocator(item.text, item.line, item.column, base),
              record: base.slice(0, -1),
            },
            ctx,
            listVersion,
          );
        } else if (item.type === "object") {
          let value: unknown;
          try {
            value = item.containers.length === 0 ? ctx.decode(item.text) : JSON.parse(item.text);
          } catch (e) {
            const cause = (e as { cause?: unknown }).cause ?? e;
            problemAt(item.line, item.column, `invalid JSON: ${jsonErrorMessage(cause)}`);
            continue;
          }
          if (item.containers.length === 0) {
            readRecord(
              value,
              {
                line: item.line,
                column: item.column,
                prefix: "",
                locate: elementLocator(item.text, item.line, item.column, ""),
                text: item.text,
                textLine: item.line,
              },
              ctx,
            );
          } else {
            const at = item.positions;
            checkEnvelope(value, item.containers, item.line, item.column, (path) => {
              const key = path.split(/[.[]/)[0] ?? "";
              return at[key] ?? { line: item.line, column: item.column };
            });
          }
        }
      }
      jsonOut.length = 0;
    };

    const checkEnvelope = (
      value: unknown,
      containers: (string | null)[],
      line: number,
      column: number,
      locate?: (path: string) => { line: number; column: number },
    ): void => {
      if (this.raw) {
        out.push({
          list: {
            value,
            container: containers[0] ?? null,
            file,
            line,
            locate: locate ?? (() => ({ line, column })),
          },
        });
        return;
      }
      const kind = (value as { kind?: unknown }).kind;
      if (containers.includes("items") && kind !== undefined && kind !== "EventList") {
        problemAt(
          line,
          column,
          `expected kind "EventList" for a document with items, found ${JSON.stringify(kind)}`,
        );
      }
    };

    const readYamlItems = (): void => {
      for (const item of yamlOut) {
        if (item.type === "error") problemAt(item.line, item.column, item.message);
        else if (item.type === "item") {
          if (item.index === 0 && item.container === "items") {
            const head = parseYamlValue(item.head, yamlLimits, item.headLine - 1);
            const v = "value" in head ? (head.value as { apiVersion?: unknown } | null) : null;
            listVersion = typeof v?.apiVersion === "string" ? v.apiVersion : undefined;
          }
          const parsed = parseYamlValue(item.text, yamlLimits, item.line - 1);
          if ("error" in parsed) {
            problemAt(parsed.error.line, parsed.error.column, parsed.error.message);
            continue;
          }
          const base = `${item.container === null ? "" : item.container}[${item.index}].`;
          readElement(
            item.container,
            parsed.value,
            {
              line: item.line,
              prefix: base,
              locate: elementLocator(item.text, item.line, 1, base, true),
              record: base.slice(0, -1),
            },
            ctx,
            listVersion,
          );
        } else if (item.content) {
          const parsed = parseYamlValue(item.text, yamlLimits, item.textLine - 1);
          if ("error" in parsed) {
            if (this.raw && item.container === undefined) {
              // Raw mode: a checker may know better what the document was meant to be (a policy).
              const { line, column, message } = parsed.error;
              out.push({
                raw: {
                  value: undefined,
                  source: { file, line: item.line, format: "kube" },
                  prefix: "",
                  locate: () => ({ line, column }),
                  text: item.text,
                  textLine: item.textLine,
                  invalid: { file, line, column, message, severity: "error" },
                },
              });
              continue;
            }
            problemAt(parsed.error.line, parsed.error.column, parsed.error.message);
            continue;
          }
          if (item.container !== undefined) {
            if (parsed.value !== null && typeof parsed.value === "object")
              checkEnvelope(
                parsed.value,
                [item.container],
                item.line,
                1,
                elementLocator(item.text, item.textLine, 1, "", true),
              );
          } else {
            const text = item.text;
            readRecord(
              parsed.value,
              {
                line: item.line,
                prefix: "",
                locate: elementLocator(text, item.textLine, 1, "", true),
                text,
                textLine: item.textLine,
              },
              ctx,
            );
          }
          listVersion = undefined;
        }
      }
      yamlOut.length = 0;
    };

    /** Reads a line (from column index `from`) that starts something new. */
    const readFresh = (line: string, n: number, from: number): void => {
      const text = from === 0 ? line : line.slice(from);
      if (isBlank(text)) return;
      const t = text.trimStart();
      const c0 = t.charCodeAt(0);
      if (c0 === 0x7b || c0 === 0x5b) {
        let value: unknown;
        if (c0 === 0x5b) {
          // decodeEvent checks nesting for objects; an array line is checked here, before parsing.
          const deep = jsonDepthExceeded(t, MAX_JSON_DEPTH);
          if (deep >= 0) {
            problemAt(
              n,
              line.length - t.length + deep + 1,
              `JSON nests deeper than ${MAX_JSON_DEPTH} levels`,
            );
            return;
          }
        }
        try {
          value = c0 === 0x7b ? ctx.decode(t) : JSON.parse(t);
        } catch (e) {
          const cause = (e as { cause?: unknown }).cause ?? e;
          // Not one whole value: a document that goes on over the next lines, or a broken line.
          const scanner = new JsonDocScanner(
            CONTAINER_KEYS,
            o.maxRecordBytes ?? READ_LIMITS.maxRecordBytes,
            jsonOut,
          );
          docScanner = scanner;
          const r = scanner.feed(line, n, from);
          if (!r.done) {
            json = scanner;
            listVersion = undefined;
            return;
          }
          const severalValues =
            r.done &&
            !r.failed &&
            /after JSON/.test((cause as Error).message) &&
            !isBlank(line.slice(r.rest));
          if (!severalValues) {
            // One broken line: V8's message (without the input it quotes) and column.
            jsonOut.length = 0;
            const col = line.length - t.length + jsonErrorColumn(t, cause);
            problemAt(n, col, `invalid JSON: ${jsonErrorMessage(cause)}`);
            return;
          }
          // Several values on one line (`}{`): take them in turn.
          readJsonDocItems();
          readFresh(line, n, r.rest);
          return;
        }
        const indent = line.length - t.length;
        readRecord(
          value,
          {
            line: n,
            column: indent + 1,
            prefix: "",
            locate: elementLocator(t, n, indent + 1, ""),
            text: t,
            textLine: n,
          },
          ctx,
        );
        return;
      }
      if (from === 0 && LEGACY_LINE.test(line)) {
        legacy ??= new LegacyConverter({ strict: false, firstLine: n });
        // Numbered by the reader: lines the converter never sees (JSON lines, lines inside a
        // JSON document) are not pushed to it.
        legacy.push(line, legacyOut, n);
        drainLegacy(n);
        return;
      }
      if (from === 0 && S3_EXPORT_LINE.test(line)) {
        const at = line.indexOf(" ") + 1;
        if (format !== "auto" && format !== "eks") {
          problemAt(
            n,
            1,
            `expected ${format} records (format ${format}), found an EKS export line`,
          );
          return;
        }
        readEksMessage(line.slice(at), { line: n, column: at + 1, prefix: "" }, ctx, "");
        return;
      }
      if (from === 0 && YAML_START.test(line)) {
        yaml.feed(line, n);
        readYamlItems();
        return;
      }
      problemAt(
        n,
        from + 1 + (text.length - t.length),
        "not a JSON line, a legacy AUDIT: line, an EKS export line or the start of a JSON/YAML document",
      );
    };

    const readLine = (item: string | LineReadError, n: number): void => {
      if (typeof item !== "string") {
        if (json !== undefined) {
          json.end();
          json = undefined;
          readJsonDocItems();
        }
        problemAt(n, item.error.column, item.error.message);
        return;
      }
      if (json !== undefined) {
        const r = json.feed(item, n, 0);
        if (r.done) {
          json = undefined;
          readJsonDocItems();
          if (r.failed) {
            if (r.restart) readFresh(item, n, 0);
          } else readFresh(item, n, r.rest);
        } else readJsonDocItems();
        return;
      }
      if (yaml.active) {
        const c0 = item.charCodeAt(0);
        // A JSON or legacy line at column 0 cannot continue a block YAML document: it ends it.
        if (c0 === 0x7b || c0 === 0x5b || LEGACY_LINE.test(item) || S3_EXPORT_LINE.test(item)) {
          if (yaml.empty || c0 !== 0x5b) {
            yaml.finish();
            readYamlItems();
            readFresh(item, n, 0);
            return;
          }
        }
        yaml.feed(item, n);
        readYamlItems();
        return;
      }
      readFresh(item, n, 0);
    };

    const lines = splitLines(readBytes(this.input, o), {
      maxLineBytes: o.maxLineBytes ?? READ_LIMITS.maxLineBytes,
    });
    const before = (o.firstLine ?? 1) - 1;
    let n = before;
    // Results are handed out once per chunk of lines (fewer generator hops than one per line);
    // the callers count them and stop a strict reader after its first problem.
    for await (const batch of lines[LINE_BATCHES]()) {
      let checked = 0;
      for (let i = 0; i < batch.length; i++) {
        readLine(batch[i]!, ++n);
        if (strict) {
          // Stop reading at the first problem (results before it are still handed out).
          let found = false;
          for (; checked < out.length && !found; checked++) found = "problem" in out[checked]!;
          if (found) break;
        }
      }
      counts.lines = n - before;
      if (out.length > 0) {
        const results = out.slice();
        out.length = 0;
        yield results;
      }
    }
    counts.openAtEnd = json !== undefined || yaml.active || (legacy !== undefined && !legacy.idle);
    if (json !== undefined) {
      json.end();
      readJsonDocItems();
    }
    if (yaml.active) {
      yaml.finish();
      readYamlItems();
    }
    if (legacy !== undefined) {
      legacy.end(legacyOut);
      drainLegacy(0);
    }
    if (out.length > 0) {
      const results = out.slice();
      out.length = 0;
      yield results;
    }
  }
}

/**
 * The audit events of one input, whatever its format, as `{ event, source }` (an
 * audit.k8s.io/v1 event and where it came from) or `{ problem }` (file:line:col and what is
 * wrong; reading goes on). `input` is a path, `-` (stdin) or a readable stream; gzip is
 * recognised by its magic bytes (concatenated members too). Each line is read for what it can be
 * — a JSON value (`{`/`[`), a legacy `AUDIT:` line (RFC 3339 timestamp, then ` AUDIT: `), an EKS
 * S3 export line (timestamp, then a JSON message) — and never decides for the lines after it; a
 * line that starts but does not finish a JSON value begins a multi-line document, read one list
 * element at a time; YAML documents (`---`-separated) are read one list item at a time. Records:
 * kube Events and EventLists of any audit version (upgraded to v1), GKE LogEntries, EKS
 * CloudWatch Logs events and pages, AKS diagnostic records and `records` bodies. Memory stays
 * bounded by the limits in {@link READ_LIMITS}.
 *
 * @throws {SourceReadError} only when the input cannot be opened or its gzip data is broken (during iteration).
 */
export function readEvents(input: Input, options: ReadEventsOptions = {}): EventReader {
  return new Reader(input, options) as unknown as EventReader;
}

/** What {@link readRecords} returns: like {@link EventReader}, yielding {@link RecordResult}s. */
export interface RecordReader extends AsyncIterable<RecordResult>, EventEmitter {
  readonly counts: ReadCounts;
  readonly stats: SourceStats;
  /** The results in arrays, as {@link EventReader.batches}. */
  batches(): AsyncIterable<RecordResult[]>;
}

/**
 * {@link readEvents} one step earlier, for tools that judge records themselves (`kaudit
 * validate`): the same reading of every format, but each kube-level object comes out as decoded
 * — `{ raw }` with its position, prefix, list apiVersion and, for a whole line or document, its
 * text — with no upgrade and no schema check, and each list's envelope as `{ list }`. Legacy lines
 * still come out as `{ event }` and unreadable input as `{ problem }`.
 */
export function readRecords(input: Input, options: ReadEventsOptions = {}): RecordReader {
  return new Reader(input, options, true) as unknown as RecordReader;
}
