import { readFile, stat } from "node:fs/promises";
import { checkGoJSON, type Issue, type Policy } from "@kaudit/api";
import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseAllDocuments,
} from "yaml";
import { aggregate, PolicyError, positionPrefix } from "./errors";
import { validatePolicyLocated } from "./validate";
import { checkYAMLDepth } from "./yaml-depth";

/** A loaded policy plus what kube-apiserver would have passed over silently. */
export type ParsedPolicy = Policy & {
  /**
   * Problems that do not stop loading, each with its position: fields dropped by the lenient
   * decode (`strict decoding error: unknown field "rules[0].resource"`), duplicate fields, and
   * the deprecation of v1beta1/v1alpha1. Not enumerable, so the policy serialises cleanly.
   */
  readonly warnings: readonly Issue[];
};

/** Options for {@link parsePolicy} and {@link loadPolicyFile}. */
export interface ParsePolicyOptions {
  /** A file name or label put before `line:col` in messages. */
  source?: string;
  /** Refuse larger inputs (bytes, UTF-8). Default 4 MiB; a policy is a few KiB. */
  maxBytes?: number;
  /**
   * Refuse inputs whose collections nest deeper, checked before anything is composed. Default
   * {@link DEFAULT_MAX_POLICY_DEPTH}; a policy needs 6 levels (`rules[].resources[].resourceNames[]` in the Policy map).
   */
  maxDepth?: number;
}

/** The default input size limit: 4 MiB. */
export const DEFAULT_MAX_POLICY_BYTES = 4 * 1024 * 1024;

/**
 * The default nesting limit: 100 levels. kube-apiserver's readers stop at 10,000 (go-yaml's
 * flow level and indent limits, encoding/json's scanner); the YAML composer and the decoder here
 * recurse per level and run out of stack long before that, so the limit is lower and checked first.
 */
export const DEFAULT_MAX_POLICY_DEPTH = 100;

const GROUP = "audit.k8s.io";
const SCHEME = "k8s.io/apiserver/pkg/audit/scheme.go:30";
const DEPRECATED_VERSIONS = new Set(["v1beta1", "v1alpha1"]);

type GoType =
  | { t: "string"; go: string }
  | { t: "bool"; go: string }
  | { t: "list"; go: string; elem: GoType }
  | { t: "struct"; go: string; name: string; fields: Record<string, GoType> }
  | { t: "any" };

function schema(pkg: string): GoType {
  const str = { t: "string", go: "string" } as const;
  const strings: GoType = { t: "list", go: "[]string", elem: str };
  const stages: GoType = {
    t: "list",
    go: `[]${pkg}.Stage`,
    elem: { t: "string", go: `${pkg}.Stage` },
  };
  const any: GoType = { t: "any" };
  const groupResources: GoType = {
    t: "struct",
    go: `${pkg}.GroupResources`,
    name: "GroupResources",
    fields: { group: str, resources: strings, resourceNames: strings },
  };
  const rule: GoType = {
    t: "struct",
    go: `${pkg}.PolicyRule`,
    name: "PolicyRule",
    fields: {
      level: { t: "string", go: `${pkg}.Level` },
      users: strings,
      userGroups: strings,
      verbs: strings,
      resources: { t: "list", go: `[]${pkg}.GroupResources`, elem: groupResources },
      namespaces: strings,
      nonResourceURLs: strings,
      omitStages: stages,
      omitManagedFields: { t: "bool", go: "bool" },
    },
  };
  const metaFields: Record<string, GoType> = {};
  for (const f of [
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
  ]) {
    metaFields[f] = any;
  }
  return {
    t: "struct",
    go: `${pkg}.Policy`,
    name: "Policy",
    fields: {
      kind: str,
      apiVersion: str,
      metadata: { t: "struct", go: "v1.ObjectMeta", name: "ObjectMeta", fields: metaFields },
      rules: { t: "list", go: `[]${pkg}.PolicyRule`, elem: rule },
      omitStages: stages,
      omitManagedFields: { t: "bool", go: "bool" },
    },
  };
}

