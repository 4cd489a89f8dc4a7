/**
 * Compiling collected rules into a {@link RuleSet} and evaluating events against it.
 */
import { KauditError } from "@kaudit/api";
import type { YAMLMap } from "yaml";
import {
  type Collector,
  type ExceptionEntry,
  type Pieced,
  PRIORITIES,
  type RuleInfo,
} from "./collector";
import {
  CompileError,
  type CompileScope,
  type ConditionSource,
  compileCondition,
  type Predicate,
  resolveField,
} from "./compile";
import { type ConditionNode, ConditionSyntaxError, parseCondition } from "./condition-parser";
import { RulesError, type RulesPosition, type RulesWarning } from "./errors";
import { EvalContext, type FieldAccessor } from "./eval-context";
import { clockTime, type EventTime, isoTime, parseEventTime, timeMs } from "./event-time";
import { FIELDS, type FieldArg, type FieldValue } from "./fields";
import { isTimeZone } from "./local-time";
import {
  compileOutput,
  jsonValue,
  OutputError,
  type OutputTemplate,
  outputFields,
  renderOutput,
} from "./output";
import { requiredValues } from "./prefilter";
import { type RuleWindows, ThresholdState, type ThresholdStats } from "./threshold";
import {
  compileTimeWindow,
  isWeekday,
  parseDuration,
  parseHours,
  type TimeWindow,
} from "./time-window";
import {
  child,
  isMap,
  keysOf,
  type Located,
  lineCol,
  nodeStart,
  scalarOffset,
} from "./yaml-source";

/** The only event source kaudit evaluates. */
export const K8S_AUDIT_SOURCE = "k8s_audit";

/** An alert, shaped like a line of Falco's `json_output`. */
export interface Alert {
  /** The event time (its stageTimestamp), ISO 8601 with nanoseconds. */
  time: string;
  rule: string;
  /** `Emergency` ... `Debug`, as Falco prints it. */
  priority: string;
  source: "k8s_audit";
  /** `<hh:mm:ss.nnnnnnnnn>: <Priority> <message>`, Falco's `output`. */
  output: string;
  /** Every field of the rule's output template by name (`null` when the event lacks it). */
  output_fields: Record<string, string | number | string[] | null>;
  tags: string[];
  /** kaudit extension, present on alerts of threshold rules only. */
  kaudit?: ThresholdAlert;
}

/**
 * What a threshold alert adds: the key it was counted per (`by` fields and their values, as
 * `output_fields` renders them — Alertmanager labels), the count, the window and its first event.
 */
export interface ThresholdAlert {
  key: Record<string, string | number | string[] | null>;
  /** Events (or distinct values) counted within the window. */
  count: number;
  /** The window length in milliseconds; the key stays quiet that long after firing. */
  window_ms: number;
  /** Time of the first counted event (RFC 3339, nanoseconds). */
  first: string;
}

/** A loaded rule as `--list` shows it. */
export interface RuleSummary {
  name: string;
  desc: string;
  priority: string;
  enabled: boolean;
  tags: string[];
  file: string;
  line: number;
  threshold?:
    | { count: number; window_ms: number; by: string[]; distinct?: string | undefined }
    | undefined;
  inside?: string[] | undefined;
  outside?: string[] | undefined;
}

/** Options of {@link loadRules}. */
export interface LoadOptions {
  /** Time zone of `kaudit.hour`, `kaudit.weekday` and time windows without one (default `UTC`). */
  timeZone?: string;
  /** Threshold counters to continue from (a previous rule set's `state`), for reloads. */
  state?: ThresholdState;
  /** Most keys per threshold rule when no `state` is given (default 10,000). */
  maxKeys?: number;
  /**
   * Skip rules that require another `ka.target.resource` / `ka.verb` without evaluating them
   * (default true). Off evaluates every rule on every event: same alerts, slower.
   */
  index?: boolean;
  /** `all` (default): every matching rule alerts; `first`: only the first, as Falco's `rule_matching: first`. */
  ruleMatching?: "all" | "first";
}

/** An event the rules cannot read, in Falco's words. */
export class UnreadableEventError extends KauditError {
  constructor(message: string) {
    super(message, { name: "UnreadableEventError" });
  }
}

