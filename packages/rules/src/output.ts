/**
 * Output templates: text with `%field` and `%field[arg]` replaced by the event's values, `<NA>`
 * for values the event does not have, lists as `(a,b)` — as Falco's formatter prints them. The
 * template is split once at load into literal pieces and field accessors.
 */
import { renderValue } from "./compile";
import type { EvalContext, FieldAccessor } from "./eval-context";
import { FIELD_NAMES_LONGEST_FIRST, FIELDS, type FieldValue } from "./fields";

/** A compiled output template. */
export interface OutputTemplate {
  /** Literal text pieces; `pieces.length === fields.length + 1`. */
  pieces: string[];
  fields: FieldAccessor[];
}

/** An output problem at an offset of the template. */
export class OutputError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

const IDENT = /[A-Za-z0-9_]/;

/** Splits a template; `accessor` interns the fields (and validates their arguments). */
export function compileOutput(
  text: string,
  accessor: (name: string, arg: string | undefined, offset: number) => FieldAccessor,
): OutputTemplate {
  const pieces: string[] = [];
  const fields: FieldAccessor[] = [];
  let literal = "";
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c !== "%") {
      literal += c;
      i++;
      continue;
    }
    const start = i + 1;
    // libsinsp's formatter takes the longest field name that the text starts with.
    const name = FIELD_NAMES_LONGEST_FIRST.find(
      (n) => text.startsWith(n, start) && !IDENT.test(text[start + n.length] ?? ""),
    );
    if (name === undefined) {
      const token = /^[A-Za-z0-9_.]*/.exec(text.slice(start))![0];
      throw new OutputError(`invalid formatting token %${token}`, i);
    }
    let end = start + name.length;
    let arg: string | undefined;
    if (text[end] === "[" && FIELDS.get(name)!.arg !== "none") {
      const close = text.indexOf("]", end);
      if (close < 0) {
        throw new OutputError(
          `filter '${text.slice(start)}': ${name} has unbalanced argument brackets`,
          i,
        );
      }
      arg = text.slice(end + 1, close);
      end = close + 1;
    }
    pieces.push(literal);
    literal = "";
    fields.push(accessor(name, arg, i));
    i = end;
  }
  pieces.push(literal);
  return { pieces, fields };
}

/** The output text for the current event. */
export function renderOutput(t: OutputTemplate, c: EvalContext): string {
  let s = t.pieces[0]!;
  for (let i = 0; i < t.fields.length; i++) {
    const f = t.fields[i]!;
    s += renderValue(c.value(f), f.spec.list) + t.pieces[i + 1]!;
  }
  return s;
}

/** The JSON value of a field in `output_fields`: strings, numbers, arrays, or null when missing. */
export function jsonValue(v: FieldValue, list: boolean): string | number | string[] | null {
  if (v === undefined) return null;
  if (list && !Array.isArray(v)) return [String(v)];
  return v;
}

/** `output_fields` of the current event: each template field by its name (with argument). */
export function outputFields(
  t: OutputTemplate,
  c: EvalContext,
): Record<string, string | number | string[] | null> {
  const out: Record<string, string | number | string[] | null> = {};
  for (const f of t.fields) out[f.key] = jsonValue(c.value(f), f.spec.list);
  return out;
}
