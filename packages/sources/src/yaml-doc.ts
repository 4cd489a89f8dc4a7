/**
 * Splits a stream of YAML lines into documents (`---`), and a document whose top level is a list
 * — a sequence at column 0, or a mapping whose `items`, `records`, `events` or `entries` key holds
 * a block sequence — into its list items, so a large EventList is parsed one item at a time (the
 * YAML parser takes ~80 bytes of memory per byte of text). The rest of the document is kept as
 * its "envelope". Anchors are resolved within an item only.
 */

/** A piece of a YAML document, in order. */
export type YamlDocItem =
  | {
      type: "item";
      /** The item as a YAML text of its own (the `- ` replaced by spaces). */
      text: string;
      /** The key whose list holds the item, or `null` for a top-level sequence. */
      container: string | null;
      index: number;
      line: number;
      /** The envelope read so far (what came before the list), for the list's apiVersion. */
      head: string;
      headLine: number;
    }
  | {
      /** The document without its list items (all of it when it has none). */
      type: "document";
      text: string;
      container: string | null | undefined;
      line: number;
      /** The line the text starts on (comments before the content included). */
      textLine: number;
      /** The document had content (not only comments and blank lines). */
      content: boolean;
    }
  | { type: "error"; message: string; line: number; column: number };

const CONTAINER_KEY = /^(items|records|events|entries):\s*(?:#.*)?$/;
const SEQ_ITEM = /^( *)-(?: |$)/;

function indentOf(line: string): number {
  let i = 0;
  while (i < line.length && line.charCodeAt(i) === 0x20) i++;
  return i;
}

function isBlankOrComment(line: string): boolean {
  const t = line.trimStart();
  return t === "" || t.startsWith("#");
}

/** Reads one YAML stream line by line; see the module comment. */
export class YamlDocSplitter {
  private head: string[] = [];
  private headBytes = 0;
  private headLine = 0;
  private contentLine = 0;
  private content = false;
  /** A container key was seen and its first item is awaited. */
  private pendingKey: string | null | undefined;
  private inSeq = false;
  private seqIndent = 0;
  private container: string | null = null;
  private item: string[] = [];
  private itemBytes = 0;
  private itemLine = 0;
  private index = 0;
  private skipping = false;
  private started = false;

  constructor(
    private readonly maxBytes: number,
    private readonly out: YamlDocItem[],
  ) {}

  /** Whether a document is being read. */
  get active(): boolean {
    return this.started;
  }

  /** True when the document so far has only comments, blank lines and `---`. */
  get empty(): boolean {
    return !this.content && !this.inSeq;
  }

  /** Reads the next line of the stream. */
  feed(line: string, lineNo: number): void {
    if (!this.started) {
      this.started = true;
      this.headLine = lineNo;
    }
    if (line.startsWith("---") && (line.length === 3 || line[3] === " ")) {
      this.finish();
      this.started = true;
      this.headLine = lineNo + 1;
      return;
    }
    if (line === "..." || line.startsWith("... ")) {
      this.finish();
      return;
    }
    if (this.skipping) return;
    if (this.inSeq) {
      const m = SEQ_ITEM.exec(line);
      if (m && m[1]!.length === this.seqIndent) {
        this.flushItem();
        this.itemLine = lineNo;
        this.addItemLine(`${" ".repeat(this.seqIndent)} ${line.slice(this.seqIndent + 1)}`, lineNo);
        return;
      }
      if (isBlankOrComment(line) || indentOf(line) > this.seqIndent) {
        this.addItemLine(line, lineNo);
        return;
      }
      // A line less indented (or a key at the list's own indent) ends the list.
      this.flushItem();
      this.inSeq = false;
    }
    if (this.pendingKey !== undefined && !isBlankOrComment(line)) {
      const m = SEQ_ITEM.exec(line);
      const key = this.pendingKey;
      this.pendingKey = undefined;
      if (m && (key === null || m[1]!.length >= 0)) {
        this.inSeq = true;
        this.seqIndent = m[1]!.length;
        this.container = key;
        this.index = 0;
        this.itemLine = lineNo;
        this.addItemLine(`${" ".repeat(this.seqIndent)} ${line.slice(this.seqIndent + 1)}`, lineNo);
        return;
      }
    }
    if (!isBlankOrComment(line)) {
      if (!this.content && !this.inSeq && SEQ_ITEM.exec(line)?.[1] === "") {
        // A top-level sequence.
        this.content = true;
        this.contentLine = lineNo;
        this.inSeq = true;
        this.seqIndent = 0;
        this.container = null;
        this.index = 0;
        this.itemLine = lineNo;
        this.addItemLine(` ${line.slice(1)}`, lineNo);
        return;
      }
      if (!this.content) this.contentLine = lineNo;
      this.content = true;
      const k = CONTAINER_KEY.exec(line);
      if (k) this.pendingKey = k[1]!;
    }
    this.headBytes += line.length + 1;
    if (this.headBytes > this.maxBytes) {
      this.out.push({
        type: "error",
        message: `a YAML document over ${this.maxBytes} characters that is not a list; not read (write events as JSON lines to stream them)`,
        line: this.headLine,
        column: 1,
      });
      this.reset();
      this.skipping = true;
      this.started = true;
      return;
    }
    this.head.push(line);
  }

  private addItemLine(line: string, lineNo: number): void {
    if (this.itemBytes < 0) return; // over the limit: skipped to its end
    this.itemBytes += line.length + 1;
    if (this.itemBytes > this.maxBytes) {
      this.out.push({
        type: "error",
        message: `a YAML list item over ${this.maxBytes} characters; not read`,
        line: this.itemLine,
        column: 1,
      });
      this.item = [];
      this.itemBytes = -1;
      this.index++;
      return;
    }
    if (this.item.length === 0) this.itemLine = lineNo;
    this.item.push(line);
  }

  private flushItem(): void {
    if (this.itemBytes < 0) {
      this.itemBytes = 0;
      return;
    }
    if (this.item.length === 0) return;
    this.out.push({
      type: "item",
      text: this.item.join("\n"),
      container: this.container,
      index: this.index++,
      line: this.itemLine,
      head: this.head.join("\n"),
      headLine: this.headLine,
    });
    this.item = [];
    this.itemBytes = 0;
  }

  /** Ends the current document (at `---`, `...`, a line of another format, or the end of input). */
  finish(): void {
    if (!this.started) return;
    if (this.inSeq) this.flushItem();
    if (!this.skipping) {
      this.out.push({
        type: "document",
        text: this.head.join("\n"),
        container: this.index > 0 || this.inSeq ? this.container : undefined,
        line: this.content ? this.contentLine : this.headLine,
        textLine: this.headLine,
        content: this.content || this.index > 0,
      });
    }
    this.reset();
  }

  private reset(): void {
    this.head = [];
    this.headBytes = 0;
    this.content = false;
    this.pendingKey = undefined;
    this.inSeq = false;
    this.container = null;
    this.item = [];
    this.itemBytes = 0;
    this.index = 0;
    this.skipping = false;
    this.started = false;
  }
}
