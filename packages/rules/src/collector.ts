/**
 * Reads rules files item by item and merges them the way Falco's rule loader does: later files
 * define, append to (`append: true`, `override: {key: append}`), replace parts of
 * (`override: {key: replace}`) or enable/disable earlier items. Messages are Falco's
 * (userspace/engine/rule_loader_reader.cpp, rule_loader_collector.cpp).
 */
import type { Node, YAMLMap } from "yaml";
import { type ItemKind, RulesError, type RulesPosition, type RulesWarning } from "./errors";
import {
  child,
  isMap,
  isScalar,
  isSeq,
  keysOf,
  type Located,
  nodeStart,
  readItems,
  type SourceFile,
} from "./yaml-source";

/** A piece of condition/output text and the scalar it came from (several after appends). */
export interface Segment {
  start: number;
  loc: Located;
}

/** Text assembled from one or more scalars. */
export interface Pieced {
  text: string;
  segments: Segment[];
}

/** One entry of an exception's fields/comps/values: a string or a list of entries. */
export interface ExceptionEntry {
  item?: string;
  items?: ExceptionEntry[];
}

/** An exception as written. */
export interface ExceptionInfo {
  name: string;
  fields?: ExceptionEntry | undefined;
  comps?: ExceptionEntry | undefined;
  values: ExceptionEntry[];
  pos: RulesPosition;
}

export interface ListInfo {
  name: string;
  items: string[];
  index: number;
  visibility: number;
  pos: RulesPosition;
}

export interface MacroInfo {
  name: string;
  cond: Pieced;
  index: number;
  visibility: number;
  pos: RulesPosition;
}

/** kaudit's extension keys of a rule (under `kaudit:`), kept as YAML for the compiler. */
export interface RuleExtension {
  loc: Located;
}

export interface RuleInfo {
  name: string;
  source: string;
  desc: string;
  cond: Pieced;
  output: Pieced;
  priority: number;
  enabled: boolean;
  tags: string[];
  exceptions: ExceptionInfo[];
  kaudit?: RuleExtension | undefined;
  index: number;
  pos: RulesPosition;
}

export interface TimeWindowInfo {
  name: string;
  loc: Located;
  pos: RulesPosition;
}

/** Falco's priorities, most severe first; the index is the priority number. */
export const PRIORITIES = [
  "Emergency",
  "Alert",
  "Critical",
  "Error",
  "Warning",
  "Notice",
  "Informational",
  "Debug",
] as const;

/** The priority number of a name (case-insensitive; `info` is Informational). */
export function parsePriority(v: string): number | undefined {
  const low = v.toLowerCase();
  if (low === "info") return 6;
  const i = PRIORITIES.findIndex((p) => p.toLowerCase() === low);
  return i < 0 ? undefined : i;
}

const WARNING_APPEND =
  "'append' key is deprecated. Add an 'append' entry (e.g. 'condition: append') under 'override' instead.";
const WARNING_ENABLED =
  "The standalone 'enabled' key usage is deprecated. The correct approach requires also a 'replace' entry under the 'override' key (i.e. 'enabled: replace').";
const ERROR_OVERRIDE_APPEND =
  "Keys 'override' and 'append: true' cannot be used together. Add an 'append' entry (e.g. 'condition: append') under 'override' instead.";

const LIST_KEYS = new Set(["list", "items", "append", "override"]);
const MACRO_KEYS = new Set(["macro", "condition", "append", "override"]);
const RULE_KEYS = new Set([
  "rule",
  "condition",
  "output",
  "desc",
  "priority",
  "source",
  "enabled",
  "capture",
  "capture_duration",
  "warn_evttypes",
  "skip-if-unknown-filter",
  "tags",
  "exceptions",
  "override",
  "append",
  "kaudit",
]);
const RULE_APPENDABLE = new Set(["condition", "output", "desc", "tags", "exceptions"]);
const RULE_REPLACEABLE = new Set([
  "condition",
  "output",
  "desc",
  "priority",
  "capture",
  "capture_duration",
  "tags",
  "exceptions",
  "enabled",
  "warn_evttypes",
  "skip-if-unknown-filter",
]);