/** Counters of a rule set. */
export interface RuleSetStats {
  events: number;
  unreadable: number;
  alerts: number;
  thresholds: ThresholdStats;
}

interface ThresholdRuntime {
  count: number;
  windowMs: number;
  by: FieldAccessor[];
  distinct: FieldAccessor | undefined;
  windows: RuleWindows;
}

interface CompiledRule {
  info: RuleInfo;
  priorityName: string;
  predicate: Predicate;
  output: OutputTemplate;
  threshold?: ThresholdRuntime | undefined;
  inside?: TimeWindow[] | undefined;
  outside?: TimeWindow[] | undefined;
  inactiveWindows: boolean;
  sortedTags: string[];
  /** The `ka.target.resource` values the condition requires (undefined: any). */
  resources?: Set<string> | undefined;
  /** The `ka.verb` values the condition requires (undefined: any). */
  verbs?: Set<string> | undefined;
}

function sourceOf(
  p: Pieced,
  kind: RulesPosition["item"],
  part: string,
): ConditionSource & { locate(offset: number): RulesPosition } {
  return {
    id: `${kind?.kind}:${kind?.name}:${part}`,
    locate(offset: number) {
      let seg = p.segments[0]!;
      for (const s of p.segments) if (s.start <= offset) seg = s;
      const at = lineCol(seg.loc.file, scalarOffset(seg.loc, offset - seg.start));
      return { file: seg.loc.file.name, ...at, item: kind, part };
    },
  };
}

type Located2 = ConditionSource & { locate(offset: number): RulesPosition };

function quoteItem(e: string): string {
  return e.includes(" ") && e[0] !== '"' && e[0] !== "'" ? `"${e}"` : e;
}

function fieldName(f: string): string {
  const b = f.indexOf("[");
  return b < 0 ? f : f.slice(0, b);
}

/** A rule set compiled from rules files. Create with {@link loadRules}. */
export class RuleSet {
  /** Load warnings (Falco's codes and wording). */
  readonly warnings: RulesWarning[];
  /** Rules of sources other than k8s_audit: skipped, counted by source. */
  readonly skipped: { rules: number; bySource: Record<string, number> };
  /** Threshold counters; pass to the next loadRules to keep them across a reload. */
  readonly state: ThresholdState;
  readonly timeZone: string;
  private readonly compiled: CompiledRule[];
  private readonly ctx: EvalContext;
  private readonly first: boolean;
  private readonly useIndex: boolean;
  private counters = { events: 0, unreadable: 0, alerts: 0 };
  private readonly macroAsts = new Map<string, { ast: ConditionNode; src: Located2 }>();
  /** The candidate rules per (resource, verb) of an event, built on first sight. */
  private readonly byKey = new Map<string, CompiledRule[]>();
  private allActive: CompiledRule[] = [];
  private resourceField!: FieldAccessor;
  private verbField!: FieldAccessor;

