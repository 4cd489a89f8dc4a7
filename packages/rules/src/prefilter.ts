/**
 * The values a field must have for a condition to hold, read off the condition's structure —
 * Falco's engine indexes rules by event type the same way. Used to skip, per event, the rules
 * that require another `ka.target.resource` without evaluating them.
 */
import type { ConditionNode, ValueItem } from "./condition-parser";

/**
 * The set of values `field` must take for `ast` to be true, or undefined when the condition does
 * not pin it down. Only `field = v`, `field in (...)` and `intersects` on a single-valued field
 * count; `and` intersects, `or` unites, `not` tells nothing.
 */
export function requiredValues(
  ast: ConditionNode,
  field: string,
  macro: (name: string) => ConditionNode | undefined,
  lists: ReadonlyMap<string, readonly string[]>,
): Set<string> | undefined {
  const seen = new Set<string>();
  const expand = (items: readonly ValueItem[], out: Set<string>, depth = 0): void => {
    for (const it of items) {
      const list = it.quoted || depth > 20 ? undefined : lists.get(it.value);
      if (list === undefined) out.add(it.value);
      else
        expand(
          list.map((value) => ({ value, quoted: false, at: it.at })),
          out,
          depth + 1,
        );
    }
  };
  const rec = (n: ConditionNode): Set<string> | undefined => {
    switch (n.type) {
      case "check": {
        if (n.field.name !== field || n.field.arg !== undefined || n.value === undefined)
          return undefined;
        if (n.op === "=" && n.value.kind === "value") return new Set([n.value.item.value]);
        if (n.op === "in" || n.op === "intersects") {
          const out = new Set<string>();
          expand(n.value.kind === "list" ? n.value.items : [n.value.item], out);
          return out;
        }
        return undefined;
      }
      case "and": {
        let acc: Set<string> | undefined;
        for (const ch of n.children) {
          const r = rec(ch);
          if (r === undefined) continue;
          acc = acc === undefined ? r : new Set([...acc].filter((v) => r.has(v)));
        }
        return acc;
      }
      case "or": {
        const acc = new Set<string>();
        for (const ch of n.children) {
          const r = rec(ch);
          if (r === undefined) return undefined;
          for (const v of r) acc.add(v);
        }
        return acc;
      }
      case "macro": {
        if (seen.has(n.name)) return undefined;
        const m = macro(n.name);
        if (m === undefined) return undefined;
        seen.add(n.name);
        const r = rec(m);
        seen.delete(n.name);
        return r;
      }
      default:
        return undefined;
    }
  };
  return rec(ast);
}
