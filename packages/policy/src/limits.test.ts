import { describe, expect, it } from "vitest";
import { PolicyError } from "./errors";
import { DEFAULT_MAX_POLICY_DEPTH, parsePolicy } from "./parse";

const V1 = "apiVersion: audit.k8s.io/v1\nkind: Policy\n";

function thrown(text: string, options = {}): unknown {
  try {
    parsePolicy(text, options);
  } catch (e) {
    return e;
  }
  return undefined;
}

/** Issue 12 case 6: deep nesting is refused with a PolicyError and a position, before parsing. */
describe("nesting limit", () => {
  const deepInputs: [string, string, number, number][] = [
    // name, text, line and column of the collection that passes the limit
    // the root map and `rules:` count 2, so the 99th `[` (column 8 + 98) is level 101
    ["flow YAML 10,000 deep", `${V1}rules: ${"[".repeat(10_000)}${"]".repeat(10_000)}\n`, 3, 106],
    [
      "JSON 10,000 deep (within Go's limit)",
      `{"apiVersion":"audit.k8s.io/v1","kind":"Policy","metadata":{"labels":${"[".repeat(9_990)}${"]".repeat(9_990)}}}`,
      1,
      // the prefix is 69 characters; the line, the root `{` and metadata's `{` count 3: the 98th `[` is level 101
      69 + 98,
    ],
    [
      "block YAML 1,000 deep",
      `${V1}metadata:\n  annotations:\n${Array.from({ length: 1000 }, (_, i) => `${" ".repeat(2 * i + 4)}k:\n`).join("")}`,
      // lines 4-101 open levels 3-100 (each `k:` adds its indent and its `:`); line 102 passes
      102,
      200,
    ],
  ];
  it.each(deepInputs)("%s: PolicyError at line:col, never RangeError", (_, text, line, column) => {
    // three times: after a caught overflow, V8 could fail fatally on the next regular expression
    for (let i = 0; i < 3; i++) {
      const e = thrown(text, { source: "deep.yaml" });
      expect(e).toBeInstanceOf(PolicyError);
      const err = e as PolicyError;
      expect(err.message).toBe(
        `deep.yaml:${line}:${column}: the policy nests deeper than ${DEFAULT_MAX_POLICY_DEPTH} levels (an audit policy needs 6; raise maxDepth if this is intended)`,
      );
      expect(err.issues[0]).toMatchObject({ path: "", line, column });
    }
    expect(parsePolicy(`${V1}rules:\n- level: Metadata\n`).rules).toHaveLength(1);
  });

  it("JSON past Go's 10,000 levels gets encoding/json's own message", () => {
    const text = `{"rules":${"[".repeat(10_001)}`;
    const e = thrown(text) as PolicyError;
    expect(e).toBeInstanceOf(PolicyError);
    expect(e.reference).toBe("failed decoding: invalid character '[' exceeded max depth");
    // `{"rules":` is 9 characters; the root `{` is level 1, so the 10,000th `[` is level 10,001
    expect(e.issues[0]).toMatchObject({ line: 1, column: 10_009 });
  });

  it("a million-deep flow sequence is refused quickly", () => {
    const text = `rules: ${"[".repeat(1_000_000)}`;
    const t = performance.now();
    expect(thrown(text)).toBeInstanceOf(PolicyError);
    expect(performance.now() - t).toBeLessThan(5000);
  });

  it("counts depth through aliases, which can nest what the text does not", () => {
    const anchors = Array.from(
      { length: 150 },
      (_, i) => `    a${i + 1}: &a${i + 1} [${i === 0 ? "x" : `*a${i}`}]\n`,
    ).join("");
    const text = `${V1}metadata:\n  annotations:\n${anchors}rules:\n- level: None\n`;
    const e = thrown(text) as PolicyError;
    expect(e).toBeInstanceOf(PolicyError);
    expect(e.message).toMatch(/^\d+:\d+: the policy nests deeper than 100 levels/);
    // within the limit the same shape loads
    const ok = `${V1}metadata:\n  annotations:\n${anchors.split("\n").slice(0, 50).join("\n")}\nrules:\n- level: None\n`;
    expect(parsePolicy(ok).rules).toHaveLength(1);
  });

  it("maxDepth is an option", () => {
    const text = `${V1}rules:\n- level: Metadata\n  resources:\n  - group: ""\n    resources: [pods]\n`;
    expect(parsePolicy(text, { maxDepth: 8 }).rules).toHaveLength(1);
    expect(thrown(text, { maxDepth: 3 })).toBeInstanceOf(PolicyError);
  });

  it("__proto__ and constructor keys stay plain keys", () => {
    const text = `${V1}metadata:\n  labels:\n    __proto__: {polluted: yes}\n    constructor: {prototype: {polluted: yes}}\nrules:\n- level: None\n`;
    const p = parsePolicy(text) as unknown as { metadata: { labels: Record<string, unknown> } };
    expect(Object.keys(p.metadata.labels)).toEqual(["__proto__", "constructor"]);
    expect(Object.getPrototypeOf(p.metadata.labels)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