/** Everything read from the files, merged. */
export class Collector {
  readonly lists = new Map<string, ListInfo>();
  readonly macros = new Map<string, MacroInfo>();
  readonly rules = new Map<string, RuleInfo>();
  readonly windows = new Map<string, TimeWindowInfo>();
  readonly warnings: RulesWarning[] = [];
  readonly files: SourceFile[] = [];
  requiredEngineVersion = 0;
  private index = 0;

  /** Reads one file's items in order. */
  addFile(name: string, text: string): void {
    const { file, items } = readItems(name, text);
    this.files.push(file);
    for (const item of items) this.readItem(item);
  }

  private pos(loc: Located, kind: ItemKind, itemName: string, part?: string): RulesPosition {
    return { file: loc.file.name, ...nodeStart(loc), item: { kind, name: itemName }, part };
  }

  private fail(code: string, message: string, pos: RulesPosition): never {
    throw new RulesError(code, message, pos);
  }

  private warn(code: string, message: string, pos: RulesPosition): void {
    this.warnings.push({ code, message, ...pos });
  }

  private at(loc: Located, node: Node | null | undefined): Located {
    return node === null || node === undefined ? loc : { file: loc.file, node };
  }

  /** A required (or optional) non-empty scalar, as a string. */
  private str(
    loc: Located,
    map: YAMLMap,
    key: string,
    pos: RulesPosition,
    optional = false,
  ): string | undefined {
    const v = child(map, key);
    if (v === undefined) {
      if (optional) return undefined;
      this.fail("LOAD_ERR_YAML_VALIDATE", `Item has no mapping for key '${key}'`, pos);
    }
    const vpos = { ...pos, ...nodeStart(this.at(loc, v)), part: key };
    if (v === null || (isScalar(v) && v.value === null)) {
      this.fail("LOAD_ERR_YAML_VALIDATE", `Mapping for key '${key}' is empty`, vpos);
    }
    if (!isScalar(v)) this.fail("LOAD_ERR_YAML_VALIDATE", "Value is not a scalar value", vpos);
    const s = String(v.value);
    if (s === "") this.fail("LOAD_ERR_YAML_VALIDATE", "Value must be non-empty", vpos);
    return s;
  }

  private bool(loc: Located, map: YAMLMap, key: string, pos: RulesPosition): boolean | undefined {
    const v = child(map, key);
    if (v === undefined) return undefined;
    const vpos = { ...pos, ...nodeStart(this.at(loc, v)), part: key };
    if (!isScalar(v)) this.fail("LOAD_ERR_YAML_VALIDATE", "Value is not a scalar value", vpos);
    const s = String(v.value).toLowerCase();
    if (s === "true") return true;
    if (s === "false") return false;
    this.fail("LOAD_ERR_YAML_VALIDATE", "Can't decode YAML scalar value", vpos);
  }

  private strings(
    loc: Located,
    map: YAMLMap,
    key: string,
    pos: RulesPosition,
    optional: boolean,
  ): string[] | undefined {
    const v = child(map, key);
    if (v === undefined) {
      if (optional) return undefined;
      this.fail("LOAD_ERR_YAML_VALIDATE", `Item has no mapping for key '${key}'`, pos);
    }
    const vpos = { ...pos, ...nodeStart(this.at(loc, v)), part: key };
    if (v === null || (isScalar(v) && v.value === null)) {
      if (optional) return [];
      this.fail("LOAD_ERR_YAML_VALIDATE", `Mapping for key '${key}' is empty`, vpos);
    }
    if (!isSeq(v)) this.fail("LOAD_ERR_YAML_VALIDATE", "Value is not a sequence", vpos);
    return v.items.map((it) => {
      if (!isScalar(it)) {
        this.fail("LOAD_ERR_YAML_VALIDATE", "sequence value is not scalar", {
          ...vpos,
          ...nodeStart(this.at(loc, it as Node)),
        });
      }
      return String(it.value);
    });
  }

