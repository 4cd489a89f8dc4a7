import { MAX_JSON_DEPTH } from "@kaudit/api";

/**
 * A streaming splitter for one JSON document spread over many lines (a pretty-printed EventList,
 * `gcloud logging read --format=json`, `aws logs filter-log-events` pages, an AKS `records`
 * body). It never holds the whole document: the elements of the top-level array, or of the
 * top-level object's list members (`items`, `events`, `records`), are handed out one by one as
 * text for `JSON.parse`; the rest of the top-level object is kept as a small "envelope".
 * Grammar is checked as far as is needed to find where a value ends and to notice a line that
 * cannot continue the document (a truncated JSON line followed by whole ones).
 */

/** A piece of a document, in order. */
export type JsonDocItem =
  | {
      type: "element";
      /** The JSON text of one element. */
      text: string;
      /** The top-level object's member the element is in (`items`, `records`…), or `null` for a top-level array. */
      container: string | null;
      /** 0-based index in its array. */
      index: number;
      line: number;
      column: number;
    }
  | {
      /** The top-level object without its list members (all of it when it has none). */
      type: "object";
      text: string;
      /** The list members whose elements were handed out. */
      containers: string[];
      /** Where each member of the object starts (its key). */
      positions: Record<string, { line: number; column: number }>;
      line: number;
      column: number;
    }
  | { type: "array-end"; count: number; line: number; column: number }
  | { type: "error"; message: string; line: number; column: number };

enum Expect {
  Value,
  ValueOrEnd,
  Key,
  KeyOrEnd,
  Colon,
  CommaOrEnd,
}

const OPEN_OBJ = 0x7b;
const CLOSE_OBJ = 0x7d;
const OPEN_ARR = 0x5b;
const CLOSE_ARR = 0x5d;
const QUOTE = 0x22;

function isLiteralChar(c: number): boolean {
  // digits, letters (true/false/null, exponents), + - .
  return (
    (c >= 0x30 && c <= 0x39) ||
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x41 && c <= 0x5a) ||
    c === 0x2b ||
    c === 0x2d ||
    c === 0x2e
  );
}

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a || c === 0xfeff;
}

/** A capture of text across lines: the value from (line, column) to where it ends. */
class Capture {
  parts: string[] = [];
  bytes = 0;
  segStart = 0;
  constructor(
    readonly line: number,
    readonly column: number,
    start: number,
  ) {
    this.segStart = start;
  }
}

/** What {@link JsonDocScanner.feed} did with a line. */
export interface FeedResult {
  /** The document ended on this line; `rest` is where the text after it starts. */
  done: boolean;
  rest: number;
  /** An error ended the document; `restart` says whether this whole line should be read again as a new start. */
  failed: boolean;
  restart: boolean;
}

/** Splits one JSON document fed line by line; see the module comment. */
export class JsonDocScanner {
  private stack: number[] = [];
  private expect = Expect.Value;
  private inString = false;
  private esc = false;
  private stringIsKey = false;
  private keyStart = -1;
  private key = "";
  private inLiteral = false;
  private topObject = false;
  private element: Capture | undefined;
  private member: Capture | undefined;
  private memberIsContainer = false;
  private container: string | null = null;
  private index = 0;
  private readonly envelope: string[] = [];
  private envelopeBytes = 0;
  private readonly containers: string[] = [];
  private readonly positions: Record<string, { line: number; column: number }> =
    Object.create(null);
  private startLine = 0;
  private startColumn = 0;
  private line = "";
  private lineNo = 0;
  /** The last line with text before the current one, and its length without trailing blanks. */
  private lastLine = 0;
  private lastEnd = 0;
  /** True once the first character of the document was read. */
  started = false;
  /** The top-level object's `apiVersion`, once read (an EventList's items take it). */
  apiVersion: string | undefined;

  constructor(
    private readonly containerKeys: ReadonlySet<string>,
    private readonly maxRecordBytes: number,
    private readonly out: JsonDocItem[],
  ) {}

  /** The line the document started on. */
  get firstLine(): number {
    return this.startLine;
  }

  private fail(i: number, message: string, restart: boolean): FeedResult {
    if (restart && this.lineNo > this.startLine) {
      // The document cannot go on with this line: the value before it was cut off. Said where
      // its text ends, as JSON.parse would for that line alone.
      this.out.push({
        type: "error",
        message: `invalid JSON: Unexpected end of JSON input (the value that starts on line ${this.startLine} is cut off: line ${this.lineNo} starts a new one)`,
        line: this.lastLine,
        column: this.lastEnd + 1,
      });
    } else this.out.push({ type: "error", message, line: this.lineNo, column: i + 1 });
    return { done: true, rest: this.line.length, failed: true, restart };
  }

