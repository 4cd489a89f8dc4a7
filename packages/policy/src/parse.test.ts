import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { attributesFromRequest } from "@kaudit/api";
import { afterAll, describe, expect, it } from "vitest";
import { PolicyError } from "./errors";
import { createPolicyEvaluator } from "./evaluator";
import { loadPolicyFile, parsePolicy, safeParsePolicy } from "./parse";

const FIXTURES = join(import.meta.dirname, "__fixtures__");
const fixture = (name: string) => readFileSync(join(FIXTURES, name), "utf8");

function parseError(text: string, source?: string): PolicyError {
  try {
    parsePolicy(text, source === undefined ? {} : { source });
  } catch (e) {
    if (e instanceof PolicyError) return e;
    throw e;
  }
  throw new Error("expected a PolicyError");
}

const V1 = "apiVersion: audit.k8s.io/v1\nkind: Policy\n";

describe("corpus policies", () => {
  const expectedRules: Record<string, number> = {
    "aks-engine-policy.rendered-v1.yaml": 8,
    "audit2rbac-demo-policy.yaml": 1,
    "falco-k8saudit-plugin-policy.yaml": 11,
    "gce-configure-helper-policy.yaml": 17,
    "k8s-docs-minimal-v1beta1.yaml": 1,
    "k8s-website-example-policy.yaml": 9,
    "openshift-allrequestbodies.yaml": 4,
    "openshift-default.yaml": 4,
    "openshift-writerequestbodies.yaml": 7,
  };
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith(".yaml"));

  it("has every corpus policy", () => {
    expect(files.sort()).toEqual(Object.keys(expectedRules).sort());
  });

  it.each(files)("%s loads and compiles", (file) => {
    const policy = parsePolicy(fixture(file), { source: file });
    expect(policy.rules).toHaveLength(expectedRules[file]!);
    expect(policy.apiVersion).toBe("audit.k8s.io/v1");
    createPolicyEvaluator(policy);
    const unexpected = policy.warnings.filter(
      (w) =>
        file !== "openshift-allrequestbodies.yaml" && file !== "k8s-docs-minimal-v1beta1.yaml" && w,
    );
    expect(unexpected).toEqual([]);
  });

  it("reports the openshift `resource:` typo as a warning with line:col, and widens the rule like kube", () => {
    const policy = parsePolicy(fixture("openshift-allrequestbodies.yaml"));
    expect(policy.warnings).toEqual([
      {
        path: "rules[2].resources[4].resource",
        message: 'strict decoding error: unknown field "rules[2].resources[4].resource"',
        line: 38,
        column: 5,
      },
    ]);
    expect(policy.rules[2]!.resources![4]).toEqual({ group: "machineconfiguration.openshift.io" });
    const attrs = attributesFromRequest({
      method: "GET",
      url: "/apis/machineconfiguration.openshift.io/v1/machineconfigpools/x",
      user: { name: "u", groups: ["system:authenticated"] },
    });
    expect(createPolicyEvaluator(policy).evaluate(attrs).ruleIndex).toBe(2);
    expect(Object.keys(policy)).not.toContain("warnings");
  });

  it("accepts v1beta1 with a deprecation warning and upgrades it", () => {
    const policy = parsePolicy(fixture("k8s-docs-minimal-v1beta1.yaml"));
    expect(policy.apiVersion).toBe("audit.k8s.io/v1");
    expect(policy.warnings).toHaveLength(1);
    expect(policy.warnings[0]).toMatchObject({ path: "apiVersion", line: 2, column: 13 });
    expect(policy.warnings[0]!.message).toMatch(
      /^"audit\.k8s\.io\/v1beta1" is deprecated and will be removed in a future release, use "audit\.k8s\.io\/v1" instead/,
    );
  });

  it("GCE policy decides like kube-apiserver for typical requests", () => {
    const ev = createPolicyEvaluator(parsePolicy(fixture("gce-configure-helper-policy.yaml")));
    const node = { name: "system:node:n1", groups: ["system:nodes", "system:authenticated"] };
    const kubeProxy = { name: "system:kube-proxy", groups: ["system:authenticated"] };
    const level = (
      method: string,
      url: string,
      user = { name: "admin", groups: ["system:masters"] },
    ) => ev.evaluate(attributesFromRequest({ method, url, user })).level;
    expect(level("GET", "/api/v1/watch/endpoints", kubeProxy)).toBe("None");
    expect(level("GET", "/healthz")).toBe("None");
    expect(level("PATCH", "/api/v1/nodes/n1/status", node)).toBe("Request");
    expect(level("GET", "/api/v1/namespaces/kube-system/secrets/s")).toBe("Metadata");
    expect(level("POST", "/api/v1/namespaces/default/pods")).toBe("RequestResponse");
    expect(level("GET", "/api/v1/namespaces/default/pods")).toBe("Request");
    expect(level("GET", "/version")).toBe("None");
    expect(level("GET", "/openapi/v2")).toBe("Metadata");
    expect(level("GET", "/api/v1/namespaces/default/events")).toBe("None");
  });
});

