import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import type { Issue } from "./errors";
import { schemas } from "./schemas.generated";
import type { Event, EventList, Policy } from "./types";

/** The outcome of a validator: the value, typed, or every problem with its field path. */
export type ValidationResult<T> = { ok: true; value: T } | { ok: false; issues: Issue[] };

/** Names of the shipped schemas. */
export type SchemaName = keyof typeof schemas;

let ajv: Ajv | undefined;
const compiled = new Map<SchemaName, ValidateFunction>();

// Compiled once, on first use, so importing the package stays cheap.
function validator(name: SchemaName): ValidateFunction {
  let fn = compiled.get(name);
  if (!fn) {
    ajv ??= new Ajv({ allErrors: true, strict: false, verbose: true });
    fn = ajv.compile(schemas[name] as object);
    compiled.set(name, fn);
  }
  return fn;
}

/** `/rules/3/level` → `rules[3].level`. */
export function pointerToPath(pointer: string): string {
  let out = "";
  for (const raw of pointer.split("/").slice(1)) {
    const part = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (/^\d+$/.test(part)) out += `[${part}]`;
    else out += out ? `.${part}` : part;
  }
  return out;
}

function join(path: string, prop: string): string {
  return path ? `${path}.${prop}` : prop;
}

const quote = (v: unknown) => JSON.stringify(v);

// Messages in the wording of apimachinery's field errors where one applies.
function toIssue(e: ErrorObject): Issue {
  const path = pointerToPath(e.instancePath);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case "required":
      return { path: join(path, String(p.missingProperty)), message: "Required value" };
    case "additionalProperties":
      return { path: join(path, String(p.additionalProperty)), message: "unknown field" };
    case "enum":
      return {
        path,
        message: `Unsupported value: ${quote(e.data)}: supported values: ${(p.allowedValues as unknown[]).map(quote).join(", ")}`,
      };
    case "const":
      return {
        path,
        message: `Unsupported value: ${quote(e.data)}: supported values: ${quote(p.allowedValue)}`,
      };
    case "type":
      return {
        path,
        message: `Invalid value: ${quote(e.data)}: must be of type ${String(p.type).replace(",", " or ")}`,
      };
    case "pattern":
      return { path, message: `Invalid value: ${quote(e.data)}: must match ${String(p.pattern)}` };
    default:
      return { path, message: `Invalid value: ${quote(e.data)}: ${e.message ?? e.keyword}` };
  }
}

function issuesOf(errors: readonly ErrorObject[]): Issue[] {
  // anyOf (e.g. MicroTime | null) reports each branch plus a summary; keep the summary only
  // where the branches said nothing more useful than a type mismatch.
  const anyOfPaths = new Set(
    errors.filter((e) => e.keyword === "anyOf").map((e) => e.instancePath),
  );
  // `kind: 0` fails both `type: string` and `const: "Event"`; the const says more.
  const valuePaths = new Set(
    errors.filter((e) => e.keyword === "const" || e.keyword === "enum").map((e) => e.instancePath),
  );
  const seen = new Set<string>();
  const out: Issue[] = [];
  for (const e of errors) {
    if (e.keyword === "type" && valuePaths.has(e.instancePath)) continue;
    if (anyOfPaths.has(e.instancePath) && e.keyword !== "anyOf") {
      if (e.keyword === "type") continue;
    }
    const issue =
      e.keyword === "anyOf"
        ? {
            path: pointerToPath(e.instancePath),
            message: `Invalid value: ${quote(e.data)}: matches none of the allowed forms`,
          }
        : toIssue(e);
    const key = `${issue.path}\u0000${issue.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(issue);
    }
  }
  // An anyOf whose branch gave a specific error (a pattern, say) needs no summary as well.
  return out.filter(
    (i, _, all) =>
      !i.message.endsWith("matches none of the allowed forms") ||
      !all.some((j) => j !== i && j.path === i.path),
  );
}

function run<T>(name: SchemaName, value: unknown): ValidationResult<T> {
  const fn = validator(name);
  if (fn(value)) return { ok: true, value: value as T };
  return { ok: false, issues: issuesOf(fn.errors ?? []) };
}

/**
 * Checks an audit.k8s.io/v1 event against the Event schema (shape only). Upgrade older
 * versions first with `upgradeEvent`. Unknown fields are reported as `unknown field` issues;
 * kube-apiserver's decoder ignores them, so a caller may treat those as warnings.
 */
export function validateEvent(value: unknown): ValidationResult<Event> {
  return run<Event>("Event", value);
}

/** Checks an audit.k8s.io/v1 EventList against its schema; item paths read `items[3].user`. */
export function validateEventList(value: unknown): ValidationResult<EventList> {
  return run<EventList>("EventList", value);
}

/**
 * Checks a policy's shape against the Policy schema. This is not kube-apiserver's semantic
 * validation (levels, stages, URL wildcards, groups): that is @kaudit/policy's `validatePolicy`.
 */
export function validatePolicySchema(value: unknown): ValidationResult<Policy> {
  return run<Policy>("Policy", value);
}

export { schemas };