  private pieced(loc: Located, map: YAMLMap, key: string): Pieced {
    const node = child(map, key)!;
    return {
      text: String((node as { value?: unknown }).value ?? ""),
      segments: [{ start: 0, loc: this.at(loc, node) }],
    };
  }

  private unknownKeys(map: YAMLMap, expected: Set<string>, pos: RulesPosition): void {
    for (const { key } of keysOf(map)) {
      if (!expected.has(key))
        this.warn("LOAD_UNKNOWN_KEY", `Unknown key '${key}'. The key will be ignored.`, pos);
    }
  }

  /** `override: {key: append|replace}`, validated against what the item kind allows. */
  private overrides(
    loc: Located,
    map: YAMLMap,
    appendable: Set<string>,
    replaceable: Set<string>,
    pos: RulesPosition,
  ): { append: Set<string>; replace: Set<string> } {
    const append = new Set<string>();
    const replace = new Set<string>();
    const v = child(map, "override");
    if (v === undefined || v === null) return { append, replace };
    if (!isMap(v))
      this.fail("LOAD_ERR_YAML_VALIDATE", "Value is not a mapping", { ...pos, part: "override" });
    for (const { key, keyNode, value } of keysOf(v)) {
      const kpos = { ...pos, ...nodeStart(this.at(loc, keyNode)), part: `override.${key}` };
      const op = isScalar(value) ? String(value.value) : "";
      if (op === "append") {
        if (!appendable.has(key))
          this.fail(
            "LOAD_ERR_YAML_VALIDATE",
            `Key '${key}' cannot be appended to, use 'replace' instead`,
            kpos,
          );
        append.add(key);
      } else if (op === "replace") {
        if (!replaceable.has(key))
          this.fail("LOAD_ERR_YAML_VALIDATE", `Key '${key}' cannot be replaced`, kpos);
        replace.add(key);
      } else {
        const allowed = `${appendable.has(key) ? "append " : ""}${replaceable.has(key) ? "replace " : ""}`;
        this.fail(
          "LOAD_ERR_YAML_VALIDATE",
          `Invalid override operation for key '${key}': '${op}'. Allowed values are: ${allowed}`,
          kpos,
        );
      }
    }
    return { append, replace };
  }

  private readItem(loc: Located): void {
    const node = loc.node;
    const base: RulesPosition = {
      file: loc.file.name,
      ...nodeStart(loc),
      item: { kind: "rules content", name: "" },
    };
    if (!isMap(node)) {
      this.fail(
        "LOAD_ERR_YAML_VALIDATE",
        "Unexpected element type. Each element should be a yaml associative array.",
        base,
      );
    }
    const map = node as YAMLMap;
    if (child(map, "required_engine_version") !== undefined) {
      const pos = this.pos(loc, "required_engine_version", "");
      const v = child(map, "required_engine_version");
      const text = isScalar(v) ? String(v.value) : "";
      // Falco accepts an integer or a semver; kaudit implements the language of engine 0.x.
      if (!/^\d+$/.test(text) && !/^\d+\.\d+\.\d+$/.test(text)) {
        this.fail("LOAD_ERR_YAML_VALIDATE", "Unable to parse engine version", {
          ...pos,
          part: "required_engine_version",
        });
      }
      return;
    }
    if (child(map, "required_plugin_versions") !== undefined) {
      const pos = this.pos(loc, "required_plugin_versions", "");
      const v = child(map, "required_plugin_versions");
      if (!isSeq(v))
        this.fail(
          "LOAD_ERR_YAML_VALIDATE",
          "Value of required_plugin_versions must be a sequence",
          pos,
        );
      for (const p of v.items) {
        if (!isMap(p)) this.fail("LOAD_ERR_YAML_VALIDATE", "Plugin version must be a mapping", pos);
        this.str(loc, p as YAMLMap, "name", pos);
        this.str(loc, p as YAMLMap, "version", pos);
      }
      return;
    }
    if (child(map, "list") !== undefined) {
      this.readList(loc, map);
      return;
    }
    if (child(map, "macro") !== undefined) {
      this.readMacro(loc, map);
      return;
    }
    if (child(map, "rule") !== undefined) {
      this.readRule(loc, map);
      return;
    }
    if (child(map, "kaudit.time_window") !== undefined) {
      const name = this.str(
        loc,
        map,
        "kaudit.time_window",
        this.pos(loc, "kaudit.time_window", ""),
      )!;
      this.windows.set(name, { name, loc, pos: this.pos(loc, "kaudit.time_window", name) });
      return;
    }
    this.warn("LOAD_UNKNOWN_ITEM", "Unknown top level item", base);
  }

