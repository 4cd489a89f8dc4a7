/**
 * Turns a parsed condition into a predicate over an {@link EvalContext}: macros inlined, list
 * names expanded, each operator bound to its comparison, sets and regular expressions built once.
 * Nothing is parsed while events are evaluated.
 */
import type { ConditionNode, FieldRef, ValueItem } from "./condition-parser";
import type { EvalContext, FieldAccessor } from "./eval-context";
import { FIELDS, type FieldArg, type FieldValue } from "./fields";
import { isTimeZone } from "./local-time";

/** A compiled condition. */
export type Predicate = (c: EvalContext) => boolean;

/** A compile problem at an offset of some condition text (the caller knows which). */
export class CompileError extends Error {
  constructor(
    message: string,
    readonly node: { at: number },
    readonly src: ConditionSource,
  ) {
    super(message);
  }
}

/** Where a parsed condition came from, so errors inside macros point into the macro. */
export interface ConditionSource {
  id: string;
}

/** What the compiler needs from the loaded rules. */
export interface CompileScope {
  /** Final list items by list name. */
  lists: ReadonlyMap<string, readonly string[]>;
  /** Parsed macro conditions by name. */
  macro(name: string, from: MacroUse): { ast: ConditionNode; src: ConditionSource } | undefined;
  /** Interns a field accessor (one cache slot per distinct field + argument). */
  accessor(spec: FieldAccessor["spec"], arg: FieldArg | undefined, key: string): FieldAccessor;
  /** Compiled macros, shared by every rule that uses them and memoised per event. */
  compiledMacros: Map<string, { slot: number; predicate?: Predicate }>;
  /** Records a load warning for the node. */
  warn(code: string, message: string, node: { at: number }, src: ConditionSource): void;
}

/** Who uses a macro (visibility of macros follows Falco: a macro sees those defined before it). */
export type MacroUse = { kind: "rule" } | { kind: "macro"; name: string };

/** Resolves `name[arg]` to an accessor, with libsinsp's messages for bad names and arguments. */
export function resolveField(
  scope: CompileScope,
  ref: FieldRef,
  src: ConditionSource,
): FieldAccessor {
  const spec = FIELDS.get(ref.name);
  const shown = ref.arg === undefined ? ref.name : `${ref.name}[${ref.arg}]`;
  if (spec === undefined) {
    throw new CompileError(`filter_check called with nonexistent field ${ref.name}`, ref, src);
  }
  if (ref.arg !== undefined && spec.arg === "none") {
    throw new CompileError(
      `filter '${shown}': ${ref.name} does not allow nor require an argument but one is provided: ${ref.arg}`,
      ref,
      src,
    );
  }
  if (ref.arg === undefined && spec.arg === "key") {
    throw new CompileError(
      `filter '${shown}': ${ref.name} requires an argument but none provided`,
      ref,
      src,
    );
  }
  let arg: FieldArg | undefined;
  if (ref.arg !== undefined) {
    arg = { raw: ref.arg };
    if (spec.arg === "index") {
      if (!/^\d+$/.test(ref.arg)) {
        throw new CompileError(
          `filter '${shown}': ${ref.name} takes a numeric index argument, not ${JSON.stringify(ref.arg)}`,
          ref,
          src,
        );
      }
      arg.index = Number(ref.arg);
    }
    if (spec.origin === "kaudit" && spec.arg === "optional-key" && !isTimeZone(ref.arg)) {
      throw new CompileError(
        `filter '${shown}': unknown time zone ${JSON.stringify(ref.arg)}`,
        ref,
        src,
      );
    }
  }
  return scope.accessor(spec, arg, shown);
}

function expandItems(
  scope: CompileScope,
  items: readonly ValueItem[],
  out: string[],
  seen: Set<string>,
): void {
  for (const item of items) {
    const list = item.quoted ? undefined : scope.lists.get(item.value);
    if (list === undefined || seen.has(item.value)) {
      out.push(item.value);
      continue;
    }
    seen.add(item.value);
    expandItems(
      scope,
      list.map((value) => ({ value, quoted: false, at: item.at })),
      out,
      seen,
    );
    seen.delete(item.value);
  }
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

function globToRegExp(glob: string, ignoreCase: boolean): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*") re += "[\\s\\S]*";
    else if (c === "?") re += "[\\s\\S]";
    else if (c === "\\" && i + 1 < glob.length) re += escapeRe(glob[++i]!);
    else if (c === "[") {
      const end = glob.indexOf("]", i + 2);
      if (end < 0) re += "\\[";
      else {
        let body = glob.slice(i + 1, end);
        if (body.startsWith("!")) body = `^${body.slice(1)}`;
        re += `[${body.replace(/\\/g, "\\\\")}]`;
        i = end;
      }
    } else re += escapeRe(c);
  }
  return new RegExp(`^${re}$`, ignoreCase ? "i" : "");
}