  /** @internal use {@link loadRules} */
  constructor(col: Collector, options: LoadOptions) {
    this.timeZone = options.timeZone ?? "UTC";
    if (!isTimeZone(this.timeZone))
      throw new RangeError(`unknown time zone ${JSON.stringify(this.timeZone)}`);
    this.state =
      options.state ??
      new ThresholdState(options.maxKeys === undefined ? {} : { maxKeys: options.maxKeys });
    this.first = options.ruleMatching === "first";
    this.useIndex = options.index !== false;
    this.warnings = col.warnings;
    const accessors = new Map<string, FieldAccessor>();
    const accessor = (
      spec: FieldAccessor["spec"],
      arg: FieldArg | undefined,
      key: string,
    ): FieldAccessor => {
      let a = accessors.get(key);
      if (a === undefined) {
        a = { spec, arg, key, slot: accessors.size };
        accessors.set(key, a);
      }
      return a;
    };

    // Macros: parse all (syntax errors anywhere are errors), check their references.
    const macroAst = this.macroAsts;
    for (const m of col.macros.values()) {
      const src = sourceOf(m.cond, { kind: "macro", name: m.name }, "condition");
      macroAst.set(m.name, { ast: parseOrThrow(m.cond.text, src), src });
    }
    for (const m of col.macros.values()) {
      const { ast, src } = macroAst.get(m.name)!;
      walkMacros(ast, (name, at) => {
        const ref = col.macros.get(name);
        if (ref === undefined || ref.index >= m.visibility) {
          throw new RulesError(
            "LOAD_ERR_COMPILE_CONDITION",
            `Undefined macro '${name}' used in filter.`,
            src.locate(at),
          );
        }
      });
    }
    const lists = new Map<string, readonly string[]>();
    for (const l of col.lists.values()) lists.set(l.name, l.items);

    const compiledMacros = new Map<string, { slot: number; predicate?: Predicate }>();
    const scope: CompileScope = {
      lists,
      macro: (name, use) => {
        const m = macroAst.get(name);
        if (m === undefined) return undefined;
        if (use.kind === "macro") {
          const user = col.macros.get(use.name)!;
          if (col.macros.get(name)!.index >= user.visibility) return undefined;
        }
        return m;
      },
      accessor,
      compiledMacros,
      warn: (code, message, node, src) => {
        this.warnings.push({ code, message, ...(src as Located2).locate(node.at) });
      },
    };

    const windows = new Map<string, TimeWindow>();
    for (const w of col.windows.values()) windows.set(w.name, this.compileWindow(w.loc, w.pos));

    this.compiled = [];
    const bySource: Record<string, number> = {};
    let skippedRules = 0;
    for (const r of col.rules.values()) {
      if (r.source !== K8S_AUDIT_SOURCE) {
        skippedRules++;
        bySource[r.source] = (bySource[r.source] ?? 0) + 1;
        continue;
      }
      this.compiled.push(this.compileRule(r, scope, windows));
    }
    this.skipped = { rules: skippedRules, bySource };
    if (skippedRules > 0) {
      this.warnings.push({
        code: "LOAD_UNKNOWN_SOURCE",
        message: `${skippedRules} rule(s) of other sources skipped (${Object.entries(bySource)
          .map(([s, n]) => `${s}: ${n}`)
          .join(", ")})`,
        file: col.files[0]?.name ?? "",
        line: 1,
        column: 1,
      });
    }
    this.state.retain(new Set(this.compiled.filter((c) => c.threshold).map((c) => c.info.name)));
    this.resourceField = accessor(
      FIELDS.get("ka.target.resource")!,
      undefined,
      "ka.target.resource",
    );
    this.verbField = accessor(FIELDS.get("ka.verb")!, undefined, "ka.verb");
    this.allActive = this.active();
    this.ctx = new EvalContext(accessors.size, this.timeZone, compiledMacros.size);
  }

  private compileRule(
    r: RuleInfo,
    scope: CompileScope,
    windows: Map<string, TimeWindow>,
  ): CompiledRule {
    const item = { kind: "rule" as const, name: r.name };
    const condSrc = sourceOf(r.cond, item, "condition");
    let predicate: Predicate;
    let resources: Set<string> | undefined;
    let verbs: Set<string> | undefined;
    try {
      const ast = parseOrThrow(r.cond.text, condSrc);
      verbs = requiredValues(ast, "ka.verb", (name) => this.macroAsts.get(name)?.ast, scope.lists);
      resources = requiredValues(
        ast,
        "ka.target.resource",
        (name) => this.macroAsts.get(name)?.ast,
        scope.lists,
      );
      const parts: Predicate[] = [compileCondition(scope, ast, condSrc, { kind: "rule" })];
      for (const ex of r.exceptions) {
        const text = this.exceptionCondition(ex);
        if (text === "") continue;
        const exSrc: Located2 = { id: `exception:${r.name}:${ex.name}`, locate: () => ex.pos };
        const exAst = parseOrThrow(text, exSrc);
        const p = compileCondition(scope, exAst, exSrc, { kind: "rule" });
        parts.push((c) => !p(c));
      }
      predicate =
        parts.length === 1
          ? parts[0]!
          : (c) => {
              for (const p of parts) if (!p(c)) return false;
              return true;
            };
    } catch (e) {
      if (e instanceof CompileError) {
        throw new RulesError(
          "LOAD_ERR_COMPILE_CONDITION",
          e.message,
          (e.src as Located2).locate(e.node.at),
        );
      }
      throw e;
    }
    const outSrc = sourceOf(r.output, item, "output");
    let output: OutputTemplate;
    try {
      output = compileOutput(r.output.text, (name, arg, offset) => {
        try {
          return resolveField(scope, { name, arg, at: offset }, outSrc);
        } catch (e) {
          if (e instanceof CompileError) throw new OutputError(e.message, offset);
          throw e;
        }
      });
    } catch (e) {
      if (e instanceof OutputError)
        throw new RulesError("LOAD_ERR_COMPILE_OUTPUT", e.message, outSrc.locate(e.offset));
      throw e;
    }
    const compiled: CompiledRule = {
      info: r,
      priorityName: PRIORITIES[r.priority]!,
      predicate,
      output,
      inactiveWindows: false,
      sortedTags: [...r.tags].sort(),
      resources,
      verbs,
    };
    if (r.kaudit !== undefined) this.compileExtension(compiled, r.kaudit.loc, scope, windows);
    return compiled;
  }