  private push(c: Capture, end: number): boolean {
    const piece = this.line.slice(c.segStart, end);
    c.parts.push(piece);
    c.bytes += piece.length;
    return c.bytes <= this.maxRecordBytes;
  }

  /** Reads the next line (from column index `from`). */
  feed(line: string, lineNo: number, from = 0): FeedResult {
    this.line = line;
    this.lineNo = lineNo;
    if (this.element) this.element.segStart = 0;
    if (this.member) this.member.segStart = 0;
    // A line that starts a new JSON value where the document needs a key or a comma means the
    // document was a truncated line: say so and let the caller read this line afresh.
    const firstCol = (() => {
      let k = from;
      while (k < line.length && isWs(line.charCodeAt(k))) k++;
      return k;
    })();
    const len = line.length;
    for (let i = from; i < len; i++) {
      const c = line.charCodeAt(i);
      if (this.inString) {
        // Jump to the next quote or backslash.
        if (this.esc) {
          this.esc = false;
          continue;
        }
        let j = i;
        for (; j < len; j++) {
          const d = line.charCodeAt(j);
          if (d === QUOTE || d === 0x5c || d < 0x20) break;
        }
        i = j;
        if (j === len) break;
        const d = line.charCodeAt(j);
        if (d === 0x5c) {
          this.esc = true;
          continue;
        }
        if (d < 0x20) return this.fail(j, "control character inside a JSON string", false);
        this.inString = false;
        if (this.stringIsKey) {
          if (this.keyStart >= 0 && this.stack.length === 1 && this.topObject) {
            try {
              this.key = JSON.parse(line.slice(this.keyStart, j + 1)) as string;
            } catch {
              this.key = "";
            }
          }
          this.expect = Expect.Colon;
        } else {
          const r = this.valueEnded(j);
          if (r) return r;
        }
        continue;
      }
      if (this.inLiteral) {
        if (isLiteralChar(c)) continue;
        this.inLiteral = false;
        const r = this.valueEnded(i - 1);
        if (r) return r;
      }
      if (isWs(c)) continue;
      switch (this.expect) {
        case Expect.Value:
        case Expect.ValueOrEnd:
          if (c === CLOSE_ARR && this.expect === Expect.ValueOrEnd) {
            const r = this.close(i, CLOSE_ARR);
            if (r) return r;
            continue;
          }
          if (
            this.element === undefined &&
            this.stack.length === this.captureDepth() &&
            this.captureOn()
          ) {
            this.element = new Capture(lineNo, i + 1, i);
          }
          if (c === OPEN_OBJ || c === OPEN_ARR) {
            if (this.stack.length === 0) {
              this.started = true;
              this.topObject = c === OPEN_OBJ;
              this.startLine = lineNo;
              this.startColumn = i + 1;
            } else if (
              this.stack.length === 1 &&
              this.topObject &&
              c === OPEN_ARR &&
              this.containerKeys.has(this.key)
            ) {
              this.memberIsContainer = true;
              this.container = this.key;
              this.index = 0;
              this.containers.push(this.key);
            }
            if (this.stack.length >= MAX_JSON_DEPTH)
              return this.fail(i, `JSON nests deeper than ${MAX_JSON_DEPTH} levels`, false);
            this.stack.push(c);
            this.expect = c === OPEN_OBJ ? Expect.KeyOrEnd : Expect.ValueOrEnd;
          } else if (c === QUOTE) {
            this.inString = true;
            this.stringIsKey = false;
          } else if (isLiteralChar(c)) {
            if (this.stack.length === 0)
              return this.fail(i, "expected a JSON object or array", false);
            this.inLiteral = true;
          } else return this.fail(i, "expected a JSON value", i === firstCol);
          continue;
        case Expect.Key:
        case Expect.KeyOrEnd:
          if (c === CLOSE_OBJ && this.expect === Expect.KeyOrEnd) {
            const r = this.close(i, CLOSE_OBJ);
            if (r) return r;
            continue;
          }
          if (c !== QUOTE)
            return this.fail(
              i,
              "expected a member name (a string) in a JSON object; was the line before cut off?",
              i === firstCol,
            );
          this.inString = true;
          this.stringIsKey = true;
          if (this.stack.length === 1 && this.topObject) {
            this.keyStart = i;
            this.member = new Capture(lineNo, i + 1, i);
            this.memberIsContainer = false;
          } else this.keyStart = -1;
          continue;
        case Expect.Colon:
          if (c !== 0x3a) return this.fail(i, "expected ':' after a member name", i === firstCol);
          this.expect = Expect.Value;
          continue;
        case Expect.CommaOrEnd: {
          const top = this.stack[this.stack.length - 1]!;
          if (c === 0x2c) {
            this.expect = top === OPEN_OBJ ? Expect.Key : Expect.Value;
            continue;
          }
          if ((c === CLOSE_OBJ && top === OPEN_OBJ) || (c === CLOSE_ARR && top === OPEN_ARR)) {
            const r = this.close(i, c);
            if (r) return r;
            continue;
          }
          return this.fail(
            i,
            `expected ',' or '${top === OPEN_OBJ ? "}" : "]"}'; was the line before cut off?`,
            i === firstCol,
          );
        }
      }
    }
    // End of line: keep what is being captured.
    const trimmed = line.trimEnd().length;
    if (trimmed > 0) {
      this.lastLine = lineNo;
      this.lastEnd = trimmed;
    }
    if (this.inString) return this.fail(len, "line ends inside a JSON string", false);
    if (this.inLiteral) {
      this.inLiteral = false;
      const r = this.valueEnded(len - 1);
      if (r) return r;
    }
    if (this.element && !this.push(this.element, len)) return this.tooBig();
    if (this.element) this.element.parts.push("\n");
    if (this.member && !this.memberIsContainer) {
      if (!this.push(this.member, len)) return this.tooBig();
      this.member.parts.push("\n");
    }
    return { done: false, rest: len, failed: false, restart: false };
  }

