import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadRules, RulesError, type RulesSource } from "./index";

const FIX = join(import.meta.dirname, "__fixtures__");
const trace = (f: string) => JSON.parse(readFileSync(join(FIX, "falco-trace-files", f), "utf8"));
const POD2 = trace("create_nginx_pod_privileged_2nd_container.json");
const PRIV = trace("create_nginx_pod_privileged.json");

const src = (name: string, ...lines: string[]): RulesSource => ({
  name,
  text: `${lines.join("\n")}\n`,
});

const BASE = src(
  "base.yaml",
  "- macro: pod_create",
  "  condition: ka.target.resource=pods and ka.verb=create",
  "- list: trusted_images",
  "  items: [redis]",
  "- rule: Privileged",
  "  desc: privileged pod",
  "  condition: pod_create and ka.req.pod.containers.privileged intersects (true)",
  "  output: priv (user=%ka.user.name images=%ka.req.pod.containers.image)",
  "  priority: WARNING",
  "  source: k8s_audit",
  "  tags: [k8s]",
  "  exceptions:",
  "    - name: trusted",
  "      fields: [ka.target.namespace, ka.req.pod.containers.image.repository]",
  "      comps: [=, intersects]",
  "      values:",
  "        - [kube-system, [nginx]]",
);

const fired = (files: RulesSource[], ev: unknown = POD2) =>
  loadRules(files)
    .evaluate(ev)
    .map((a) => a.rule);

function loadError(files: (string | RulesSource)[]): RulesError {
  try {
    loadRules(files);
  } catch (e) {
    if (e instanceof RulesError) return e;
    throw e;
  }
  throw new Error("loaded without error");
}

describe("append, override, enabled, exceptions (Falco's semantics)", () => {
  it("the base rule fires", () => {
    expect(fired([BASE])).toEqual(["Privileged"]);
  });

  it("exception values appended with override: {exceptions: append} suppress it", () => {
    const more = src(
      "more.yaml",
      "- rule: Privileged",
      "  exceptions:",
      "    - name: trusted",
      "      values:",
      "        - [default, [mysql]]",
      "  override:",
      "    exceptions: append",
    );
    expect(fired([BASE, more])).toEqual([]);
    // nginx/mysql in another namespace is not excepted.
    expect(
      fired([BASE, more], { ...POD2, objectRef: { ...POD2.objectRef, namespace: "prod" } }),
    ).toEqual(["Privileged"]);
  });

  it("old-style append: true adds exception values too", () => {
    const more = src(
      "more.yaml",
      "- rule: Privileged",
      "  append: true",
      "  exceptions:",
      "    - name: trusted",
      "      values: [[default, [nginx, mysql]]]",
    );
    const rules = loadRules([BASE, more]);
    expect(rules.evaluate(POD2)).toEqual([]);
    expect(rules.warnings.map((w) => w.code)).toEqual(["LOAD_DEPRECATED_ITEM"]);
  });

  it("a single-field exception with in", () => {
    const more = src(
      "more.yaml",
      "- rule: Privileged",
      "  exceptions:",
      "    - name: controllers",
      "      fields: ka.user.name",
      "      values: [system:serviceaccount:kube-system:replicaset-controller]",
      "  override: { exceptions: append }",
    );
    expect(fired([BASE, more])).toEqual([]);
  });

  it("override: {condition: append} narrows the condition; replace swaps it", () => {
    const narrow = src(
      "n.yaml",
      "- rule: Privileged",
      "  condition: and ka.target.namespace = prod",
      "  override: { condition: append }",
    );
    expect(fired([BASE, narrow])).toEqual([]);
    const swap = src(
      "s.yaml",
      "- rule: Privileged",
      "  condition: ka.verb = create",
      "  priority: ERROR",
      "  override: { condition: replace, priority: replace }",
    );
    const rules = loadRules([BASE, swap]);
    expect(rules.evaluate(PRIV).map((a) => `${a.rule} ${a.priority}`)).toEqual([
      "Privileged Error",
    ]);
  });

  it("macros and lists are redefined or appended by later files", () => {
    const macro = src("m.yaml", "- macro: pod_create", "  condition: ka.verb=delete");
    expect(fired([BASE, macro])).toEqual([]);
    const appended = src(
      "a.yaml",
      "- macro: pod_create",
      "  condition: and ka.target.namespace=default",
      "  override: { condition: append }",
    );
    expect(fired([BASE, appended])).toEqual(["Privileged"]);
    const list = src(
      "l.yaml",
      "- rule: Privileged",
      "  condition: and not ka.req.pod.containers.image.repository intersects (trusted_images)",
      "  override: { condition: append }",
      "- list: trusted_images",
      "  items: [mysql]",
      "  override: { items: append }",
    );
    expect(fired([BASE, list])).toEqual([]);
  });

  it("enabled: false switches a rule off (replace, or the deprecated standalone key)", () => {
    expect(
      fired([
        BASE,
        src("e.yaml", "- rule: Privileged", "  enabled: false", "  override: { enabled: replace }"),
      ]),
    ).toEqual([]);
    const rules = loadRules([BASE, src("e.yaml", "- rule: Privileged", "  enabled: false")]);
    expect(rules.evaluate(POD2)).toEqual([]);
    expect(rules.warnings[0]?.message).toMatch(/standalone 'enabled' key usage is deprecated/);
  });

  it("replace of exceptions drops the old ones", () => {
    const more = src(
      "r.yaml",
      "- rule: Privileged",
      "  exceptions:",
      "    - name: other",
      "      fields: [ka.target.namespace]",
      "      values: [[elsewhere]]",
      "  override: { exceptions: replace }",
    );
    const ev = { ...PRIV, objectRef: { ...PRIV.objectRef, namespace: "kube-system" } };
    expect(fired([BASE], ev)).toEqual([]);
    expect(fired([BASE, more], ev)).toEqual(["Privileged"]);
  });

  it("rules of other sources are skipped and counted", () => {
    const other = src(
      "syscall.yaml",
      "- rule: Shell",
      "  desc: d",
      "  condition: evt.type = execve and proc.name = bash",
      "  output: shell",
      "  priority: WARNING",
      "- rule: Plugin",
      "  desc: d",
      "  condition: ct.name = x",
      "  output: o",
      "  priority: NOTICE",
      "  source: aws_cloudtrail",
    );
    const rules = loadRules([BASE, other]);
    expect(rules.rules.map((r) => r.name)).toEqual(["Privileged"]);
    expect(rules.skipped).toEqual({ rules: 2, bySource: { syscall: 1, aws_cloudtrail: 1 } });
  });

  it("unknown keys and top-level items are warnings with positions", () => {
    const rules = loadRules([
      src(
        "w.yaml",
        "- rule: R",
        "  desc: d",
        "  condition: ka.verb=get",
        "  output: o",
        "  priority: INFO",
        "  source: k8s_audit",
        "  colour: blue",
        "- something: else",
      ),
    ]);
    expect(rules.warnings).toMatchObject([
      {
        code: "LOAD_UNKNOWN_KEY",
        message: "Unknown key 'colour'. The key will be ignored.",
        file: "w.yaml",
        line: 1,
        column: 3,
      },
      { code: "LOAD_UNKNOWN_ITEM", message: "Unknown top level item", line: 8, column: 3 },
    ]);
  });
});

