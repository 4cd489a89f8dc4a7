import { readFile, stat } from "node:fs/promises";
import {
  type Event,
  encodeEvent,
  levelOrdinal,
  type PolicyDecision,
  type RequestAttributes,
} from "@kaudit/api";
import {
  applyDecision,
  attributesFromEvent,
  attributesFromRequest,
  type CompiledPolicyEvaluator,
  createPolicyEvaluator,
  DEFAULT_MAX_POLICY_BYTES,
  type ParsedPolicy,
  PolicyError,
  type PolicyExplanation,
  parsePolicy,
} from "@kaudit/policy";
import type { CliContext } from "./context";
import { CliError, EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, fileError } from "./errors";
import { readEvents, readInputBytes } from "./input";
import { displayName, openOutput } from "./io";
import { prepareInputs } from "./sources";
import { renderTable } from "./table";
import { formatBytes } from "./term";

/**
 * Reads and parses a policy file (`-` = stdin) as kube-apiserver would load it. Warnings (fields
 * the lenient decode drops, deprecated versions) are reported; an invalid policy reports every
 * issue and fails with exit 1, an unreadable file with exit 2.
 */
export async function loadPolicy(ctx: CliContext, path: string): Promise<ParsedPolicy> {
  const source = displayName(path);
  let text: string;
  if (path === "-") {
    const parts: Buffer[] = [];
    let size = 0;
    for await (const chunk of readInputBytes("-", { stdin: ctx.stdin })) {
      size += chunk.length;
      if (size > DEFAULT_MAX_POLICY_BYTES) {
        // Refused by size before anything is parsed (a cut-off policy would be parsed wrongly).
        throw new CliError(
          `${source}: more than ${DEFAULT_MAX_POLICY_BYTES} bytes is too large for an audit policy (limit ${DEFAULT_MAX_POLICY_BYTES})`,
          EXIT_FINDINGS,
        );
      }
      parts.push(chunk);
    }
    text = Buffer.concat(parts).toString("utf8");
  } else {
    try {
      const st = await stat(path);
      if (st.isDirectory()) throw Object.assign(new Error("is a directory"), { code: "EISDIR" });
      if (st.size > DEFAULT_MAX_POLICY_BYTES) {
        throw new CliError(
          `${source}: ${st.size} bytes is too large for an audit policy (limit ${DEFAULT_MAX_POLICY_BYTES})`,
          EXIT_FINDINGS,
        );
      }
      text = await readFile(path, "utf8");
    } catch (e) {
      if (CliError.isInstance(e)) throw e;
      throw fileError(source, e);
    }
  }
  let policy: ParsedPolicy;
  try {
    policy = parsePolicy(text, { source });
  } catch (e) {
    if (!PolicyError.isInstance(e)) throw e;
    for (const i of (e as PolicyError).issues) {
      ctx.report({
        file: source,
        line: i.line,
        column: i.column,
        path: i.path,
        message: i.message,
        severity: "error",
      });
    }
    throw new CliError(
      `${source}: not a valid audit policy (kube-apiserver would refuse to start with it)`,
      EXIT_FINDINGS,
    );
  }
  for (const w of policy.warnings) {
    ctx.report({
      file: source,
      line: w.line,
      column: w.column,
      path: w.path,
      message: w.message,
      severity: "warning",
    });
  }
  return policy;
}

function describeDecision(d: PolicyDecision): string {
  const parts = [`level ${d.level}`];
  if (d.omitStages.length) parts.push(`omitStages [${d.omitStages.join(", ")}]`);
  if (d.omitManagedFields) parts.push("omitManagedFields");
  return parts.join(", ");
}