/** Path-prefix match: `/etc` matches `/etc` and `/etc/passwd`, not `/etcd`. */
function pathPrefixMatcher(prefixes: readonly string[]): (v: string) => boolean {
  const norm = prefixes.map((p) => (p.length > 1 && p.endsWith("/") ? p.slice(0, -1) : p));
  return (v) => {
    for (const p of norm) {
      if (v === p) return true;
      if (p === "/" ? v.startsWith("/") : v.startsWith(p) && v[p.length] === "/") return true;
    }
    return false;
  };
}

type Test = (v: string | number) => boolean;

function numberOf(text: string): number | undefined {
  const n = /^0[xX]/.test(text) ? Number.parseInt(text, 16) : Number(text);
  return Number.isFinite(n) ? n : undefined;
}

function cmpStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The comparison of one value against the right-hand side, for one operator. */
function scalarTest(
  op: string,
  rhs: string,
  numeric: boolean,
  fail: (message: string) => never,
): Test {
  if (numeric && ["=", "!=", "<", "<=", ">", ">="].includes(op)) {
    const n = numberOf(rhs);
    if (n === undefined) fail(`'${rhs}' is not a number`);
    switch (op) {
      case "=":
        return (v) => Number(v) === n;
      case "!=":
        return (v) => Number(v) !== n;
      case "<":
        return (v) => Number(v) < n;
      case "<=":
        return (v) => Number(v) <= n;
      case ">":
        return (v) => Number(v) > n;
      default:
        return (v) => Number(v) >= n;
    }
  }
  switch (op) {
    case "=":
      return (v) => String(v) === rhs;
    case "!=":
      return (v) => String(v) !== rhs;
    // libsinsp compares strings with strcmp for the ordering operators.
    case "<":
      return (v) => cmpStrings(String(v), rhs) < 0;
    case "<=":
      return (v) => cmpStrings(String(v), rhs) <= 0;
    case ">":
      return (v) => cmpStrings(String(v), rhs) > 0;
    case ">=":
      return (v) => cmpStrings(String(v), rhs) >= 0;
    case "contains":
      return (v) => String(v).includes(rhs);
    case "icontains": {
      const low = rhs.toLowerCase();
      return (v) => String(v).toLowerCase().includes(low);
    }
    case "startswith":
      return (v) => String(v).startsWith(rhs);
    case "endswith":
      return (v) => String(v).endsWith(rhs);
    case "glob": {
      const re = globToRegExp(rhs, false);
      return (v) => re.test(String(v));
    }
    case "iglob": {
      const re = globToRegExp(rhs, true);
      return (v) => re.test(String(v));
    }
    case "regex": {
      let re: RegExp;
      try {
        re = new RegExp(`^(?:${rhs})$`, "u");
      } catch (e) {
        fail(`invalid regular expression '${rhs}': ${(e as Error).message}`);
      }
      return (v) => re.test(String(v));
    }
    default:
      fail(`operator '${op}' is not supported by kaudit`);
  }
}

/** Compiles a condition tree (with its source, for error positions) into a predicate. */
export function compileCondition(
  scope: CompileScope,
  ast: ConditionNode,
  src: ConditionSource,
  use: MacroUse,
  stack: string[] = [],
): Predicate {
  const rec = (n: ConditionNode): Predicate => {
    switch (n.type) {
      case "and": {
        const parts = n.children.map(rec);
        if (parts.length === 2) {
          const [a, b] = parts as [Predicate, Predicate];
          return (c) => a(c) && b(c);
        }
        return (c) => {
          for (const p of parts) if (!p(c)) return false;
          return true;
        };
      }
      case "or": {
        const parts = n.children.map(rec);
        if (parts.length === 2) {
          const [a, b] = parts as [Predicate, Predicate];
          return (c) => a(c) || b(c);
        }
        return (c) => {
          for (const p of parts) if (p(c)) return true;
          return false;
        };
      }
      case "not": {
        const p = rec(n.child);
        return (c) => !p(c);
      }
      case "macro": {
        const m = scope.macro(n.name, use);
        if (m === undefined) {
          throw new CompileError(`Undefined macro '${n.name}' used in filter.`, n, src);
        }
        if (stack.includes(n.name)) {
          throw new CompileError(`Macro '${n.name}' refers to itself`, n, src);
        }
        // A macro compiles to the same predicate wherever it is used (its own visibility decides
        // what it sees), so it is compiled once and its result remembered for the event.
        let shared = scope.compiledMacros.get(n.name);
        if (shared === undefined) {
          shared = { slot: scope.compiledMacros.size };
          scope.compiledMacros.set(n.name, shared);
          shared.predicate = compileCondition(
            scope,
            m.ast,
            m.src,
            { kind: "macro", name: n.name },
            [...stack, n.name],
          );
        }
        const { slot } = shared;
        const predicate = shared.predicate;
        if (predicate === undefined) {
          throw new CompileError(`Macro '${n.name}' refers to itself`, n, src);
        }
        return (c) => c.memo(slot, predicate);
      }
      case "check":
        return compileCheck(scope, n, src);
    }
  };
  return rec(ast);
}

