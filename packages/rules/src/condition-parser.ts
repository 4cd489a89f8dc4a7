/**
 * The condition grammar of Falco rules (libsinsp's filter parser): `and`, `or`, `not`,
 * parentheses, field checks `field[arg] op value`, list values `(a, "b c")` and bare
 * identifiers (macro references). Written from the grammar, not translated from libsinsp;
 * the error messages keep libsinsp's wording so users can search for them.
 */

/** A field reference: `ka.uri.param[command]`, `jevt.value[/stage]`. */
export interface FieldRef {
  name: string;
  arg?: string | undefined;
  /** Offset of the field name in the condition. */
  at: number;
}

/** One value on the right of an operator; `quoted` values are never list names. */
export interface ValueItem {
  value: string;
  quoted: boolean;
  at: number;
}

export type ConditionNode =
  | { type: "and" | "or"; children: ConditionNode[]; at: number }
  | { type: "not"; child: ConditionNode; at: number }
  | { type: "macro"; name: string; at: number }
  | {
      type: "check";
      field: FieldRef;
      op: string;
      /** A single value (`= x`, `contains "y"`, `in my_list`) or a list (`in (a, b)`). */
      value?: { kind: "value"; item: ValueItem } | { kind: "list"; items: ValueItem[]; at: number };
      at: number;
    };

/** A syntax error at an offset of the condition text. */
export class ConditionSyntaxError extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.offset = offset;
  }
}

const UNARY_OPS = ["exists"];
const NUM_OPS = ["<=", "<", ">=", ">"];
// Word operators need a blank after them (`contains x`), symbols do not (`=x`).
const STR_OPS = [
  "==",
  "=",
  "!=",
  "glob ",
  "iglob ",
  "contains ",
  "icontains ",
  "bcontains ",
  "startswith ",
  "bstartswith ",
  "endswith ",
  "regex ",
];
const LIST_OPS = ["intersects", "in", "pmatch"];
const TRANSFORMERS = [
  "val(",
  "tolower(",
  "toupper(",
  "b64(",
  "basename(",
  "len(",
  "join(",
  "concat(",
  "getopt(",
];

/** Every operator name the grammar knows, in libsinsp's order. */
export const OPERATORS: readonly string[] = [...UNARY_OPS, ...NUM_OPS, ...STR_OPS, ...LIST_OPS].map(
  (o) => o.trim(),
);

const RX_NOT_BLANK = /not[ \t\b\r\n]+/y;
const RX_IDENTIFIER = /[a-zA-Z]+[a-zA-Z0-9_]*/y;
const RX_FIELD_NAME = /[a-zA-Z]+[a-zA-Z0-9_]*(\.[a-zA-Z]+[a-zA-Z0-9_]*)+/y;
const RX_FIELD_ARG_BARE = /[^\]["'\s]+/y;
const RX_HEX = /0[xX][0-9a-fA-F]+/y;
const RX_NUM = /[+-]?[0-9]+\.?[0-9]*([eE][+-][0-9]+)?/y;
const RX_BARE = /[^()"'\s=,]+/y;

const MAX_DEPTH = 1000;

function quoteList(items: readonly string[]): string {
  return items.map((s) => `'${s.replace(/\($/, "")}'`).join(", ");
}

function unescapeQuoted(body: string): string {
  let out = "";
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== "\\" || i + 1 >= body.length) {
      out += c;
      continue;
    }
    const n = body[++i]!;
    switch (n) {
      case "b":
        out += "\b";
        break;
      case "f":
        out += "\f";
        break;
      case "n":
        out += "\n";
        break;
      case "r":
        out += "\r";
        break;
      case "t":
        out += "\t";
        break;
      default:
        // \\ \" \' and "\ " stand for the character itself.
        out += n;
    }
  }
  return out;
}

/** Parses a condition into its tree; throws {@link ConditionSyntaxError} with an offset. */
export function parseCondition(input: string): ConditionNode {
  return new Parser(input).parse();
}

class Parser {
  private pos = 0;
  private last = "";
  private depth = 0;

  constructor(private readonly input: string) {}

