/**
 * Whether a label selector parses, as apimachinery labels.Parse decides (pkg/labels/selector.go):
 * the lexer, the grammar and the key/value validation. kube-apiserver's RequestInfo decodes the
 * list options of a list/watch, and a selector that fails to parse makes it drop the
 * `fieldSelector=metadata.name=…` name, so only validity matters here.
 */

enum Tok {
  Error = 0,
  End = 1,
  ClosedPar = 2,
  Comma = 3,
  DoesNotExist = 4,
  DoubleEquals = 5,
  Equals = 6,
  GreaterThan = 7,
  Identifier = 8,
  In = 9,
  LessThan = 10,
  NotEquals = 11,
  NotIn = 12,
  OpenPar = 13,
}

const LITERALS = new Map<string, Tok>([
  [")", Tok.ClosedPar],
  [",", Tok.Comma],
  ["!", Tok.DoesNotExist],
  ["==", Tok.DoubleEquals],
  ["=", Tok.Equals],
  [">", Tok.GreaterThan],
  ["in", Tok.In],
  ["<", Tok.LessThan],
  ["!=", Tok.NotEquals],
  ["notin", Tok.NotIn],
  ["(", Tok.OpenPar],
]);

const isWhitespace = (c: string) => c === " " || c === "\t" || c === "\r" || c === "\n";
const isSpecial = (c: string) =>
  c === "=" || c === "!" || c === "(" || c === ")" || c === "," || c === ">" || c === "<";

function lex(s: string): Array<[Tok, string]> {
  const out: Array<[Tok, string]> = [];
  let i = 0;
  for (;;) {
    while (i < s.length && isWhitespace(s[i]!)) i++;
    if (i >= s.length) {
      out.push([Tok.End, ""]);
      return out;
    }
    if (isSpecial(s[i]!)) {
      // Longest run of special characters that is still a token.
      let buffer = "";
      let last: [Tok, string] | undefined;
      while (i < s.length && isSpecial(s[i]!)) {
        buffer += s[i];
        const tok = LITERALS.get(buffer);
        if (tok !== undefined) last = [tok, buffer];
        else if (last !== undefined) break;
        i++;
      }
      if (last === undefined) {
        out.push([Tok.Error, buffer]);
        return out;
      }
      out.push(last);
      continue;
    }
    let id = "";
    while (i < s.length && !isSpecial(s[i]!) && !isWhitespace(s[i]!)) id += s[i++];
    out.push([LITERALS.get(id) ?? Tok.Identifier, id]);
  }
}

const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** apimachinery IsQualifiedName (IsLabelKey). */
function isLabelKey(key: string): boolean {
  const parts = key.split("/");
  let name: string;
  if (parts.length === 1) name = parts[0]!;
  else if (parts.length === 2) {
    const prefix = parts[0]!;
    if (prefix === "" || prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix)) return false;
    name = parts[1]!;
  } else return false;
  return name !== "" && name.length <= 63 && QUALIFIED_NAME.test(name);
}

/** apimachinery IsValidLabelValue. */
function isLabelValue(value: string): boolean {
  return value.length <= 63 && LABEL_VALUE.test(value);
}

/** True when apimachinery's labels.Parse accepts the selector. */
export function isValidLabelSelector(selector: string): boolean {
  const items = lex(selector);
  let pos = 0;
  // In a values context `in`/`notin` are identifiers.
  const look = (values: boolean): Tok => {
    const t = items[pos]![0];
    return values && (t === Tok.In || t === Tok.NotIn) ? Tok.Identifier : t;
  };
  const take = (values: boolean): [Tok, string] => {
    const [t, lit] = items[pos++]!;
    return [values && (t === Tok.In || t === Tok.NotIn) ? Tok.Identifier : t, lit];
  };
  const requirement = (): boolean => {
    let [tok, key] = take(true);
    let unary = false;
    if (tok === Tok.DoesNotExist) {
      unary = true;
      [tok, key] = take(true);
    }
    if (tok !== Tok.Identifier || !isLabelKey(key)) return false;
    const next = look(true);
    if (next === Tok.End || next === Tok.Comma) return true; // exists / does not exist
    if (unary) {
      // `!key op ...`: the operator is parsed and NewRequirement then rejects it.
      return false;
    }
    const [op] = take(false);
    let values: string[];
    if (op === Tok.In || op === Tok.NotIn) {
      if (take(true)[0] !== Tok.OpenPar) return false;
      const first = look(true);
      if (first === Tok.ClosedPar) {
        take(true);
        values = [""];
      } else if (first === Tok.Identifier || first === Tok.Comma) {
        values = [];
        for (;;) {
          const [t, lit] = take(true);
          if (t === Tok.Identifier) {
            values.push(lit);
            const t2 = look(true);
            if (t2 === Tok.Comma) continue;
            if (t2 === Tok.ClosedPar) break;
            return false;
          }
          if (t === Tok.Comma) {
            if (values.length === 0) values.push("");
            const t2 = look(true);
            if (t2 === Tok.ClosedPar) {
              values.push("");
              break;
            }
            if (t2 === Tok.Comma) values.push("");
            continue;
          }
          return false;
        }
        if (take(true)[0] !== Tok.ClosedPar) return false;
      } else return false;
    } else if (
      op === Tok.Equals ||
      op === Tok.DoubleEquals ||
      op === Tok.NotEquals ||
      op === Tok.GreaterThan ||
      op === Tok.LessThan
    ) {
      const t = look(true);
      if (t === Tok.End || t === Tok.Comma) values = [""];
      else {
        const [t2, lit] = take(true);
        if (t2 !== Tok.Identifier) return false;
        values = [lit];
      }
      if ((op === Tok.GreaterThan || op === Tok.LessThan) && !/^[+-]?\d+$/.test(values[0]!))
        return false;
    } else return false;
    return values.every(isLabelValue);
  };

  for (;;) {
    const tok = look(true);
    if (tok === Tok.End) return true;
    if (tok !== Tok.Identifier && tok !== Tok.DoesNotExist) return false;
    if (!requirement()) return false;
    const [t] = take(true);
    if (t === Tok.End) return true;
    if (t !== Tok.Comma) return false;
    const t2 = look(true);
    if (t2 !== Tok.Identifier && t2 !== Tok.DoesNotExist) return false;
  }
}