  /** Falco's rule_loader_compiler: the exception as `(field comp value ...)` text. */
  private exceptionCondition(ex: RuleInfo["exceptions"][number]): string {
    const fail = (m: string): never => {
      throw new RulesError("LOAD_ERR_VALIDATE", m, ex.pos);
    };
    const fields = ex.fields!;
    const isListOp = (op: string) => op === "in" || op === "intersects" || op === "pmatch";
    const validField = (f: string) => {
      if (!FIELDS.has(fieldName(f))) fail(`'${f}' is not a supported filter field`);
    };
    const validOp = (op: string) => {
      const ops = [
        "exists",
        "<=",
        "<",
        ">=",
        ">",
        "==",
        "=",
        "!=",
        "glob",
        "iglob",
        "contains",
        "icontains",
        "startswith",
        "endswith",
        "regex",
        "intersects",
        "in",
        "pmatch",
      ];
      if (!ops.includes(op)) fail(`'${op}' is not a supported comparison operator`);
    };
    if (fields.items === undefined) {
      if (ex.comps?.items !== undefined) fail("Fields and comps must both be strings");
      const comp = (ex.comps?.item ?? "in").trim();
      if (!isListOp(comp)) {
        fail(
          "When fields is a single value, comps must be one of (in, pmatch, intersects) or a modifier operator (e.g. startswith oneof)",
        );
      }
      validField(fields.item!);
      const vals: string[] = [];
      for (const v of ex.values) {
        if (v.items !== undefined) fail("Expected values array to contain a list of strings");
        vals.push(quoteItem(v.item!));
      }
      return vals.length === 0 ? "" : `(${fields.item} ${comp} (${vals.join(", ")}))`;
    }
    const names = fields.items.map((f) => f.item ?? "");
    const comps = ex.comps?.items?.map((c) => (c.item ?? "").trim()) ?? names.map(() => "=");
    if (ex.comps !== undefined && ex.comps.items === undefined)
      fail("Fields and comps lists must have equal length");
    if (comps.length !== names.length) fail("Fields and comps lists must have equal length");
    for (const c of comps) validOp(c);
    for (const f of names) validField(f);
    const alts: string[] = [];
    for (const tuple of ex.values) {
      const vals: ExceptionEntry[] = tuple.items ?? [tuple];
      if (vals.length !== names.length) fail("Fields and values lists must have equal length");
      const checks = names.map((f, k) => {
        const v = vals[k]!;
        let rhs: string;
        if (v.items !== undefined)
          rhs = `(${v.items.map((x) => quoteItem(x.item ?? "")).join(", ")})`;
        else if (isListOp(comps[k]!)) rhs = v.item!.startsWith("(") ? v.item! : `(${v.item})`;
        else rhs = quoteItem(v.item!);
        return ` ${f} ${comps[k]} ${rhs}`;
      });
      alts.push(`(${checks.join(" and ")})`);
    }
    return alts.length === 0 ? "" : `(${alts.join(" or ")})`;
  }