// Bad input: message (kube's wording), field path, line, column.
const bad: Array<
  [name: string, text: string, message: string, path: string, line: number, column: number]
> = [
  [
    "YAML syntax error",
    `${V1}rules:\n  - level: [Metadata\n`,
    "failed decoding: error converting YAML to JSON: yaml: line",
    "",
    5,
    1,
  ],
  [
    "rules: {}",
    `${V1}rules: {}\n`,
    "failed decoding: json: cannot unmarshal object into Go struct field Policy.rules of type []v1.PolicyRule",
    "rules",
    3,
    8,
  ],
  [
    "level as a list",
    `${V1}rules:\n- level: [a]\n`,
    "failed decoding: json: cannot unmarshal array into Go struct field PolicyRule.rules.level of type v1.Level",
    "rules[0].level",
    4,
    10,
  ],
  [
    "group as a map",
    `${V1}rules:\n- level: None\n  resources:\n  - group: {a: b}\n`,
    "failed decoding: json: cannot unmarshal object into Go struct field GroupResources.rules.resources.group of type string",
    "rules[0].resources[0].group",
    6,
    12,
  ],
  [
    "omitManagedFields as a string",
    `${V1}omitManagedFields: "yes"\nrules:\n- level: None\n`,
    "failed decoding: json: cannot unmarshal string into Go struct field Policy.omitManagedFields of type bool",
    "omitManagedFields",
    3,
    20,
  ],
  [
    "unknown level",
    `${V1}rules:\n- level: metadata\n`,
    'rules[0].level: Unsupported value: "metadata": supported values: "None", "Metadata", "Request", "RequestResponse"',
    "rules[0].level",
    4,
    10,
  ],
  [
    "level missing",
    `${V1}rules:\n- verbs: [get]\n`,
    "rules[0].level: Required value",
    "rules[0].level",
    4,
    3,
  ],
  [
    "unknown rule stage",
    `${V1}rules:\n- level: None\n  omitStages: [RequestReceived, Done]\n`,
    'rules[0].omitStages[1]: Invalid value: "Done": allowed stages are RequestReceived,ResponseStarted,ResponseComplete,Panic',
    "rules[0].omitStages[1]",
    5,
    33,
  ],
  [
    "unknown policy stage",
    `${V1}omitStages:\n  - Received\nrules:\n- level: None\n`,
    'omitStages[0]: Invalid value: "Received": allowed stages are RequestReceived,ResponseStarted,ResponseComplete,Panic',
    "omitStages[0]",
    4,
    5,
  ],
  [
    "* mid-URL",
    `${V1}rules:\n- level: None\n  nonResourceURLs:\n  - /ok\n  - /logs/*/x\n`,
    "rules[0].nonResourceURLs[1]: Invalid value: \"/logs/*/x\": non-resource URL wildcards '*' must be the final character of the rule",
    "rules[0].nonResourceURLs[1]",
    7,
    5,
  ],
  [
    "bad group",
    `${V1}rules:\n- level: None\n  resources:\n  - group: apps\n  - group: rbac.authorization.k8s.io/v1\n`,
    'rules[0].resources.group: Invalid value: "rbac.authorization.k8s.io/v1": a lowercase RFC 1123 subdomain',
    "rules[0].resources.group",
    7,
    12,
  ],
  [
    "resourceNames without resources",
    `${V1}rules:\n- level: None\n  resources:\n  - resourceNames: [a]\n`,
    'rules[0].resources.resourceNames: Invalid value: ["a"]: using resourceNames requires at least one resource',
    "rules[0].resources.resourceNames",
    6,
    20,
  ],
  [
    "mixed resources and URLs",
    `${V1}rules:\n- level: None\n  resources: [{group: ""}]\n  nonResourceURLs: [/x]\n`,
    'rules[0].nonResourceURLs: Invalid value: ["/x"]: rules cannot apply to both regular resources and non-resource URLs',
    "rules[0].nonResourceURLs",
    6,
    20,
  ],
  [
    "empty file",
    "",
    "unknown group version field audit.k8s.io/__internal, Kind=Policy in policy",
    "apiVersion",
    1,
    1,
  ],
  [
    "comments only",
    "# nothing\n",
    "unknown group version field audit.k8s.io/__internal, Kind=Policy in policy",
    "apiVersion",
    1,
    1,
  ],
  [
    "no apiVersion",
    "kind: Policy\nrules:\n- level: None\n",
    "unknown group version field audit.k8s.io/__internal, Kind=Policy in policy",
    "apiVersion",
    1,
    1,
  ],
  [
    "unknown apiVersion",
    "apiVersion: audit.k8s.io/v2\nkind: Policy\nrules:\n- level: None\n",
    'failed decoding: no kind "Policy" is registered for version "audit.k8s.io/v2" in scheme "k8s.io/apiserver/pkg/audit/scheme.go:30"',
    "apiVersion",
    1,
    13,
  ],
  [
    "core apiVersion",
    "apiVersion: v1\nkind: Policy\nrules:\n- level: None\n",
    'failed decoding: no kind "Policy" is registered for version "v1"',
    "apiVersion",
    1,
    13,
  ],
  [
    "wrong kind",
    "apiVersion: audit.k8s.io/v1\nkind: Polcy\nrules:\n- level: None\n",
    'failed decoding: no kind "Polcy" is registered for version "audit.k8s.io/v1"',
    "kind",
    2,
    7,
  ],
  ["0 rules", `${V1}rules: []\n`, "loaded illegal policy with 0 rules", "rules", 3, 8],
  ["no rules", V1, "loaded illegal policy with 0 rules", "rules", 1, 1],
  [
    "several documents",
    `${V1}rules:\n- level: None\n---\n${V1}rules:\n- level: Metadata\n`,
    "the policy has 2 YAML documents; kube-apiserver reads only the first",
    "",
    5,
    1,
  ],
  [
    "a list, not a policy",
    "- level: None\n",
    "failed decoding: couldn't get version/kind; json parse error: json: cannot unmarshal array into Go value",
    "",
    1,
    1,
  ],
  [
    "JSON syntax error",
    '{"apiVersion": "audit.k8s.io/v1",\n "rules": [}',
    "failed decoding: invalid character '}' looking for beginning of value",
    "",
    2,
    12,
  ],
  [
    "JSON truncated",
    '{"apiVersion": "audit.k8s.io/v1",\n "rules": [',
    "failed decoding: unexpected end of JSON input",
    "",
    2,
    12,
  ],
  [
    "JSON number where a string is expected",
    '{"apiVersion":"audit.k8s.io/v1","kind":"Policy","rules":[{"level":"None","users":[1]}]}',
    "failed decoding: json: cannot unmarshal number into Go struct field PolicyRule.rules.users of type string",
    "rules[0].users[0]",
    1,
    83,
  ],
];