function compileCheck(
  scope: CompileScope,
  n: Extract<ConditionNode, { type: "check" }>,
  src: ConditionSource,
): Predicate {
  const f = resolveField(scope, n.field, src);
  const fail = (message: string): never => {
    throw new CompileError(message, n, src);
  };
  const multi = f.spec.list && f.arg?.index === undefined;
  const numeric = f.spec.numeric === true;
  if (n.op === "exists") return (c) => c.value(f) !== undefined;

  let rhs: string[];
  if (n.value === undefined) fail(`operator '${n.op}' needs a value`);
  if (n.value!.kind === "list") {
    rhs = [];
    expandItems(scope, n.value!.items, rhs, new Set());
  } else {
    const item = n.value!.item;
    if (n.op === "in" || n.op === "intersects" || n.op === "pmatch") {
      rhs = [];
      expandItems(scope, [item], rhs, new Set());
    } else rhs = [item.value];
  }

  if (n.op === "in" || n.op === "intersects" || n.op === "pmatch") {
    let member: Test;
    if (n.op === "pmatch") {
      const m = pathPrefixMatcher(rhs);
      member = (v) => m(String(v));
    } else if (numeric) {
      const set = new Set(rhs.map((r) => numberOf(r)).filter((x) => x !== undefined));
      member = (v) => set.has(Number(v));
    } else {
      const set = new Set(rhs);
      member = (v) => set.has(String(v));
    }
    if (!f.spec.list) {
      if (n.op !== "pmatch" && !numeric) {
        // The common case (`ka.verb in (create, update)`), without the extra call.
        const set = new Set(rhs);
        return (c) => {
          const v = c.value(f);
          return typeof v === "string" ? set.has(v) : v !== undefined && set.has(String(v));
        };
      }
      return (c) => {
        const v = c.value(f) as string | number | undefined;
        return v !== undefined && member(v);
      };
    }
    // A list field is `in` a set when all its values are; it `intersects` when one is.
    if (n.op === "in") {
      return (c) => {
        const v = c.value(f) as string[] | undefined;
        if (v === undefined) return false;
        for (const x of v) if (!member(x)) return false;
        return true;
      };
    }
    return (c) => {
      const v = c.value(f) as string[] | undefined;
      if (v === undefined) return false;
      for (const x of v) if (member(x)) return true;
      return false;
    };
  }

  if (n.value!.kind === "list") fail(`operator '${n.op}' takes a single value, not a list`);
  const test = scalarTest(n.op, rhs[0]!, numeric, fail);
  if (!f.spec.list && !numeric && (n.op === "=" || n.op === "!=")) {
    const want = rhs[0]!;
    if (n.op === "=") {
      return (c) => {
        const v = c.value(f);
        return typeof v === "string" ? v === want : v !== undefined && String(v) === want;
      };
    }
    return (c) => {
      const v = c.value(f);
      return typeof v === "string" ? v !== want : v !== undefined && String(v) !== want;
    };
  }
  if (!f.spec.list) {
    return (c) => {
      const v = c.value(f) as string | number | undefined;
      return v !== undefined && test(v);
    };
  }
  if (multi) {
    scope.warn(
      "KAUDIT_LIST_OPERATOR",
      `list filter '${f.key}' only supports operators 'exists', 'in' and 'intersects' in Falco; kaudit applies '${n.op}' to each value (true when one matches)`,
      n,
      src,
    );
  }
  return (c) => {
    const v = c.value(f) as string[] | undefined;
    if (v === undefined) return false;
    for (const x of v) if (test(x)) return true;
    return false;
  };
}

/** Renders a field value for text output, as Falco prints it. */
export function renderValue(v: FieldValue, list: boolean): string {
  if (v === undefined) return "<NA>";
  if (Array.isArray(v)) return `(${v.join(",")})`;
  if (list) return `(${v})`;
  return String(v);
}