  parse(): ConditionNode {
    if (this.input.length === 0) throw this.error("filter input string is empty");
    const res = this.parseOr();
    if (this.pos !== this.input.length) {
      throw this.error(`unexpected token after '${this.last}', expecting 'or', 'and'`);
    }
    return res;
  }

  private error(message: string): ConditionSyntaxError {
    return new ConditionSyntaxError(message, this.pos);
  }

  private enter(): void {
    if (++this.depth >= MAX_DEPTH) throw this.error(`exceeded max depth limit of ${MAX_DEPTH}`);
  }

  private blank(): boolean {
    const start = this.pos;
    while (this.pos < this.input.length) {
      const c = this.input[this.pos];
      if (c === " " || c === "\t" || c === "\b" || c === "\r" || c === "\n") this.pos++;
      else break;
    }
    return this.pos > start;
  }

  private str(s: string): boolean {
    if (this.input.startsWith(s, this.pos)) {
      this.pos += s.length;
      this.last = s;
      return true;
    }
    return false;
  }

  private rx(re: RegExp): boolean {
    re.lastIndex = this.pos;
    const m = re.exec(this.input);
    if (m === null) return false;
    this.pos += m[0].length;
    this.last = m[0];
    return true;
  }

  private opFrom(list: readonly string[]): boolean {
    for (const op of list) {
      if (!op.endsWith(" ")) {
        if (this.str(op)) return true;
        continue;
      }
      const saved = this.pos;
      const savedLast = this.last;
      if (this.str(op.trim())) {
        if (this.blank()) {
          this.last = op.trim();
          return true;
        }
        this.pos = saved;
        this.last = savedLast;
      }
    }
    return false;
  }

  private quoted(): boolean {
    const delim = this.input[this.pos];
    if (delim !== "'" && delim !== '"') return false;
    let prev = "\\";
    for (let i = this.pos; i < this.input.length; i++) {
      const c = this.input[i]!;
      if (c === delim && prev !== "\\" && i > this.pos) {
        this.last = unescapeQuoted(this.input.slice(this.pos + 1, i));
        this.pos = i + 1;
        return true;
      }
      prev = i === this.pos ? "\\" : c;
    }
    return false;
  }

  private transformerAhead(): boolean {
    for (const t of TRANSFORMERS) if (this.input.startsWith(t, this.pos)) return true;
    return false;
  }

  private parseOr(): ConditionNode {
    this.enter();
    const at = this.pos;
    this.blank();
    const children = [this.parseAnd()];
    this.blank();
    while (this.str("or")) {
      if (!this.blank()) {
        if (this.str("(")) children.push(this.parseEmbedded());
        else throw this.error("expected blank or '(' after 'or'");
      } else children.push(this.parseAnd());
      this.blank();
    }
    this.depth--;
    return children.length > 1 ? { type: "or", children, at } : children[0]!;
  }

  private parseAnd(): ConditionNode {
    this.enter();
    const at = this.pos;
    this.blank();
    const children = [this.parseNot()];
    this.blank();
    while (this.str("and")) {
      if (!this.blank()) {
        if (this.str("(")) children.push(this.parseEmbedded());
        else throw this.error("expected blank or '(' after 'and'");
      } else children.push(this.parseNot());
      this.blank();
    }
    this.depth--;
    return children.length > 1 ? { type: "and", children, at } : children[0]!;
  }

  private parseNot(): ConditionNode {
    this.enter();
    this.blank();
    const at = this.pos;
    let negate = false;
    while (this.rx(RX_NOT_BLANK)) negate = !negate;
    let child: ConditionNode;
    if (this.str("not(")) {
      negate = !negate;
      child = this.parseEmbedded();
    } else child = this.parseCheck();
    this.depth--;
    return negate ? { type: "not", child, at } : child;
  }

  private parseEmbedded(): ConditionNode {
    this.enter();
    this.blank();
    const child = this.parseOr();
    this.blank();
    if (!this.str(")")) throw this.error("expected a ')' token");
    this.depth--;
    return child;
  }