describe("errors say where and what, in Falco's words", () => {
  const rule = (cond: string, extra: string[] = []) =>
    src(
      "r.yaml",
      "- rule: R",
      "  desc: d",
      `  condition: ${cond}`,
      "  output: o",
      "  priority: INFO",
      "  source: k8s_audit",
      ...extra,
    );

  it.each([
    [
      "undefined macro",
      rule("ka.verb=get and nosuchmacro"),
      "LOAD_ERR_COMPILE_CONDITION",
      "r.yaml:3:30: rule 'R': condition: Undefined macro 'nosuchmacro' used in filter.",
    ],
    [
      "unknown field",
      rule("ka.verb=get and ka.nope=1"),
      "LOAD_ERR_COMPILE_CONDITION",
      "r.yaml:3:30: rule 'R': condition: filter_check called with nonexistent field ka.nope",
    ],
    [
      "syntax error at a column",
      rule("ka.verb in (get"),
      "LOAD_ERR_COMPILE_CONDITION",
      "r.yaml:3:29: rule 'R': condition: expected a ')' token",
    ],
    [
      "argument required",
      rule("ka.uri.param exists"),
      "LOAD_ERR_COMPILE_CONDITION",
      "r.yaml:3:14: rule 'R': condition: filter 'ka.uri.param': ka.uri.param requires an argument but none provided",
    ],
    [
      "argument not allowed",
      rule("ka.verb[1] = get"),
      "LOAD_ERR_COMPILE_CONDITION",
      "r.yaml:3:14: rule 'R': condition: filter 'ka.verb[1]': ka.verb does not allow nor require an argument but one is provided: 1",
    ],
    [
      "bad priority",
      src(
        "p.yaml",
        "- rule: R",
        "  desc: d",
        "  condition: ka.verb=get",
        "  output: o",
        "  priority: LOUD",
      ),
      "LOAD_ERR_VALIDATE",
      "p.yaml:5:13: rule 'R': priority: Invalid priority",
    ],
    [
      "missing output",
      src("m.yaml", "- rule: R", "  desc: d", "  condition: ka.verb=get", "  priority: INFO"),
      "LOAD_ERR_YAML_VALIDATE",
      "m.yaml:1:3: rule 'R': Item has no mapping for key 'output'",
    ],
    [
      "append without a rule",
      src("a.yaml", "- rule: Nope", "  condition: x", "  append: true"),
      "LOAD_ERR_VALIDATE",
      "a.yaml:1:3: rule 'Nope': Rule uses 'append' or 'override.<key>: append' but no rule by that name already exists",
    ],
    [
      "append and override",
      src(
        "a.yaml",
        "- list: l",
        "  items: [a]",
        "- list: l",
        "  items: [b]",
        "  append: true",
        "  override: { items: append }",
      ),
      "LOAD_ERR_VALIDATE",
      "a.yaml:3:3: list 'l': Keys 'override' and 'append: true' cannot be used together. Add an 'append' entry (e.g. 'condition: append') under 'override' instead.",
    ],
    [
      "override key not replaceable",
      src("o.yaml", "- rule: R", "  source: k8s_audit", "  override: { source: replace }"),
      "LOAD_ERR_YAML_VALIDATE",
      "o.yaml:3:15: rule 'R': override.source: Key 'source' cannot be replaced",
    ],
    [
      "bad output token",
      rule("ka.verb=get", []).text.replace("output: o", "output: user=%ka.usr.name"),
      "LOAD_ERR_COMPILE_OUTPUT",
      "r.yaml:4:16: rule 'R': output: invalid formatting token %ka.usr.name",
    ],
    [
      "YAML syntax",
      src("y.yaml", "- rule: R", "  desc: [unclosed"),
      "LOAD_ERR_YAML_PARSE",
      "y.yaml:3:1: rules content: Flow sequence in block collection must be sufficiently indented",
    ],
    [
      "not a list of items",
      src("n.yaml", "rule: R"),
      "LOAD_ERR_YAML_VALIDATE",
      "n.yaml:1:1: rules content: Rules content is not yaml array of objects",
    ],
    [
      "exception lengths",
      rule("ka.verb=get", [
        "  exceptions:",
        "    - name: e",
        "      fields: [ka.verb, ka.uri]",
        "      comps: [=]",
        "      values: [[a, b]]",
      ]),
      "LOAD_ERR_VALIDATE",
      "r.yaml:8:7: rule 'R': exceptions 'e': Fields and comps lists must have equal length",
    ],
    [
      "exception field",
      rule("ka.verb=get", [
        "  exceptions:",
        "    - name: e",
        "      fields: [ka.nope]",
        "      values: [[a]]",
      ]),
      "LOAD_ERR_VALIDATE",
      "r.yaml:8:7: rule 'R': exceptions 'e': 'ka.nope' is not a supported filter field",
    ],
  ] as [string, RulesSource | string, string, string][])("%s", (_n, file, code, message) => {
    const f = typeof file === "string" ? { name: "r.yaml", text: file } : file;
    const e = loadError([f]);
    expect(e.code).toBe(code);
    expect(e.message.startsWith(message)).toBe(true);
  });

  it("a syntax error inside a folded multi-line condition points at its line and column", () => {
    const e = loadError([
      src(
        "f.yaml",
        "- rule: R",
        "  desc: d",
        "  condition: >",
        "    ka.verb = get",
        "    and ka.uri in (a,, b)",
        "  output: o",
        "  priority: INFO",
        "  source: k8s_audit",
      ),
    ]);
    expect(e.message).toBe("f.yaml:5:22: rule 'R': condition: expected a string value");
  });

  it("an error inside a macro points into the macro", () => {
    const e = loadError([
      src(
        "m.yaml",
        "- macro: bad",
        "  condition: ka.verb = get and ka.bogus exists",
        "- rule: R",
        "  desc: d",
        "  condition: bad",
        "  output: o",
        "  priority: INFO",
        "  source: k8s_audit",
      ),
    ]);
    expect(e.message).toBe(
      "m.yaml:2:32: macro 'bad': condition: filter_check called with nonexistent field ka.bogus",
    );
  });

  it("a macro may only use macros defined before it (Falco's visibility)", () => {
    const e = loadError([
      src("v.yaml", "- macro: a", "  condition: b", "- macro: b", "  condition: ka.verb=get"),
    ]);
    expect(e.message).toBe(
      "v.yaml:2:14: macro 'a': condition: Undefined macro 'b' used in filter.",
    );
  });

  it("a file that cannot be read", () => {
    const e = loadError(["/nonexistent/rules.yaml"]);
    expect(e.message).toBe(
      "/nonexistent/rules.yaml:1:1: Could not read file: no such file or directory",
    );
  });
});