  private tooBig(): FeedResult {
    const at = this.element ?? this.member;
    this.out.push({
      type: "error",
      message: `a single JSON record over ${this.maxRecordBytes} characters; not read (write events as JSON lines to stream them)`,
      line: at?.line ?? this.startLine,
      column: at?.column ?? 1,
    });
    return { done: true, rest: this.line.length, failed: true, restart: false };
  }

  private captureDepth(): number {
    return this.topObject ? 2 : 1;
  }

  private captureOn(): boolean {
    if (this.stack.length === 0) return false;
    return this.topObject ? this.memberIsContainer : true;
  }

  private close(i: number, c: number): FeedResult | undefined {
    this.stack.pop();
    if (this.stack.length === 1 && this.topObject && this.memberIsContainer && c === CLOSE_ARR) {
      // The container array closed: its member is done and leaves no text in the envelope.
      this.member = undefined;
      this.memberIsContainer = false;
      this.container = null;
      this.expect = Expect.CommaOrEnd;
      return undefined;
    }
    if (this.stack.length === 0 && !this.topObject) {
      this.out.push({ type: "array-end", count: this.index, line: this.lineNo, column: i + 1 });
      return { done: true, rest: i + 1, failed: false, restart: false };
    }
    return this.valueEnded(i);
  }

  /** A value ended at index `i` (inclusive) of the current line. */
  private valueEnded(i: number): FeedResult | undefined {
    const depth = this.stack.length;
    this.expect = Expect.CommaOrEnd;
    if (this.element && depth === this.captureDepth()) {
      const el = this.element;
      if (!this.push(el, i + 1)) return this.tooBig();
      this.element = undefined;
      this.out.push({
        type: "element",
        text: el.parts.join(""),
        container: this.topObject ? this.container : null,
        index: this.index++,
        line: el.line,
        column: el.column,
      });
      return undefined;
    }
    if (this.topObject && depth === 1 && this.member && !this.memberIsContainer) {
      const m = this.member;
      if (!this.push(m, i + 1)) return this.tooBig();
      this.member = undefined;
      this.positions[this.key] = { line: m.line, column: m.column };
      const text = m.parts.join("");
      if (this.key === "apiVersion") {
        try {
          const v = (JSON.parse(`{${text}}`) as { apiVersion?: unknown }).apiVersion;
          this.apiVersion = typeof v === "string" ? v : undefined;
        } catch {
          this.apiVersion = undefined;
        }
      }
      this.envelopeBytes += text.length;
      if (this.envelopeBytes > this.maxRecordBytes) return this.tooBig();
      this.envelope.push(text);
      return undefined;
    }
    if (depth === 0) {
      this.out.push({
        type: "object",
        text: `{${this.envelope.join(",")}}`,
        containers: this.containers,
        positions: this.positions,
        line: this.startLine,
        column: this.startColumn,
      });
      return { done: true, rest: i + 1, failed: false, restart: false };
    }
    return undefined;
  }

  /** The input ended: an unfinished document is an error at its start. */
  end(): void {
    if (!this.started) return;
    this.out.push({
      type: "error",
      message: `incomplete JSON: the input ended with ${this.stack.length} unclosed bracket${this.stack.length === 1 ? "" : "s"}${this.inString ? " inside a string" : ""} (document started here)`,
      line: this.startLine,
      column: this.startColumn,
    });
  }
}