  private compileWindow(loc: Located, pos: RulesPosition): TimeWindow {
    const map = loc.node as YAMLMap;
    const fail = (m: string, node?: unknown): never => {
      const at = node ? nodeStart({ file: loc.file, node: node as Located["node"] }) : {};
      throw new RulesError("LOAD_ERR_EXTENSION", m, { ...pos, ...at });
    };
    const spec: Parameters<typeof compileTimeWindow>[0] = { name: pos.item!.name };
    for (const { key, value } of keysOf(map)) {
      const js = value === null ? null : (value as { toJSON(): unknown }).toJSON();
      if (key === "kaudit.time_window") continue;
      if (key === "periods") {
        if (!Array.isArray(js)) fail("periods must be a sequence of {from, to}", value);
        spec.periods = (js as unknown[]).map((p) => {
          const from = parseWhen((p as { from?: unknown })?.from);
          const to = parseWhen((p as { to?: unknown })?.to);
          if (from === undefined || to === undefined) {
            fail(
              "each period needs from and to as RFC 3339 times (2026-12-20T00:00:00Z) or dates (2026-12-20, UTC)",
              value,
            );
          }
          if (to! <= from!) fail("a period must end after it starts", value);
          return { from: from!, to: to! };
        });
      } else if (key === "weekdays") {
        if (
          !Array.isArray(js) ||
          !js.every((d) => typeof d === "string" && isWeekday(d.toLowerCase()))
        ) {
          fail("weekdays must be a sequence of mon, tue, wed, thu, fri, sat, sun", value);
        }
        spec.weekdays = (js as string[]).map((d) => d.toLowerCase());
      } else if (key === "hours") {
        const h = typeof js === "string" ? parseHours(js) : undefined;
        if (h === undefined) fail('hours must look like "09:00-18:00"', value);
        spec.hours = h;
      } else if (key === "time_zone") {
        if (typeof js !== "string" || !isTimeZone(js))
          fail(`unknown time zone ${JSON.stringify(js)}`, value);
        spec.timeZone = js as string;
      } else
        fail(`Unknown key '${key}' (a time window has periods, weekdays, hours, time_zone)`, value);
    }
    return compileTimeWindow(spec, this.timeZone);
  }

  private compileExtension(
    c: CompiledRule,
    loc: Located,
    scope: CompileScope,
    windows: Map<string, TimeWindow>,
  ): void {
    const pos: RulesPosition = { ...c.info.pos, ...nodeStart(loc), part: "kaudit" };
    const fail = (m: string): never => {
      throw new RulesError("LOAD_ERR_EXTENSION", m, pos);
    };
    if (!isMap(loc.node)) fail("kaudit must be a mapping (threshold, inside, outside)");
    const map = loc.node as YAMLMap;
    const src: Located2 = { id: `kaudit:${c.info.name}`, locate: () => pos };
    const field = (text: unknown): FieldAccessor => {
      if (typeof text !== "string") fail(`expected a field name, found ${JSON.stringify(text)}`);
      const m = /^([a-zA-Z]+[a-zA-Z0-9_]*(?:\.[a-zA-Z]+[a-zA-Z0-9_]*)+)(?:\[(.*)\])?$/.exec(
        text as string,
      );
      if (m === null) fail(`'${text}' is not a field`);
      try {
        return resolveField(scope, { name: m![1]!, arg: m![2], at: 0 }, src);
      } catch (e) {
        if (e instanceof CompileError) fail(e.message);
        throw e;
      }
    };
    const names = (key: string): TimeWindow[] | undefined => {
      const n = child(map, key);
      if (n === undefined) return undefined;
      const js = n === null ? [] : (n as { toJSON(): unknown }).toJSON();
      const list = typeof js === "string" ? [js] : js;
      if (!Array.isArray(list)) fail(`${key} must be a time window name or a sequence of them`);
      return (list as unknown[]).map((w) => {
        const tw = windows.get(String(w));
        if (tw === undefined)
          fail(
            `Undefined time window '${String(w)}' (define it with - kaudit.time_window: ${String(w)})`,
          );
        return tw!;
      });
    };
    for (const { key } of keysOf(map)) {
      if (!["threshold", "inside", "outside"].includes(key))
        fail(`Unknown key '${key}' (kaudit takes threshold, inside, outside)`);
    }
    c.inside = names("inside");
    c.outside = names("outside");
    c.inactiveWindows = (c.inside ?? []).length > 0 && c.inside!.every((w) => w.unconfigured);
    const th = child(map, "threshold");
    if (th !== undefined) {
      if (!isMap(th)) fail("threshold must be a mapping (count, window, by, distinct)");
      const js = (th as unknown as { toJSON(): Record<string, unknown> }).toJSON();
      for (const k of Object.keys(js)) {
        if (!["count", "window", "by", "distinct"].includes(k))
          fail(`Unknown key '${k}' in threshold (count, window, by, distinct)`);
      }
      const count = js.count;
      if (typeof count !== "number" || !Number.isInteger(count) || count < 1)
        fail("threshold.count must be a positive integer");
      const windowMs = parseDuration(js.window);
      if (windowMs === undefined) fail("threshold.window must be a duration like 30s, 1m, 5m, 1h");
      const byList = js.by === undefined ? [] : typeof js.by === "string" ? [js.by] : js.by;
      if (!Array.isArray(byList)) fail("threshold.by must be a field or a sequence of fields");
      const by = (byList as unknown[]).map(field);
      const distinct = js.distinct === undefined ? undefined : field(js.distinct);
      c.threshold = {
        count: count as number,
        windowMs: windowMs!,
        by,
        distinct,
        windows: this.state.windowsFor(c.info.name, {
          count: count as number,
          windowMs: windowMs!,
          by: by.map((b) => b.key),
          distinct: distinct?.key,
        }),
      };
    }
  }