function describeAttributes(a: RequestAttributes): string[] {
  const user = a.user
    ? `${a.user.name === "" ? '""' : a.user.name}${a.user.groups?.length ? ` groups [${a.user.groups.join(", ")}]` : ""}`
    : "(unauthenticated: no user)";
  const lines = [`  user:      ${user}`, `  verb:      ${a.verb}`];
  if (a.isResourceRequest) {
    const gr = a.apiGroup === "" ? a.resource : `${a.resource}.${a.apiGroup}`;
    lines.push(
      `  resource:  ${gr}${a.subresource ? `/${a.subresource}` : ""}${a.name ? ` name ${a.name}` : ""} (${a.apiGroup === "" ? "core" : a.apiGroup}/${a.apiVersion})`,
    );
    lines.push(`  namespace: ${a.namespace === "" ? "(cluster-scoped)" : a.namespace}`);
  } else {
    lines.push(`  path:      ${a.path} (non-resource request)`);
  }
  return lines;
}

function renderExplanation(ctx: CliContext, ex: PolicyExplanation, total: number): string {
  const c = ctx.out;
  const lines: string[] = [];
  const d = ex.decision;
  const matched = d.ruleIndex >= 0;
  lines.push(
    `decision: ${c.bold(describeDecision(d))} ${matched ? `(rule ${d.ruleIndex})` : "(no rule matched: not audited)"}`,
  );
  lines.push("rules:");
  const width = String(Math.max(0, total - 1)).length;
  for (const r of ex.rules) {
    const mark = r.matched ? c.green("match") : c.dim("miss ");
    lines.push(
      `  ${String(r.ruleIndex).padStart(width)}  ${mark}  ${r.field.padEnd(15)} ${r.reason}`,
    );
  }
  if (matched && d.ruleIndex < total - 1) {
    lines.push(
      c.dim(
        `  rules ${d.ruleIndex + 1}..${total - 1} not consulted (the first matching rule wins)`,
      ),
    );
  }
  return `${lines.join("\n")}\n`;
}

/** Options of `kaudit policy explain`. */
export interface ExplainOptions {
  policy: string;
  request?: string | undefined;
  user?: string | undefined;
  group: string[];
  event?: string | undefined;
  json?: boolean | undefined;
}