interface Located extends Issue {
  offset?: number;
}

class Decoder {
  readonly warnings: Located[] = [];
  readonly typeErrors: Located[] = [];
  readonly positions = new Map<string, number>();

  /**
   * What is left to decode, in nodes plus the characters of their strings: YAML aliases can make
   * a small file expand exponentially, or repeat one long string many times. A document without
   * aliases never spends more than its own length (every node and character comes from the
   * text), so the budget is twice the text's length (a node can be decoded twice) plus a margin, and only expansion exhausts it.
   */
  private budget: number;

  constructor(
    private readonly doc: Document,
    private readonly maxDepth: number,
    readonly limit: number,
  ) {
    this.budget = limit;
  }

  /** Spends the budget for one node (and its string's characters). */
  private spend(node: Node): void {
    const v = isScalar(node) ? node.value : undefined;
    this.budget -= 1 + (typeof v === "string" ? v.length : 0);
    if (this.budget < 0) throw new AliasBomb(node.range?.[0] ?? 0);
  }

  private readonly aliases = new Map<unknown, unknown>();

  private resolve(node: unknown): unknown {
    if (!isAlias(node)) return node;
    // Alias.resolve searches the whole document; cache it so aliases cost O(1).
    let target = this.aliases.get(node);
    if (target === undefined) {
      target = node;
      for (let i = 0; i < 100 && isAlias(target); i++) target = target.resolve(this.doc);
      this.aliases.set(node, target ?? null);
    }
    return target;
  }