  private parseCheck(): ConditionNode {
    this.enter();
    this.blank();
    const at = this.pos;
    if (this.str("(")) {
      const r = this.parseEmbedded();
      this.depth--;
      return r;
    }
    if (this.rx(RX_FIELD_NAME)) {
      const field: FieldRef = { name: this.last, at };
      field.arg = this.parseFieldArg();
      const r = this.parseConditionRest(field, at);
      this.depth--;
      return r;
    }
    if (this.transformerAhead()) {
      throw this.error("field transformers (tolower(), val(), ...) are not supported by kaudit");
    }
    if (this.rx(RX_IDENTIFIER)) {
      this.depth--;
      return { type: "macro", name: this.last, at };
    }
    throw this.error("expected a '(' token, a field check, or an identifier");
  }

  private parseFieldArg(): string | undefined {
    if (!this.str("[")) return undefined;
    if (!this.quoted() && !this.rx(RX_FIELD_ARG_BARE)) {
      throw this.error("expected a valid field argument: a quoted string or a bare string");
    }
    const arg = this.last;
    if (!this.str("]")) throw this.error("expected a ']' token");
    return arg;
  }

  private parseConditionRest(field: FieldRef, at: number): ConditionNode {
    this.blank();
    if (this.opFrom(UNARY_OPS)) return { type: "check", field, op: "exists", at };
    this.blank();
    if (this.opFrom(NUM_OPS)) {
      const op = this.last;
      this.blank();
      const vat = this.pos;
      if (this.transformerAhead()) {
        throw this.error("field transformers (tolower(), val(), ...) are not supported by kaudit");
      }
      if (this.rx(RX_HEX) || this.rx(RX_NUM)) {
        return {
          type: "check",
          field,
          op,
          value: { kind: "value", item: { value: this.last, quoted: false, at: vat } },
          at,
        };
      }
      throw this.error(
        `expected a number value or a field with a valid transformer: ${quoteList(TRANSFORMERS)}`,
      );
    }
    if (this.opFrom(STR_OPS)) {
      const op = this.last.trim();
      if (this.transformerAhead()) {
        throw this.error("field transformers (tolower(), val(), ...) are not supported by kaudit");
      }
      const item = this.parseStrValue(false);
      return {
        type: "check",
        field,
        op: op === "==" ? "=" : op,
        value: { kind: "value", item },
        at,
      };
    }
    if (this.opFrom(LIST_OPS)) {
      const op = this.last;
      this.blank();
      const vat = this.pos;
      if (this.str("(")) {
        const items = this.parseListRest();
        return { type: "check", field, op, value: { kind: "list", items, at: vat }, at };
      }
      if (this.transformerAhead()) {
        throw this.error("field transformers (tolower(), val(), ...) are not supported by kaudit");
      }
      if (this.rx(RX_IDENTIFIER)) {
        return {
          type: "check",
          field,
          op,
          value: { kind: "value", item: { value: this.last, quoted: false, at: vat } },
          at,
        };
      }
      throw this.error(
        `expected a list, an identifier, or a field with a valid transformer: ${quoteList(TRANSFORMERS)}`,
      );
    }
    throw this.error(
      `expected a valid check operator: one of ${OPERATORS.map((o) => `'${o}'`).join(", ")}`,
    );
  }

  private parseStrValue(inList: boolean): ValueItem {
    this.blank();
    const at = this.pos;
    if (this.quoted()) return { value: this.last, quoted: true, at };
    if (this.rx(RX_BARE)) return { value: this.last, quoted: false, at };
    throw this.error(
      inList
        ? "expected a string value"
        : `expected a string value or a field with a valid transformer: ${quoteList(TRANSFORMERS)}`,
    );
  }

  private parseListRest(): ValueItem[] {
    const items: ValueItem[] = [];
    this.blank();
    const saved = this.pos;
    let first: ValueItem | undefined;
    try {
      first = this.parseStrValue(true);
    } catch {
      // An empty list `()` is allowed: the head is optional.
      this.pos = saved;
    }
    if (first !== undefined) {
      items.push(first);
      this.blank();
      while (this.str(",")) {
        items.push(this.parseStrValue(true));
        this.blank();
      }
    }
    if (!this.str(")")) throw this.error("expected a ')' token");
    return items;
  }
}