/** `kaudit policy explain`: the decision for one request (or each recorded event) and why. */
export async function runExplain(ctx: CliContext, options: ExplainOptions): Promise<number> {
  if (options.policy === "-" && options.event === "-") {
    throw new CliError(
      "kaudit policy explain: stdin (-) can be the policy or the events, not both",
      EXIT_USAGE,
    );
  }
  if ((options.request === undefined) === (options.event === undefined)) {
    throw new CliError(
      "kaudit policy explain: give exactly one of --request or --event",
      EXIT_USAGE,
    );
  }
  if (options.event !== undefined && (options.user !== undefined || options.group.length > 0)) {
    throw new CliError(
      "kaudit policy explain: --user/--group go with --request (an event records its own user)",
      EXIT_USAGE,
    );
  }
  const policy = await loadPolicy(ctx, options.policy);
  const evaluator = createPolicyEvaluator(policy, { validate: false });
  const total = policy.rules.length;
  const results: unknown[] = [];
  const show = (title: string, attrs: RequestAttributes) => {
    const ex = evaluator.explain(attrs);
    if (options.json) results.push({ request: title, attributes: attrs, ...ex });
    else
      ctx.stdout.write(
        `${ctx.out.bold(title)}\n${describeAttributes(attrs).join("\n")}\n${renderExplanation(ctx, ex, total)}`,
      );
  };
  if (options.request !== undefined) {
    const parts = options.request.trim().split(/\s+/);
    if (parts.length > 2 || parts[0] === "") {
      throw new CliError(
        `kaudit policy explain: --request ${JSON.stringify(options.request)}: expected "METHOD /path", e.g. "GET /api/v1/namespaces/x/pods"`,
        EXIT_USAGE,
      );
    }
    const [method, url] = parts.length === 2 ? [parts[0]!, parts[1]!] : ["GET", parts[0]!];
    if (!/^[A-Za-z]+$/.test(method) || !(url.startsWith("/") || /^https?:\/\//.test(url))) {
      throw new CliError(
        `kaudit policy explain: --request ${JSON.stringify(options.request)}: expected "METHOD /path", e.g. "GET /api/v1/namespaces/x/pods"`,
        EXIT_USAGE,
      );
    }
    const user =
      options.user !== undefined || options.group.length > 0
        ? { name: options.user ?? "", groups: options.group }
        : undefined;
    show(`request: ${method.toUpperCase()} ${url}`, attributesFromRequest({ method, url, user }));
  } else {
    await prepareInputs(ctx, [options.event!], "reading");
    let errors = 0;
    for await (const r of readEvents(options.event!, { validate: true, stdin: ctx.stdin })) {
      if ("problem" in r) {
        errors++;
        ctx.report(r.problem);
        continue;
      }
      const e = r.event;
      const where = r.line
        ? `${displayName(options.event!)}:${r.line}`
        : displayName(options.event!);
      show(`event ${e.auditID} (${where}): ${e.verb} ${e.requestURI}`, attributesFromEvent(e));
    }
    if (options.json) ctx.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    return errors > 0 ? EXIT_FINDINGS : EXIT_OK;
  }
  if (options.json) ctx.stdout.write(`${JSON.stringify(results[0], null, 2)}\n`);
  return EXIT_OK;
}

/** Per-rule totals of a simulation. */
export interface RuleTally {
  /** Rule index, or -1 for events no rule matched (level None). */
  rule: number;
  level: string;
  /** Events the rule decided. */
  events: number;
  /** Of those, events the policy would write (not None, stage not omitted). */
  kept: number;
  /** Bytes of the kept events as kube-apiserver would write them (JSON line with newline). */
  keptBytes: number;
  /** Bytes the decided events take in the input (re-encoded as v1 JSON lines). */
  inputBytes: number;
}

/** What `kaudit policy simulate` reports. */
export interface SimulationReport {
  policy: string;
  rules: RuleTally[];
  total: {
    events: number;
    inputBytes: number;
    kept: number;
    keptBytes: number;
    dropped: number;
    droppedBytes: number;
  };
  /** Kept events whose decided level is above the recorded one: their missing bodies cannot be recovered. */
  belowPolicyLevel: number;
  /** Problems reported for lines or events that were left out (unreadable, invalid). */
  problems: number;
}

/** Options of `kaudit policy simulate`. */
export interface SimulateOptions {
  policy: string;
  output?: string | undefined;
  json?: boolean | undefined;
}

function lineBytes(e: Event): number {
  return Buffer.byteLength(encodeEvent(e), "utf8") + 1;
}

/**
 * `kaudit policy simulate`: replays recorded logs through a policy (attributesFromEvent,
 * evaluate, applyDecision) and reports per rule what would be kept; `-o` writes the would-be log.
 */
export async function runSimulate(
  ctx: CliContext,
  logs: string[],
  options: SimulateOptions,
): Promise<number> {
  if (options.policy === "-" && logs.includes("-")) {
    throw new CliError(
      "kaudit policy simulate: stdin (-) can be the policy or a log, not both",
      EXIT_USAGE,
    );
  }
  const policy = await loadPolicy(ctx, options.policy);
  const progress = await prepareInputs(ctx, logs, "simulating");
  const evaluator: CompiledPolicyEvaluator = createPolicyEvaluator(policy, { validate: false });
  const tallies = new Map<number, RuleTally>();
  for (let i = 0; i < policy.rules.length; i++) {
    tallies.set(i, {
      rule: i,
      level: policy.rules[i]!.level,
      events: 0,
      kept: 0,
      keptBytes: 0,
      inputBytes: 0,
    });
  }
  tallies.set(-1, { rule: -1, level: "None", events: 0, kept: 0, keptBytes: 0, inputBytes: 0 });
  const out = options.output !== undefined ? openOutput(options.output, ctx.stdout) : undefined;
  let problems = 0;
  let belowPolicyLevel = 0;
  let droppedBytes = 0;
  try {
    for (const name of logs) {
      for await (const r of readEvents(name, {
        validate: true,
        stdin: ctx.stdin,
        onBytes: (n) => progress.add(n),
      })) {
        if ("problem" in r) {
          problems++;
          progress.finish();
          ctx.report(r.problem);
          continue;
        }
        const decision = evaluator.evaluate(attributesFromEvent(r.event));
        const t = tallies.get(decision.ruleIndex)!;
        t.events++;
        const inBytes = lineBytes(r.event);
        t.inputBytes += inBytes;
        const kept = applyDecision(r.event, decision);
        if (kept === undefined) {
          droppedBytes += inBytes;
          continue;
        }
        if (levelOrdinal(decision.level) > levelOrdinal(r.event.level)) belowPolicyLevel++;
        const text = `${encodeEvent(kept)}\n`;
        t.kept++;
        t.keptBytes += Buffer.byteLength(text, "utf8");
        if (out) {
          const pending = out.write(text);
          if (pending) await pending;
        }
      }
    }
  } catch (e) {
    progress.finish();
    await out?.abort();
    throw e;
  }
  progress.finish();
  await out?.commit();
  const rules = [...tallies.values()].sort((a, b) =>
    a.rule === -1 ? 1 : b.rule === -1 ? -1 : a.rule - b.rule,
  );
  const total = { events: 0, inputBytes: 0, kept: 0, keptBytes: 0, dropped: 0, droppedBytes: 0 };
  for (const t of rules) {
    total.events += t.events;
    total.inputBytes += t.inputBytes;
    total.kept += t.kept;
    total.keptBytes += t.keptBytes;
  }
  total.dropped = total.events - total.kept;
  total.droppedBytes = droppedBytes;
  const report: SimulationReport = {
    policy: displayName(options.policy),
    rules,
    total,
    belowPolicyLevel,
    problems,
  };
  const dest = options.output === "-" ? ctx.stderr : ctx.stdout;
  const c = options.output === "-" ? ctx.err : ctx.out;
  if (options.json) dest.write(`${JSON.stringify(report, null, 2)}\n`);
  else dest.write(renderSimulation(report, c));
  return problems > 0 ? EXIT_FINDINGS : EXIT_OK;
}

function pct(part: number, whole: number): string {
  return whole === 0 ? "0%" : `${((part / whole) * 100).toFixed(1)}%`;
}

/** The simulation report as a table: one row per rule, then the totals. */
export function renderSimulation(report: SimulationReport, c: CliContext["out"]): string {
  const rows = report.rules.map((t) => [
    t.rule === -1 ? "-" : String(t.rule),
    t.rule === -1 ? "None (no rule matched)" : t.level,
    String(t.events),
    String(t.kept),
    String(t.keptBytes),
    String(t.inputBytes),
  ]);
  const lines = [c.bold(`policy ${report.policy}: what it would have logged`)];
  lines.push(
    renderTable(["rule", "level", "events", "kept", "kept bytes", "input bytes"], rows, [
      true,
      false,
      true,
      true,
      true,
      true,
    ]),
  );
  const t = report.total;
  lines.push(
    `total: ${t.events} events (${formatBytes(t.inputBytes)}); kept ${t.kept} (${formatBytes(t.keptBytes)}, ${pct(t.keptBytes, t.inputBytes)} of the bytes); dropped ${t.dropped} (${formatBytes(t.droppedBytes)})`,
  );
  if (report.belowPolicyLevel > 0) {
    lines.push(
      c.yellow(
        `note: ${report.belowPolicyLevel} kept event${report.belowPolicyLevel === 1 ? " was" : "s were"} recorded at a lower level than this policy asks for; bodies the log did not keep cannot be recovered, so kept bytes are a lower bound`,
      ),
    );
  }
  if (report.problems > 0)
    lines.push(
      c.red(
        `${report.problems} problem${report.problems === 1 ? "" : "s"} in the input: those lines or events were left out (see stderr)`,
      ),
    );
  return `${lines.join("\n")}\n`;
}