describe("bad input", () => {
  it.each(bad)("%s", (_name, text, message, path, line, column) => {
    const err = parseError(text, "policy.yaml");
    expect(err.issues[0]).toMatchObject({ path, line, column });
    expect(err.issues[0]!.message).toContain(message);
    expect(err.reference).toContain(message);
    expect(err.message.startsWith(`policy.yaml:${line}:${column}: `)).toBe(true);
    expect(err.name).toBe("PolicyError");
  });

  it("aggregates several validation errors as [e1, e2] and lists each with its position", () => {
    const err = parseError(
      `${V1}rules:\n- level: metadata\n- level: None\n  nonResourceURLs: [healthz]\n`,
      "p.yaml",
    );
    expect(err.reference).toBe(
      '[rules[0].level: Unsupported value: "metadata": supported values: "None", "Metadata", "Request", "RequestResponse", rules[1].nonResourceURLs[0]: Invalid value: "healthz": non-resource URL rules must begin with a \'/\' character]',
    );
    expect(err.issues.map((i) => [i.path, i.line, i.column])).toEqual([
      ["rules[0].level", 4, 10],
      ["rules[1].nonResourceURLs[0]", 6, 21],
    ]);
    expect(err.message.split("\n")).toEqual([
      `p.yaml:4:10: ${err.reference}`,
      `  p.yaml:4:10: ${err.issues[0]!.message}`,
      `  p.yaml:6:21: ${err.issues[1]!.message}`,
    ]);
  });

  it("refuses input over maxBytes (a 10 MB policy) before parsing it", () => {
    const big = `${V1}rules:\n${"- level: None\n  users: [aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\n".repeat(200_000)}`;
    expect(big.length).toBeGreaterThan(10_000_000);
    const err = parseError(big, "big.yaml");
    expect(err.message).toMatch(
      /^big\.yaml:1:1: policy is \d+ bytes, more than the 4194304-byte limit/,
    );
  });
});