  private readList(loc: Located, map: YAMLMap): void {
    const name = this.str(loc, map, "list", this.pos(loc, "list", ""))!;
    const pos = this.pos(loc, "list", name);
    if (!/^[^()"'\s=,]+$/.test(name)) {
      this.warn(
        "LOAD_INVALID_LIST_NAME",
        "List has an invalid name. List names should match a regular expression: ([^()\"'[:space:]=,]+)",
        pos,
      );
    }
    const items = this.strings(loc, map, "items", pos, false)!;
    let append = this.bool(loc, map, "append", pos) ?? false;
    if (append) this.warn("LOAD_DEPRECATED_ITEM", WARNING_APPEND, pos);
    const ov = this.overrides(loc, map, new Set(["items"]), new Set(["items"]), pos);
    if (append && ov.append.size + ov.replace.size > 0)
      this.fail("LOAD_ERR_VALIDATE", ERROR_OVERRIDE_APPEND, pos);
    append ||= ov.append.has("items");
    const id = this.index++;
    if (append) {
      const prev = this.lists.get(name);
      if (prev === undefined) {
        this.fail(
          "LOAD_ERR_VALIDATE",
          "List uses 'append' or 'override.items: append' but no list by that name already exists",
          pos,
        );
      }
      prev.items.push(...items);
      prev.visibility = id;
    } else {
      const prev = this.lists.get(name);
      this.lists.set(name, { name, items, index: prev?.index ?? id, visibility: id, pos });
    }
    this.unknownKeys(map, LIST_KEYS, pos);
  }

  private readMacro(loc: Located, map: YAMLMap): void {
    const name = this.str(loc, map, "macro", this.pos(loc, "macro", ""))!;
    const pos = this.pos(loc, "macro", name);
    if (!/^[a-zA-Z]+[a-zA-Z0-9_]*$/.test(name)) {
      this.warn(
        "LOAD_INVALID_MACRO_NAME",
        "Macro has an invalid name. Macro names should match a regular expression: ([a-zA-Z]+[a-zA-Z0-9_]*)",
        pos,
      );
    }
    this.str(loc, map, "condition", pos);
    const cond = this.pieced(loc, map, "condition");
    let append = this.bool(loc, map, "append", pos) ?? false;
    if (append) this.warn("LOAD_DEPRECATED_ITEM", WARNING_APPEND, pos);
    const ov = this.overrides(loc, map, new Set(["condition"]), new Set(["condition"]), pos);
    if (append && ov.append.size + ov.replace.size > 0)
      this.fail("LOAD_ERR_VALIDATE", ERROR_OVERRIDE_APPEND, pos);
    append ||= ov.append.has("condition");
    const id = this.index++;
    const prev = this.macros.get(name);
    if (append) {
      if (prev === undefined) {
        this.fail(
          "LOAD_ERR_VALIDATE",
          "Macro uses 'append' or 'override.condition: append' but no macro by that name already exists",
          pos,
        );
      }
      appendPieced(prev.cond, cond);
      prev.visibility = id;
    } else {
      this.macros.set(name, { name, cond, index: prev?.index ?? id, visibility: id, pos });
    }
    this.unknownKeys(map, MACRO_KEYS, pos);
  }

  private readExceptions(
    loc: Located,
    map: YAMLMap,
    pos: RulesPosition,
    append: boolean,
  ): ExceptionInfo[] | undefined {
    const v = child(map, "exceptions");
    if (v === undefined || v === null || (isScalar(v) && v.value === null))
      return v === undefined ? undefined : [];
    const xpos = { ...pos, ...nodeStart(this.at(loc, v)), part: "exceptions" };
    if (!isSeq(v)) this.fail("LOAD_ERR_YAML_VALIDATE", "Rule exceptions must be a sequence", xpos);
    const out: ExceptionInfo[] = [];
    for (const ex of v.items) {
      const epos = { ...xpos, ...nodeStart(this.at(loc, ex as Node)) };
      if (!isMap(ex)) this.fail("LOAD_ERR_YAML_VALIDATE", "Rule exception must be a mapping", epos);
      const name = this.str(loc, ex as YAMLMap, "name", epos)!;
      const npos = { ...epos, part: `exceptions '${name}'` };
      if (out.some((e) => e.name === name)) {
        this.warn(
          "LOAD_EXCEPTION_NAME_NOT_UNIQUE",
          `Multiple definitions of exception '${name}' in the same rule`,
          npos,
        );
      }
      const entry = (n: Node | null | undefined, what: string): ExceptionEntry | undefined => {
        if (n === undefined) return undefined;
        if (n === null)
          this.fail("LOAD_ERR_YAML_VALIDATE", `Mapping for key '${what}' is empty`, npos);
        if (isScalar(n)) {
          const s = String(n.value ?? "");
          if (s === "") this.fail("LOAD_ERR_YAML_VALIDATE", "Value must be non-empty", npos);
          return { item: s };
        }
        if (isSeq(n)) return { items: n.items.map((x) => entry(x as Node, what)!) };
        this.fail("LOAD_ERR_YAML_VALIDATE", "Could not decode scalar value", npos);
      };
      const fields = entry(child(ex as YAMLMap, "fields"), "fields");
      if (fields === undefined && !append)
        this.fail("LOAD_ERR_YAML_VALIDATE", "Item has no mapping for key 'fields'", npos);
      const comps = entry(child(ex as YAMLMap, "comps"), "comps");
      const valuesNode = child(ex as YAMLMap, "values");
      const values: ExceptionEntry[] = [];
      if (valuesNode !== undefined && valuesNode !== null) {
        if (!isSeq(valuesNode))
          this.fail("LOAD_ERR_YAML_VALIDATE", "Rule exception values must be a sequence", npos);
        for (const val of valuesNode.items) values.push(entry(val as Node, "values")!);
      } else if (append) {
        this.warn("LOAD_APPEND_NO_VALUES", "Overriding/appending exception with no values", npos);
      }
      out.push({ name, fields, comps, values, pos: npos });
    }
    return out;
  }

  private readRule(loc: Located, map: YAMLMap): void {
    const name = this.str(loc, map, "rule", this.pos(loc, "rule", ""))!;
    const pos = this.pos(loc, "rule", name);
    const sourceNode = child(map, "source");
    const source =
      sourceNode !== undefined && isScalar(sourceNode) ? String(sourceNode.value ?? "") : "";
    const hasAppend = this.bool(loc, map, "append", pos) ?? false;
    if (hasAppend) this.warn("LOAD_DEPRECATED_ITEM", WARNING_APPEND, pos);
    const ov = this.overrides(loc, map, RULE_APPENDABLE, RULE_REPLACEABLE, pos);
    const hasOverrides = ov.append.size + ov.replace.size > 0;
    if (hasAppend && hasOverrides) this.fail("LOAD_ERR_VALIDATE", ERROR_OVERRIDE_APPEND, pos);
    const kaudit = child(map, "kaudit");
    const ext = kaudit === undefined ? undefined : { loc: this.at(loc, kaudit) };
    const id = this.index++;
    const prevOf = () => {
      const prev = this.rules.get(name);
      if (prev !== undefined && prev.source !== "" && source !== "" && prev.source !== source) {
        this.fail("LOAD_ERR_VALIDATE", "Rule has been re-defined with a different source", pos);
      }
      return prev;
    };

    if (hasOverrides) {
      const expected = new Set<string>();
      for (const k of new Set([...RULE_APPENDABLE, ...RULE_REPLACEABLE]))
        if (child(map, k) !== undefined) expected.add(k);
      const take = (set: Set<string>, op: string, key: string): boolean => {
        if (!set.has(key)) return false;
        if (!expected.has(key)) {
          this.fail(
            "LOAD_ERR_VALIDATE",
            `An ${op} override for '${key}' was specified but '${key}' is not defined`,
            pos,
          );
        }
        expected.delete(key);
        return true;
      };
      const prev = prevOf();
      if (ov.append.size > 0) {
        if (prev === undefined) {
          this.fail(
            "LOAD_ERR_VALIDATE",
            "Rule uses 'append' or 'override.<key>: append' but no rule by that name already exists",
            pos,
          );
        }
        if (take(ov.append, "append", "condition")) {
          this.str(loc, map, "condition", pos);
          appendPieced(prev.cond, this.pieced(loc, map, "condition"));
        }
        if (take(ov.append, "append", "exceptions")) {
          this.appendExceptions(prev, this.readExceptions(loc, map, pos, true) ?? []);
        }
        if (take(ov.append, "append", "output")) {
          this.str(loc, map, "output", pos);
          appendPieced(prev.output, this.pieced(loc, map, "output"));
        }
        if (take(ov.append, "append", "desc")) prev.desc += ` ${this.str(loc, map, "desc", pos)}`;
        if (take(ov.append, "append", "tags")) {
          for (const t of this.strings(loc, map, "tags", pos, true) ?? [])
            if (!prev.tags.includes(t)) prev.tags.push(t);
        }
      }
      if (ov.replace.size > 0) {
        if (prev === undefined) {
          this.fail(
            "LOAD_ERR_VALIDATE",
            "An 'override.<key>: replace' to a rule was requested but no rule by that name already exists",
            pos,
          );
        }
        if (take(ov.replace, "replace", "condition")) {
          this.str(loc, map, "condition", pos);
          prev.cond = this.pieced(loc, map, "condition");
        }
        if (take(ov.replace, "replace", "exceptions"))
          prev.exceptions = this.readExceptions(loc, map, pos, false) ?? [];
        if (take(ov.replace, "replace", "output")) {
          this.str(loc, map, "output", pos);
          prev.output = trimPieced(this.pieced(loc, map, "output"));
        }
        if (take(ov.replace, "replace", "desc")) prev.desc = this.str(loc, map, "desc", pos)!;
        if (take(ov.replace, "replace", "tags"))
          prev.tags = this.strings(loc, map, "tags", pos, true) ?? [];
        if (take(ov.replace, "replace", "priority")) prev.priority = this.priority(loc, map, pos);
        if (take(ov.replace, "replace", "enabled"))
          prev.enabled = this.bool(loc, map, "enabled", pos)!;
        for (const k of ["capture", "capture_duration", "warn_evttypes", "skip-if-unknown-filter"])
          take(ov.replace, "replace", k);
      }
      for (const key of expected) {
        this.fail(
          "LOAD_ERR_VALIDATE",
          `Unexpected key '${key}': no corresponding entry under 'override' is defined.`,
          {
            ...pos,
            part: key,
          },
        );
      }
      if (ext) prev!.kaudit = ext;
    } else if (hasAppend) {
      const prev = prevOf();
      if (prev === undefined) {
        this.fail(
          "LOAD_ERR_VALIDATE",
          "Rule uses 'append' or 'override.<key>: append' but no rule by that name already exists",
          pos,
        );
      }
      const cond = child(map, "condition");
      const exceptions = this.readExceptions(loc, map, pos, true);
      if (cond === undefined && exceptions === undefined && ext === undefined) {
        this.fail(
          "LOAD_ERR_VALIDATE",
          "Appended rule must have exceptions or condition property",
          pos,
        );
      }
      if (cond !== undefined) {
        this.str(loc, map, "condition", pos);
        appendPieced(prev.cond, this.pieced(loc, map, "condition"));
      }
      if (exceptions !== undefined) this.appendExceptions(prev, exceptions);
      if (ext) prev.kaudit = ext;
    } else if (
      child(map, "condition") === undefined &&
      child(map, "output") === undefined &&
      child(map, "desc") === undefined &&
      child(map, "priority") === undefined
    ) {
      const prev = this.rules.get(name);
      if (ext !== undefined && child(map, "enabled") === undefined) {
        // kaudit: a later item may carry only the extension keys of an earlier rule.
        if (prev === undefined)
          this.fail(
            "LOAD_ERR_VALIDATE",
            "Rule has 'kaudit' key but no rule by that name already exists",
            pos,
          );
        prev.kaudit = ext;
      } else {
        const enabled = this.bool(loc, map, "enabled", pos);
        if (enabled === undefined)
          this.fail("LOAD_ERR_YAML_VALIDATE", "Item has no mapping for key 'enabled'", pos);
        this.warn("LOAD_DEPRECATED_ITEM", WARNING_ENABLED, pos);
        if (prev === undefined)
          this.fail(
            "LOAD_ERR_VALIDATE",
            "Rule has 'enabled' key but no rule by that name already exists",
            pos,
          );
        prev.enabled = enabled;
        if (ext) prev.kaudit = ext;
      }
    } else {
      this.str(loc, map, "condition", pos);
      const cond = this.pieced(loc, map, "condition");
      this.str(loc, map, "output", pos);
      const output = trimPieced(this.pieced(loc, map, "output"));
      const desc = this.str(loc, map, "desc", pos)!;
      const priority = this.priority(loc, map, pos);
      const prev = prevOf();
      const info: RuleInfo = {
        name,
        source: source === "" ? "syscall" : source,
        desc,
        cond,
        output,
        priority,
        enabled: this.bool(loc, map, "enabled", pos) ?? true,
        tags: this.strings(loc, map, "tags", pos, true) ?? [],
        exceptions: this.readExceptions(loc, map, pos, false) ?? [],
        kaudit: ext,
        index: prev?.index ?? id,
        pos,
      };
      for (const ex of info.exceptions) {
        if (ex.fields === undefined) {
          this.fail(
            "LOAD_ERR_VALIDATE",
            "Rule exception item must have fields property with a list of fields",
            ex.pos,
          );
        }
      }
      this.rules.set(name, info);
    }
    this.unknownKeys(map, RULE_KEYS, pos);
  }

  private priority(loc: Located, map: YAMLMap, pos: RulesPosition): number {
    const text = this.str(loc, map, "priority", pos)!;
    const p = parsePriority(text);
    if (p === undefined) {
      this.fail("LOAD_ERR_VALIDATE", "Invalid priority", {
        ...pos,
        ...nodeStart(this.at(loc, child(map, "priority"))),
        part: "priority",
      });
    }
    return p;
  }

  private appendExceptions(prev: RuleInfo, exceptions: ExceptionInfo[]): void {
    for (const ex of exceptions) {
      const have = prev.exceptions.find((e) => e.name === ex.name);
      if (have === undefined) {
        if (ex.fields === undefined) {
          this.fail(
            "LOAD_ERR_VALIDATE",
            "Rule exception must have fields property with a list of fields",
            ex.pos,
          );
        }
        if (ex.values.length === 0) {
          this.fail(
            "LOAD_ERR_VALIDATE",
            "Rule exception must have values property with a list of values",
            ex.pos,
          );
        }
        prev.exceptions.push(ex);
      } else {
        if (ex.fields !== undefined) {
          this.fail(
            "LOAD_ERR_VALIDATE",
            "Can not append exception fields to existing exception, only values",
            ex.pos,
          );
        }
        if (ex.comps !== undefined) {
          this.fail(
            "LOAD_ERR_VALIDATE",
            "Can not append exception comps to existing exception, only values",
            ex.pos,
          );
        }
        have.values.push(...ex.values);
      }
    }
  }
}

function appendPieced(to: Pieced, more: Pieced): void {
  const start = to.text.length + 1;
  to.text += ` ${more.text}`;
  for (const s of more.segments) to.segments.push({ start: start + s.start, loc: s.loc });
}

function trimPieced(p: Pieced): Pieced {
  const lead = p.text.length - p.text.trimStart().length;
  return {
    text: p.text.trim(),
    segments: p.segments.map((s) => ({ start: s.start - lead, loc: s.loc })),
  };
}