  /** The loaded k8s_audit rules, in file order. */
  get rules(): RuleSummary[] {
    return this.compiled.map((c) => ({
      name: c.info.name,
      desc: c.info.desc,
      priority: c.priorityName,
      enabled: c.info.enabled && !c.inactiveWindows,
      tags: [...c.info.tags],
      file: c.info.pos.file,
      line: c.info.pos.line,
      threshold: c.threshold && {
        count: c.threshold.count,
        window_ms: c.threshold.windowMs,
        by: c.threshold.by.map((b) => b.key),
        distinct: c.threshold.distinct?.key,
      },
      inside: c.inside?.map((w) => w.name),
      outside: c.outside?.map((w) => w.name),
    }));
  }

  /** Events seen, events that could not be read, alerts raised, threshold keys held/evicted. */
  stats(): RuleSetStats {
    return { ...this.counters, thresholds: this.state.stats() };
  }

  /**
   * Evaluates one audit event (a decoded JSON object) against every enabled rule.
   * Throws {@link UnreadableEventError} for input that is not an audit event, with Falco's
   * wording (`data not recognized as a k8s audit event`, `can't read stageTimestamp`).
   */
  evaluate(event: unknown): Alert[] {
    if (event === null || typeof event !== "object" || Array.isArray(event)) {
      this.counters.unreadable++;
      throw new UnreadableEventError("data not recognized as a k8s audit event");
    }
    const ev = event as Record<string, unknown>;
    if (ev.kind !== undefined && ev.kind !== "Event") {
      this.counters.unreadable++;
      throw new UnreadableEventError("data not recognized as a k8s audit event");
    }
    // Falco needs stageTimestamp; kaudit also reads events of old logs that only kept
    // requestReceivedTimestamp or the pre-v1 `timestamp`.
    const time =
      parseEventTime(ev.stageTimestamp) ??
      (ev.stageTimestamp === undefined
        ? (parseEventTime(ev.requestReceivedTimestamp) ?? parseEventTime(ev.timestamp))
        : undefined);
    if (time === undefined) {
      this.counters.unreadable++;
      throw new UnreadableEventError(
        ev.stageTimestamp === undefined
          ? "can't read stageTimestamp"
          : `parsing time ${JSON.stringify(ev.stageTimestamp)} as RFC 3339 failed`,
      );
    }
    this.counters.events++;
    const c = this.ctx;
    c.reset(ev, time);
    let alerts: Alert[] | undefined;
    for (const r of this.candidates(c)) {
      if (!r.predicate(c)) continue;
      const alert = this.fire(r, c, time);
      if (alert === undefined) continue;
      if (alerts === undefined) alerts = [];
      alerts.push(alert);
      if (this.first) break;
    }
    if (alerts === undefined) return [];
    this.counters.alerts += alerts.length;
    return alerts;
  }

  private active(): CompiledRule[] {
    return this.compiled.filter((r) => r.info.enabled && !r.inactiveWindows);
  }