describe("decoding details", () => {
  it("reports unknown and duplicate fields as warnings; last duplicate wins", () => {
    const p = parsePolicy(
      `${V1}rules:\n- level: None\n  Level: Metadata\n  verbs: [get]\n  verbs: [list]\n`,
    );
    expect(p.warnings.map((w) => [w.message, w.line, w.column])).toEqual([
      ['strict decoding error: unknown field "rules[0].Level"', 5, 3],
      ['strict decoding error: duplicate field "rules[0].verbs"', 7, 3],
    ]);
    expect(p.rules[0]).toEqual({ level: "None", verbs: ["list"] });
  });

  it("keys named after Object.prototype members are unknown fields, nothing more", () => {
    const p = parsePolicy(
      `${V1}rules:\n- level: None\n  constructor: x\n  __proto__: {level: Metadata}\n  toString: y\n`,
    );
    expect(p.warnings.map((w) => w.path)).toEqual([
      "rules[0].constructor",
      "rules[0].__proto__",
      "rules[0].toString",
    ]);
    expect(p.rules[0]).toEqual({ level: "None" });
    expect(Object.getPrototypeOf(p.rules[0])).toBe(Object.prototype);
  });

  it("field names are case-sensitive: `Level:` alone leaves the level empty", () => {
    const err = parseError(`${V1}rules:\n- Level: None\n`);
    expect(err.reference).toBe("rules[0].level: Required value");
  });

  it("a mis-indented field is dropped with a warning (reader_test policyWithUnknownField)", () => {
    const p = parsePolicy(
      `${V1}rules:\n- level: None\n  resources:\n  - group: ""\n    resources: ["pods"]\n    verbs: ["get"]\n`,
    );
    expect(p.warnings[0]!.message).toBe(
      'strict decoding error: unknown field "rules[0].resources[0].verbs"',
    );
    expect(p.rules[0]!.verbs).toBeUndefined();
  });

  it("apiVersion without kind is accepted", () => {
    expect(parsePolicy("apiVersion: audit.k8s.io/v1\nrules:\n- level: None\n").kind).toBe("Policy");
  });

  it("v1alpha1 is accepted with a warning", () => {
    const p = parsePolicy(
      "apiVersion: audit.k8s.io/v1alpha1\nkind: Policy\nrules:\n- level: None\n",
    );
    expect(p.warnings[0]!.message).toContain('"audit.k8s.io/v1alpha1" is deprecated');
  });

  it.each([
    ["123", "number"],
    ["true", "bool"],
    ["no", "bool"],
    ["on", "bool"],
    ["0x1f", "number"],
  ])(
    "YAML 1.1 scalar %s where a string is expected is a %s type error (YAMLToJSON has no target)",
    (value, kind) => {
      const err = parseError(`${V1}rules:\n- level: None\n  namespaces: [a, ${value}]\n`);
      expect(err.reference).toBe(
        `failed decoding: json: cannot unmarshal ${kind} into Go struct field PolicyRule.rules.namespaces of type string`,
      );
      expect(err.issues[0]).toMatchObject({ path: "rules[0].namespaces[1]", line: 5, column: 19 });
    },
  );

  it("YAML timestamps stay text (go-yaml v2)", () => {
    const p = parsePolicy(`${V1}rules:\n- level: None\n  namespaces: [2001-12-14]\n`);
    expect(p.rules[0]!.namespaces).toEqual(["2001-12-14"]);
  });

  it("quoted YAML scalars are strings", () => {
    const p = parsePolicy(`${V1}rules:\n- level: None\n  namespaces: ["no", '123']\n`);
    expect(p.rules[0]!.namespaces).toEqual(["no", "123"]);
  });

  it("apiVersion that is not a string", () => {
    const err = parseError("apiVersion: 1\nrules:\n- level: None\n");
    expect(err.reference).toBe(
      "failed decoding: couldn't get version/kind; json parse error: json: cannot unmarshal number into Go struct field .apiVersion of type string",
    );
  });

  it("JSON unknown and duplicate fields are warnings too", () => {
    const p = parsePolicy(
      '{"apiVersion":"audit.k8s.io/v1","rules":[{"level":"None","level":"Metadata","verb":["get"]}]}',
    );
    expect(p.rules).toEqual([{ level: "Metadata" }]);
    expect(p.warnings.map((w) => [w.message, w.column])).toEqual([
      ['strict decoding error: duplicate field "rules[0].level"', 58],
      ['strict decoding error: unknown field "rules[0].verb"', 77],
    ]);
  });

  it("a byte-order mark before `{` is YAML, not JSON (IsJSONBuffer)", () => {
    expect(
      parsePolicy('\ufeff{"apiVersion":"audit.k8s.io/v1","rules":[{"level":"None"}]}').rules,
    ).toHaveLength(1);
  });

  it("reads JSON", () => {
    const p = parsePolicy(
      JSON.stringify({
        apiVersion: "audit.k8s.io/v1",
        kind: "Policy",
        omitStages: ["RequestReceived"],
        rules: [{ level: "Metadata" }],
      }),
    );
    expect(p.rules).toEqual([{ level: "Metadata" }]);
    expect(p.omitStages).toEqual(["RequestReceived"]);
  });

  it("refuses an alias bomb instead of expanding it", () => {
    // 2 000 aliases of a rule with 1 000 users: 2 million values from a 14 KB file
    // (a real policy has a few hundred).
    const users = Array(1000).fill("a").join(",");
    const big = `${V1}r0: &r0 {level: None, users: [${users}]}\nrules: [${Array(2000).fill("*r0").join(",")}]\n`;
    const err = parseError(big);
    expect(err.reference).toMatch(
      /^the policy expands to more than \d+ characters through YAML aliases/,
    );
    expect(err.issues[0]!.line).toBe(3);
  });

  it("bounds alias expansion by characters: one alias of a long string repeated (issue 20 item 3)", () => {
    // 116 KB of text that would expand to 100 MB of user names.
    const long = "u".repeat(100_000);
    const text = `${V1}x: &s ${long}\nrules:\n- level: None\n  users: [${Array(1000).fill("*s").join(",")}]\n`;
    const t = Date.now();
    const err = parseError(text);
    expect(err.reference).toMatch(/expands to more than \d+ characters through YAML aliases/);
    expect(Date.now() - t).toBeLessThan(5000);
  });

  it("a 30,000-rule policy without aliases is not taken for alias expansion (issue 20 item 3)", () => {
    // Short rules: the most nodes per character, which is what the alias budget counts. (Six-line
    // rules made the yaml library spend 10 s here on an idle machine, past the limit on a busy CI.)
    const rules = Array.from(
      { length: 30_000 },
      (_, i) => `- level: Metadata\n  users: [user-${i}]\n  verbs: [get, list]\n`,
    ).join("");
    const p = parsePolicy(`${V1}rules:\n${rules}`, { maxBytes: 8 * 1024 * 1024 });
    expect(p.rules).toHaveLength(30_000);
  }, 120_000);

  it("keeps metadata, follows aliases, ignores a trailing empty document", () => {
    const p = parsePolicy(
      `${V1}metadata:\n  name: x\nrules:\n- level: None\n  users: &u [a, b]\n- level: Metadata\n  users: *u\n---\n`,
    );
    expect(p.metadata).toEqual({ name: "x" });
    expect(p.rules[1]!.users).toEqual(["a", "b"]);
  });
});