  /**
   * A node as a plain value (what `toJSON` gives), with aliases expanded under the node budget and
   * the nesting limit, and every key set as an own property (`__proto__` never reaches a prototype).
   */
  private plain(raw: unknown, depth: number): unknown {
    const node = this.resolve(raw) as Node | null | undefined;
    if (node === null || node === undefined) return null;
    this.spend(node);
    if (isScalar(node)) return node.toJSON();
    if (depth > this.maxDepth) throw new TooDeep(node.range?.[0] ?? 0);
    if (isSeq(node)) return node.items.map((item) => this.plain(item, depth + 1));
    if (!isMap(node)) return null;
    const out: Record<string, unknown> = {};
    const set = (k: string, v: unknown, keep: boolean) => {
      if (keep && Object.hasOwn(out, k)) return;
      Object.defineProperty(out, k, {
        value: v,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    };
    for (const pair of node.items) {
      const key = this.plain(pair.key, depth + 1);
      const value = this.plain(pair.value, depth + 1);
      // YAML 1.1 merge keys (`<<: *base`): earlier keys and explicit ones win
      if (key === "<<" && isScalar(pair.key) && pair.key.source === "<<") {
        for (const m of Array.isArray(value) ? value : [value]) {
          if (typeof m === "object" && m !== null && !Array.isArray(m))
            for (const [k, v] of Object.entries(m)) set(k, v, true);
        }
        continue;
      }
      set(
        typeof key === "object" && key !== null ? JSON.stringify(key) : String(key),
        value,
        false,
      );
    }
    return out;
  }

  private jsonKind(node: unknown): string {
    if (isMap(node)) return "object";
    if (isSeq(node)) return "array";
    if (isScalar(node)) {
      const v = node.value;
      if (typeof v === "string") return "string";
      if (typeof v === "boolean") return "bool";
      if (typeof v === "number" || typeof v === "bigint") return "number";
    }
    return "string";
  }

  private typeError(
    node: Node,
    type: GoType,
    path: string,
    goStruct: string,
    goField: string,
  ): undefined {
    const go = type.t === "any" ? "interface {}" : type.go;
    this.typeErrors.push({
      path,
      message: `json: cannot unmarshal ${this.jsonKind(node)} into Go struct field ${goStruct}.${goField} of type ${go}`,
      offset: node.range?.[0] ?? 0,
    });
    return undefined;
  }

  /** Decodes `node` as `type`; undefined means the Go zero value (field left out). */
  decode(raw: unknown, type: GoType, path: string, goStruct: string, goField: string): unknown {
    const node = this.resolve(raw) as Node | null | undefined;
    if (node === null || node === undefined) return undefined;
    this.spend(node);
    if (node.range) this.positions.set(path, node.range[0]);
    if (isScalar(node) && node.value === null) return undefined;
    switch (type.t) {
      case "any":
        return this.plain(node, 1);
      case "string": {
        if (!isScalar(node)) return this.typeError(node, type, path, goStruct, goField);
        const v = node.value;
        // kube's serializer converts YAML to JSON without a target type, so YAML 1.1 numbers
        // and booleans (`123`, `yes`, `no`, `on`) stay numbers and booleans and fail here.
        if (typeof v === "string") return v;
        // go-yaml v2 keeps timestamps as their text when decoding into interface{}.
        if (v instanceof Date && typeof node.source === "string") return node.source;
        return this.typeError(node, type, path, goStruct, goField);
      }
      case "bool": {
        if (isScalar(node) && typeof node.value === "boolean") return node.value;
        return this.typeError(node, type, path, goStruct, goField);
      }
      case "list": {
        if (!isSeq(node)) return this.typeError(node, type, path, goStruct, goField);
        const out: unknown[] = [];
        node.items.forEach((item, i) => {
          const v = this.decode(item, type.elem, `${path}[${i}]`, goStruct, goField);
          // A null element (or one that failed) is the element type's zero value in Go.
          out.push(v ?? zero(type.elem));
        });
        return out;
      }
      case "struct": {
        if (!isMap(node)) return this.typeError(node, type, path, goStruct, goField);
        const out: Record<string, unknown> = {};
        const seen = new Set<string>();
        for (const pair of node.items) {
          const keyNode = this.resolve(pair.key) as Node | null;
          const key = isScalar(keyNode) ? String(keyNode.value) : String(keyNode ?? "");
          const keyOffset = keyNode?.range?.[0] ?? node.range?.[0] ?? 0;
          const fieldPath = path === "" ? key : `${path}.${key}`;
          const fieldType = Object.hasOwn(type.fields, key) ? type.fields[key] : undefined;
          if (fieldType === undefined) {
            this.warnings.push({
              path: fieldPath,
              message: `strict decoding error: unknown field ${JSON.stringify(fieldPath)}`,
              offset: keyOffset,
            });
            continue;
          }
          if (seen.has(key)) {
            this.warnings.push({
              path: fieldPath,
              message: `strict decoding error: duplicate field ${JSON.stringify(fieldPath)}`,
              offset: keyOffset,
            });
          }
          seen.add(key);
          // Go's UnmarshalTypeError names the innermost struct and the full JSON field path.
          const childField = goField === "" ? key : `${goField}.${key}`;
          const v = this.decode(pair.value, fieldType, fieldPath, type.name, childField);
          // null leaves a Go field as it was; otherwise the last duplicate wins.
          if (v !== undefined) out[key] = v;
        }
        return out;
      }
    }
  }
}

/** An alias-expanded value nested deeper than the limit (aliases can nest what the text does not). */
class TooDeep extends Error {
  constructor(readonly offset: number) {
    super("too deep");
  }
}

/** The most YAML aliases (`*name`) a policy may use; each costs the parser about a kilobyte. */
const MAX_YAML_ALIASES = 10_000;

/** How many `*alias` tokens the text has (counting up to `cap` + 1), and where the one over `cap` is. */
function countYAMLAliases(text: string, cap: number): { count: number; offset: number } {
  const re = /(?:^|[\s,[{:-])\*[^\s,[\]{}]/g;
  let count = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (++count > cap) return { count, offset: m.index };
  }
  return { count, offset: 0 };
}

/** What a policy may expand to beyond its own length through aliases (nodes plus string characters). */
const ALIAS_MARGIN = 100_000;

class AliasBomb extends Error {
  constructor(readonly offset: number) {
    super("alias bomb");
  }
}

function zero(type: GoType): unknown {
  if (type.t === "string") return "";
  if (type.t === "bool") return false;
  if (type.t === "struct") return {};
  return undefined;
}

function tooDeepMessage(maxDepth: number): string {
  return `the policy nests deeper than ${maxDepth} levels (an audit policy needs 6; raise maxDepth if this is intended)`;
}

function kindNotRegistered(kind: string, version: string): string {
  return `failed decoding: no kind ${JSON.stringify(kind)} is registered for version ${JSON.stringify(version)} in scheme ${JSON.stringify(SCHEME)}`;
}

/**
 * Parses an audit policy (YAML or JSON) as kube-apiserver's LoadPolicyFromBytes does
 * (pkg/audit/policy/reader.go): strict decode, falling back to lenient decoding for unknown and
 * duplicate fields (each reported in `warnings` with its line and column), the group/version
 * check, ValidatePolicy, and the rule-count check. `audit.k8s.io/v1beta1` and `v1alpha1` are
 * accepted with a deprecation warning and upgraded to v1 (kube-apiserver ≥ 1.24 rejects them).
 *
 * @throws {PolicyError} with kube-apiserver's error text, every issue's path, line and column.
 * @example
 * const policy = parsePolicy(fs.readFileSync("audit-policy.yaml", "utf8"), { source: "audit-policy.yaml" });
 * for (const w of policy.warnings) console.warn(`${w.line}:${w.column}: ${w.message}`);
 */
export function parsePolicy(text: string, options: ParsePolicyOptions = {}): ParsedPolicy {
  const { source } = options;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_POLICY_BYTES;
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_POLICY_DEPTH;
  const lineCounter = new LineCounter();
  const fail = (issues: Located[], referenceMessage?: string): never => {
    const located: Issue[] = issues.map(({ offset, ...rest }) => {
      if (offset === undefined || rest.line !== undefined) return rest;
      const pos = lineCounter.linePos(offset);
      return { ...rest, line: pos.line, column: pos.col };
    });
    const reference = referenceMessage ?? aggregate(located.map((i) => i.message));
    let message = `${positionPrefix(source, located[0] ?? { path: "" })}${reference}`;
    if (located.length > 1) {
      message += located.map((i) => `\n  ${positionPrefix(source, i)}${i.message}`).join("");
    }
    throw new PolicyError(message, { issues: located, source, reference });
  };

  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > maxBytes) {
    fail([
      {
        path: "",
        message: `policy is ${bytes} bytes, more than the ${maxBytes}-byte limit (an audit policy is a few KiB; raise maxBytes if this is intended)`,
        line: 1,
        column: 1,
      },
    ]);
  }

  // apimachinery IsJSONBuffer: a `{` after spaces, tabs and line breaks only.
  const fromJSON = /^[ \t\r\n]*\{/.test(text);
  // Positions of errors found before the YAML parser (which fills lineCounter) has run.
  const countLines = () => {
    lineCounter.addNewLine(0);
    for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1))
      lineCounter.addNewLine(i + 1);
  };
  if (fromJSON) {
    const syntax = checkGoJSON(text);
    if (syntax !== undefined) {
      countLines();
      fail([{ path: "", message: `failed decoding: ${syntax.message}`, offset: syntax.offset }]);
    }
  }
  const deep = checkYAMLDepth(text, maxDepth);
  if (deep !== undefined) {
    countLines();
    fail([{ path: "", message: tooDeepMessage(maxDepth), offset: deep.offset }]);
  }

  // The YAML parser itself needs about a kilobyte per alias: count them before parsing.
  const aliases = countYAMLAliases(text, MAX_YAML_ALIASES);
  if (!fromJSON && aliases.count > MAX_YAML_ALIASES) {
    countLines();
    fail([
      {
        path: "",
        message: `the policy uses more than ${MAX_YAML_ALIASES} YAML aliases (a real policy uses a few); not parsed`,
        offset: aliases.offset,
      },
    ]);
  }

  const docs = parseAllDocuments(text, {
    lineCounter,
    uniqueKeys: false,
    version: fromJSON ? "1.2" : "1.1",
    merge: true,
    prettyErrors: false,
  });
  const list = Array.isArray(docs) ? docs : [];
  for (const doc of list) {
    if (doc.errors.length > 0) {
      fail(
        doc.errors
          .map((err) => {
            const pos = lineCounter.linePos(err.pos[0]);
            const first = err.message.split(/ at line \d+, column \d+/)[0]!.split("\n")[0]!;
            return {
              path: "",
              message: `failed decoding: error converting YAML to JSON: yaml: line ${pos.line}: ${first}`,
              line: pos.line,
              column: pos.col,
            };
          })
          .slice(0, 1),
      );
    }
  }
  const withContent = list.filter(
    (d) => d.contents !== null && !(isScalar(d.contents) && d.contents.value === null),
  );
  if (withContent.length > 1) {
    const second = withContent[1]!;
    fail([
      {
        path: "",
        message: `the policy has ${withContent.length} YAML documents; kube-apiserver reads only the first and silently ignores the others, so put every rule in one Policy`,
        offset: second.range[0],
      },
    ]);
  }
  const doc = list[0];
  const root = doc ? (doc.contents as Node | null) : null;
  const rootOffset = root?.range?.[0] ?? 0;

  // Group/version/kind, read the way apimachinery's Interpret does (case-insensitive keys).
  let apiVersion = "";
  let kind = "";
  const rootIsNull = root === null || (isScalar(root) && root.value === null);
  if (!rootIsNull) {
    if (!isMap(root)) {
      const jsonKind = isSeq(root)
        ? "array"
        : isScalar(root)
          ? typeof root.value === "string"
            ? "string"
            : typeof root.value === "boolean"
              ? "bool"
              : "number"
          : "object";
      fail([
        {
          path: "",
          message: `failed decoding: couldn't get version/kind; json parse error: json: cannot unmarshal ${jsonKind} into Go value of type struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }`,
          offset: rootOffset,
        },
      ]);
    }
    for (const field of ["apiVersion", "kind"] as const) {
      const pairs = (root as import("yaml").YAMLMap).items.filter(
        (p) => isScalar(p.key) && String(p.key.value).toLowerCase() === field.toLowerCase(),
      );
      const pair =
        pairs.find((p) => isScalar(p.key) && p.key.value === field) ?? pairs[pairs.length - 1];
      if (!pair) continue;
      const v = pair.value;
      if (v === null || (isScalar(v) && v.value === null)) continue;
      if (!isScalar(v) || typeof v.value !== "string") {
        const k = isSeq(v)
          ? "array"
          : isMap(v)
            ? "object"
            : isScalar(v) && typeof v.value === "boolean"
              ? "bool"
              : "number";
        fail([
          {
            path: field,
            message: `failed decoding: couldn't get version/kind; json parse error: json: cannot unmarshal ${k} into Go struct field .${field} of type string`,
            offset: (v as Node).range?.[0] ?? rootOffset,
          },
        ]);
      }
      if (field === "apiVersion") apiVersion = (v as import("yaml").Scalar).value as string;
      else kind = (v as import("yaml").Scalar).value as string;
    }
  }
  const apiVersionOffset = (): number => {
    if (!isMap(root)) return rootOffset;
    const pair = root.items.find(
      (p) => isScalar(p.key) && String(p.key.value).toLowerCase() === "apiversion",
    );
    return (pair?.value as Node | undefined)?.range?.[0] ?? rootOffset;
  };

  let group = "";
  let version = "";
  if (apiVersion !== "") {
    const parts = apiVersion.split("/");
    if (parts.length === 1) version = parts[0]!;
    else if (parts.length === 2) [group, version] = parts as [string, string];
    else {
      fail([
        {
          path: "apiVersion",
          message: `failed decoding: unexpected GroupVersion string: ${apiVersion}`,
          offset: apiVersionOffset(),
        },
      ]);
    }
  }
  const warnings: Located[] = [];
  let pkg = "audit";
  if (apiVersion === "") {
    group = GROUP;
    version = "__internal";
  } else if (group === GROUP && (version === "v1" || DEPRECATED_VERSIONS.has(version))) {
    pkg = version;
    if (version !== "v1") {
      warnings.push({
        path: "apiVersion",
        message: `"${apiVersion}" is deprecated and will be removed in a future release, use "audit.k8s.io/v1" instead (kube-apiserver 1.24 and later refuse it; kaudit upgrades it to v1)`,
        offset: apiVersionOffset(),
      });
    }
  } else if (!(group === GROUP && version === "__internal")) {
    fail([
      {
        path: "apiVersion",
        message: kindNotRegistered(kind || "Policy", apiVersion),
        offset: apiVersionOffset(),
      },
    ]);
  }
  if (kind === "") kind = "Policy";
  if (kind !== "Policy") {
    const kindPair = isMap(root)
      ? root.items.find((p) => isScalar(p.key) && String(p.key.value).toLowerCase() === "kind")
      : undefined;
    const offset = (kindPair?.value as Node | undefined)?.range?.[0] ?? rootOffset;
    const registered =
      ["Event", "EventList", "PolicyList"].includes(kind) && version !== "__internal";
    fail([
      {
        path: "kind",
        message: registered
          ? `failed decoding: converting (${version}.${kind}) to (audit.Policy): unknown conversion`
          : kindNotRegistered(kind, `${group}/${version}`),
        offset,
      },
    ]);
  }

  // Field decoding: Go type errors are fatal, unknown/duplicate fields are warnings.
  const decoder = new Decoder(
    doc ?? (undefined as unknown as Document),
    maxDepth,
    2 * text.length + ALIAS_MARGIN,
  );
  let expanded: unknown;
  try {
    expanded = rootIsNull ? {} : decoder.decode(root, schema(pkg), "", "Policy", "");
  } catch (e) {
    if (e instanceof TooDeep)
      fail([{ path: "", message: tooDeepMessage(maxDepth), offset: e.offset }]);
    if (!(e instanceof AliasBomb)) throw e;
    fail([
      {
        path: "",
        message: `the policy expands to more than ${decoder.limit} characters through YAML aliases (twice its own length plus ${ALIAS_MARGIN})`,
        offset: e.offset,
      },
    ]);
  }
  const decoded = expanded as Record<string, unknown> | undefined;
  if (decoder.typeErrors.length > 0) {
    const first = decoder.typeErrors[0]!;
    fail(
      decoder.typeErrors.map((e) => ({ ...e, message: `failed decoding: ${e.message}` })),
      `failed decoding: ${first.message}`,
    );
  }
  if (decoder.warnings.length > 0) {
    // kube: "Audit policy contains errors, falling back to lenient decoding: strict decoding error: ..."
    warnings.push(...decoder.warnings);
  }

  if (version === "__internal") {
    fail([
      {
        path: "apiVersion",
        message: `unknown group version field ${GROUP}/__internal, Kind=Policy in policy${rootIsNull ? " (the policy is empty)" : ""}`,
        offset: rootOffset,
      },
    ]);
  }

  const policy = { kind: "Policy", apiVersion: "audit.k8s.io/v1", ...(decoded ?? {}) } as Record<
    string,
    unknown
  >;
  policy.kind = "Policy";
  policy.apiVersion = "audit.k8s.io/v1";
  if (policy.rules === undefined) policy.rules = [];

  const locate = (path: string): number => {
    let p = path;
    for (;;) {
      const off = decoder.positions.get(p);
      if (off !== undefined) return off;
      const cut = Math.max(p.lastIndexOf("."), p.lastIndexOf("["));
      if (cut <= 0) return rootOffset;
      p = p.slice(0, cut);
    }
  };
  const issues = validatePolicyLocated(policy as unknown as Policy);
  if (issues.length > 0) {
    fail(issues.map(({ locatePath, ...i }) => ({ ...i, offset: locate(locatePath) })));
  }
  if ((policy.rules as unknown[]).length === 0) {
    fail([
      { path: "rules", message: "loaded illegal policy with 0 rules", offset: locate("rules") },
    ]);
  }

  const located: Issue[] = warnings
    .map(({ offset, ...w }) => {
      const pos = lineCounter.linePos(offset ?? 0);
      return { ...w, line: pos.line, column: pos.col };
    })
    .sort((a, b) => a.line - b.line || a.column - b.column);
  Object.defineProperty(policy, "warnings", { value: Object.freeze(located), enumerable: false });
  return policy as unknown as ParsedPolicy;
}

/**
 * Loads a policy file as kube-apiserver's LoadPolicyFromFile does, with the file name and
 * `line:col` in every message (`audit.yaml:4:12: rules[0].level: Unsupported value: ...`). The
 * error's `reference` carries kube-apiserver's own text (`<error>: from file <path>`).
 *
 * @throws {PolicyError} for an unreadable, oversized or invalid file.
 */
export async function loadPolicyFile(
  path: string,
  options: Omit<ParsePolicyOptions, "source"> = {},
): Promise<ParsedPolicy> {
  if (path === "") {
    throw new PolicyError("file path not specified", {
      issues: [{ path: "", message: "file path not specified" }],
      reference: "file path not specified",
    });
  }
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_POLICY_BYTES;
  let text: string;
  try {
    const st = await stat(path);
    if (st.isFile() && st.size > maxBytes) {
      const message = `policy is ${st.size} bytes, more than the ${maxBytes}-byte limit (an audit policy is a few KiB; raise maxBytes if this is intended)`;
      throw new PolicyError(`${path}:1:1: ${message}`, {
        issues: [{ path: "", message, line: 1, column: 1 }],
        source: path,
        reference: message,
      });
    }
    text = await readFile(path, "utf8");
  } catch (e) {
    if (e instanceof PolicyError) throw e;
    const err = e as NodeJS.ErrnoException;
    // Go: os.ReadFile opens a directory fine and fails on the read.
    const op = err.code === "EISDIR" ? "read" : "open";
    const os = `${op} ${path}: ${goErrno(err)}`;
    const message = `failed to read file path ${JSON.stringify(path)}: ${os}`;
    throw new PolicyError(message, {
      issues: [{ path: "", message }],
      source: path,
      reference: message,
      cause: e,
    });
  }
  try {
    return parsePolicy(text, { ...options, source: path });
  } catch (e) {
    if (e instanceof PolicyError) {
      throw new PolicyError(e.message, {
        issues: e.issues,
        source: path,
        reference: `${e.reference}: from file ${path}`,
        cause: e.cause,
      });
    }
    throw e;
  }
}

function goErrno(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case "ENOENT":
      return "no such file or directory";
    case "EACCES":
      return "permission denied";
    case "EISDIR":
      return "is a directory";
    default:
      return err.message;
  }
}

/** The result of {@link safeParsePolicy}. */
export type SafeParsePolicyResult =
  | { ok: true; policy: ParsedPolicy }
  | { ok: false; error: PolicyError };

/**
 * {@link parsePolicy} without throwing: `{ ok: true, policy }` or `{ ok: false, error }` with the
 * same PolicyError (every issue with path, line and column).
 */
export function safeParsePolicy(
  text: string,
  options: ParsePolicyOptions = {},
): SafeParsePolicyResult {
  try {
    return { ok: true, policy: parsePolicy(text, options) };
  } catch (e) {
    if (e instanceof PolicyError) return { ok: false, error: e };
    throw e;
  }
}