  /**
   * The rules that can match this event, in file order: those whose condition requires another
   * `ka.target.resource` or `ka.verb` are left out without being evaluated (Falco's engine
   * indexes rules by event type the same way).
   */
  private candidates(c: EvalContext): CompiledRule[] {
    if (!this.useIndex) return this.allActive;
    const res = c.value(this.resourceField);
    const verb = c.value(this.verbField);
    const r = typeof res === "string" ? res : undefined;
    const v = typeof verb === "string" ? verb : undefined;
    const key = `${r === undefined ? "\u0001" : r}\u0000${v === undefined ? "\u0001" : v}`;
    let list = this.byKey.get(key);
    if (list === undefined) {
      list = this.active().filter(
        (x) =>
          (x.resources === undefined || (r !== undefined && x.resources.has(r))) &&
          (x.verbs === undefined || (v !== undefined && x.verbs.has(v))),
      );
      // Resources and verbs are few; cap the cache anyway against hostile input.
      if (this.byKey.size < 4096) this.byKey.set(key, list);
    }
    return list;
  }

  private fire(r: CompiledRule, c: EvalContext, time: EventTime): Alert | undefined {
    if (r.inside !== undefined || r.outside !== undefined) {
      const at = requestTime(c, time);
      if (r.inside !== undefined && r.inside.length > 0 && !r.inside.some((w) => w.open(at)))
        return undefined;
      if (r.outside?.some((w) => w.open(at))) return undefined;
    }
    let ext: ThresholdAlert | undefined;
    if (r.threshold !== undefined) {
      const th = r.threshold;
      const keyValues: Record<string, string | number | string[] | null> = {};
      let key = "";
      for (const b of th.by) {
        const v: FieldValue = c.value(b);
        keyValues[b.key] = jsonValue(v, b.spec.list);
        key += `${JSON.stringify(v ?? null)}\u0000`;
      }
      let distinct: string | undefined;
      if (th.distinct !== undefined) {
        const v = c.value(th.distinct);
        if (v === undefined) return undefined;
        distinct = JSON.stringify(v);
      }
      const hit = th.windows.hit(key, timeMs(time), distinct);
      if (hit === undefined) return undefined;
      const firstSec = Math.floor(hit.firstMs / 1000);
      ext = {
        key: keyValues,
        count: hit.count,
        window_ms: th.windowMs,
        first: isoTime({
          seconds: firstSec,
          // Counted in (float) milliseconds: round to kube's microseconds.
          nanos: Math.round((hit.firstMs - firstSec * 1000) * 1000) * 1000,
        }),
      };
    }
    const message = renderOutput(r.output, c);
    const alert: Alert = {
      time: isoTime(time),
      rule: r.info.name,
      priority: r.priorityName,
      source: "k8s_audit",
      output: `${clockTime(time)}: ${r.priorityName} ${message}`,
      output_fields: outputFields(r.output, c),
      tags: r.sortedTags.slice(),
    };
    if (ext !== undefined) alert.kaudit = ext;
    return alert;
  }
}

function requestTime(c: EvalContext, time: EventTime): number {
  const t = parseEventTime(c.ev.requestReceivedTimestamp);
  return timeMs(t ?? time);
}

function parseWhen(v: unknown): number | undefined {
  if (v instanceof Date) return v.getTime();
  if (typeof v !== "string") return undefined;
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) {
    const ms = Date.parse(`${v}T00:00:00Z`);
    return Number.isNaN(ms) ? undefined : ms;
  }
  const t = parseEventTime(v);
  return t === undefined ? undefined : timeMs(t);
}

function parseOrThrow(text: string, src: Located2): ConditionNode {
  try {
    return parseCondition(text);
  } catch (e) {
    if (e instanceof ConditionSyntaxError) {
      throw new RulesError("LOAD_ERR_COMPILE_CONDITION", e.message, src.locate(e.offset));
    }
    throw e;
  }
}

function walkMacros(n: ConditionNode, visit: (name: string, at: number) => void): void {
  switch (n.type) {
    case "and":
    case "or":
      for (const ch of n.children) walkMacros(ch, visit);
      return;
    case "not":
      walkMacros(n.child, visit);
      return;
    case "macro":
      visit(n.name, n.at);
      return;
    default:
      return;
  }
}
