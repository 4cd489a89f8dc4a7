import { KauditError } from "@kaudit/api";

/** The kind of rules-file item a problem belongs to, as Falco names them in its messages. */
export type ItemKind =
  | "rules content"
  | "required_engine_version"
  | "required_plugin_versions"
  | "list"
  | "macro"
  | "rule"
  | "kaudit.time_window";

/** Where a problem is: the file, a 1-based line and column, and the item it belongs to. */
export interface RulesPosition {
  file: string;
  line: number;
  column: number;
  /** The item, e.g. `{ kind: "rule", name: "Create Privileged Pod" }`. */
  item?: { kind: ItemKind; name: string } | undefined;
  /** The part of the item, e.g. `condition`, `output`, `exceptions`. */
  part?: string | undefined;
}

/** A warning found while loading rules (Falco's wording where it has one). */
export interface RulesWarning extends RulesPosition {
  /** Falco's warning code, e.g. `LOAD_UNKNOWN_KEY`, or a `KAUDIT_` one. */
  code: string;
  message: string;
}

/** `file:line:col: rule 'X': condition: message` — the parts that are known. */
export function formatPosition(p: RulesPosition, message: string): string {
  const parts = [`${p.file}:${p.line}:${p.column}`];
  if (p.item) parts.push(p.item.name === "" ? p.item.kind : `${p.item.kind} '${p.item.name}'`);
  if (p.part) parts.push(p.part);
  parts.push(message);
  return parts.join(": ");
}

/**
 * A rules file that cannot be loaded: names the file, line, column, item and what is wrong,
 * in Falco's words where Falco has them (`Undefined macro 'x' used in filter.`,
 * `filter_check called with nonexistent field ka.foo`, parser messages at a column).
 */
export class RulesError extends KauditError {
  /** Falco's error code: LOAD_ERR_YAML_PARSE, LOAD_ERR_YAML_VALIDATE, LOAD_ERR_COMPILE_CONDITION, ... */
  readonly code: string;
  readonly position: RulesPosition;
  /** The message without the position. */
  readonly reason: string;

  constructor(code: string, reason: string, position: RulesPosition) {
    super(formatPosition(position, reason), { name: "RulesError" });
    this.code = code;
    this.reason = reason;
    this.position = position;
  }
}