describe("safeParsePolicy", () => {
  it("returns the policy or the PolicyError", () => {
    const ok = safeParsePolicy(`${V1}rules:\n- level: None\n`);
    expect(ok.ok && ok.policy.rules).toEqual([{ level: "None" }]);
    const bad = safeParsePolicy(`${V1}rules: []\n`, { source: "p.yaml" });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.message).toBe("p.yaml:3:8: loaded illegal policy with 0 rules");
  });
});

describe("loadPolicyFile", () => {
  const dir = mkdtempSync(join(tmpdir(), "kaudit-policy-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string | Buffer) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it("loads a corpus file", async () => {
    const path = write("gce.yaml", fixture("gce-configure-helper-policy.yaml"));
    expect((await loadPolicyFile(path)).rules).toHaveLength(17);
  });

  it("puts file:line:col in the message and kube's `from file` text in reference", async () => {
    const path = write("bad.yaml", `${V1}rules:\n- level: metadata\n`);
    const err = (await loadPolicyFile(path).catch((e: unknown) => e)) as PolicyError;
    expect(err).toBeInstanceOf(PolicyError);
    expect(err.message).toBe(
      `${path}:4:10: rules[0].level: Unsupported value: "metadata": supported values: "None", "Metadata", "Request", "RequestResponse"`,
    );
    expect(err.reference).toBe(
      `rules[0].level: Unsupported value: "metadata": supported values: "None", "Metadata", "Request", "RequestResponse": from file ${path}`,
    );
    expect(err.source).toBe(path);
  });

  it("a missing file", async () => {
    const path = join(dir, "nope.yaml");
    await expect(loadPolicyFile(path)).rejects.toThrow(
      `failed to read file path ${JSON.stringify(path)}: open ${path}: no such file or directory`,
    );
  });

  it("a directory", async () => {
    await expect(loadPolicyFile(dir)).rejects.toThrow(
      `failed to read file path ${JSON.stringify(dir)}: read ${dir}: is a directory`,
    );
  });

  it("an empty path", async () => {
    await expect(loadPolicyFile("")).rejects.toThrow("file path not specified");
  });

  it("an empty file", async () => {
    const path = write("empty.yaml", "");
    await expect(loadPolicyFile(path)).rejects.toThrow(
      `${path}:1:1: unknown group version field audit.k8s.io/__internal, Kind=Policy in policy`,
    );
  });

  it("a 10 MB file is refused without reading it", async () => {
    const path = write("big.yaml", Buffer.alloc(10 * 1024 * 1024, 0x20));
    await expect(loadPolicyFile(path)).rejects.toThrow(
      `${path}:1:1: policy is 10485760 bytes, more than the 4194304-byte limit`,
    );
  });

  it("several documents name the file and the second document's line", async () => {
    const path = write(
      "multi.yaml",
      `${V1}rules:\n- level: None\n---\n${V1}rules:\n- level: Metadata\n`,
    );
    await expect(loadPolicyFile(path)).rejects.toThrow(
      `${path}:5:1: the policy has 2 YAML documents`,
    );
  });
});
