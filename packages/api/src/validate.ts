import { createRequire } from "node:module";
import type { Ajv, ErrorObject, ValidateFunction } from "ajv";
import { rawJSONOf } from "./encode";
import type { Issue } from "./errors";
import { isEventShape } from "./event-shape";
import { jsonDepth } from "./go-json";
import { jsonDepthExceeded, MAX_JSON_DEPTH } from "./json-depth";
import { microTimeRangeError } from "./micro-time";
import { schemas } from "./schemas.generated";
import type { Event, EventList, Policy } from "./types";

/** The outcome of a validator: the value, typed, or every problem with its field path. */
export type ValidationResult<T> = { ok: true; value: T } | { ok: false; issues: Issue[] };

/** Names of the shipped schemas. */
export type SchemaName = keyof typeof schemas;

let ajv: Ajv | undefined;
const compiled = new Map<SchemaName, ValidateFunction>();

/**
 * ajv itself, loaded on first use: loading it and compiling the Event schema take ~0.3 s of a
 * command's start-up, and valid events never need it (see event-shape.ts).
 */
function loadAjv(): Ajv {
  const { Ajv: AjvClass } = createRequire(import.meta.url)("ajv") as typeof import("ajv");
  return new AjvClass({ allErrors: true, strict: false, verbose: true });
}

// Compiled once, on first use, so importing the package stays cheap.
function validator(name: SchemaName): ValidateFunction {
  let fn = compiled.get(name);
  if (!fn) {
    ajv ??= loadAjv();
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

const QUOTE_MAX = 120;

/**
 * A value as a message quotes it: JSON, cut after 120 characters. Objects and arrays are quoted
 * only when small and shallow (JSON.stringify of a deep one would overflow the stack; a big one
 * would flood the message).
 */
function quote(v: unknown): string {
  let text: string | undefined;
  if (typeof v !== "object" || v === null)
    text = typeof v === "bigint" ? String(v) : JSON.stringify(v);
  else if (jsonDepth(v, 8) > 8 || Object.keys(v).length > 16)
    text = Array.isArray(v) ? "[…]" : "{…}";
  else {
    try {
      text = JSON.stringify(v);
    } catch {
      text = Array.isArray(v) ? "[…]" : "{…}";
    }
  }
  text ??= String(v);
  return text.length > QUOTE_MAX ? `${text.slice(0, QUOTE_MAX)}…` : text;
}

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

/** The deepest a body may nest inside an event (which an EventList nests once more). */
const BODY_MAX_DEPTH = MAX_JSON_DEPTH - 2;

/** A body nested too deep for the rest of kaudit to walk (checked before anything recursive). */
function bodyTooDeep(body: unknown): boolean {
  if (typeof body !== "object" || body === null) return false;
  const raw = rawJSONOf(body);
  return raw !== undefined
    ? jsonDepthExceeded(raw, BODY_MAX_DEPTH) !== -1
    : jsonDepth(body, BODY_MAX_DEPTH) > BODY_MAX_DEPTH;
}

/** Issues for requestObject/responseObject bodies nested deeper than kaudit accepts. */
function depthIssues(event: unknown, prefix: string): Issue[] {
  if (typeof event !== "object" || event === null) return [];
  const out: Issue[] = [];
  for (const key of ["requestObject", "responseObject"] as const) {
    if (bodyTooDeep((event as Record<string, unknown>)[key]))
      out.push({
        path: `${prefix}${key}`,
        message: `Invalid value: nests deeper than ${BODY_MAX_DEPTH} levels`,
      });
  }
  return out;
}

const TIME_KEYS = ["requestReceivedTimestamp", "stageTimestamp"] as const;

/**
 * Issues for timestamps of the MicroTime shape that name no real time (a 30 February, hour 24,
 * a leap second): the schema's pattern cannot see them, and kube's decoder refuses them.
 */
function timeIssues(event: unknown, prefix: string): Issue[] {
  if (typeof event !== "object" || event === null) return [];
  const out: Issue[] = [];
  for (const key of TIME_KEYS) {
    const v = (event as Record<string, unknown>)[key];
    const why = typeof v === "string" ? microTimeRangeError(v) : undefined;
    if (why !== undefined)
      out.push({ path: `${prefix}${key}`, message: `Invalid value: ${quote(v)}: ${why}` });
  }
  return out;
}

/** The checks beyond the schema, for an event at `prefix` (`""` or `items[3].`). */
function beyondSchema(event: unknown, prefix: string): Issue[] {
  return [...depthIssues(event, prefix), ...timeIssues(event, prefix)];
}

/**
 * What ajv alone, compiled from the named schema, says of a value (no fast path, no depth check):
 * the reference the fast path is tested against. Internal: not exported from the package.
 */
export function schemaAccepts(name: SchemaName, value: unknown): boolean {
  return validator(name)(value) === true;
}

function run<T>(name: SchemaName, value: unknown, deep: Issue[] = []): ValidationResult<T> {
  const fn = validator(name);
  if (fn(value) && deep.length === 0) return { ok: true, value: value as T };
  return { ok: false, issues: [...issuesOf(fn.errors ?? []), ...deep] };
}

/**
 * Checks an audit.k8s.io/v1 event against the Event schema (its shape, and that its timestamps
 * name real times, as kube's decoder requires). Upgrade older
 * versions first with `upgradeEvent`. Unknown fields are reported as `unknown field` issues;
 * kube-apiserver's decoder ignores them, so a caller may treat those as warnings.
 */
export function validateEvent(value: unknown): ValidationResult<Event> {
  // The common case, a well-formed event, is decided without ajv; ajv says what is wrong.
  if (isEventShape(value)) {
    const e = value as Record<string, unknown>;
    if (!bodyTooDeep(e.requestObject) && !bodyTooDeep(e.responseObject)) {
      const times = timeIssues(e, "");
      return times.length === 0
        ? { ok: true, value: value as Event }
        : { ok: false, issues: times };
    }
  }
  return run<Event>("Event", value, beyondSchema(value, ""));
}

/** Checks an audit.k8s.io/v1 EventList against its schema; item paths read `items[3].user`. */
export function validateEventList(value: unknown): ValidationResult<EventList> {
  const items = (value as { items?: unknown } | null)?.items;
  const deep = Array.isArray(items) ? items.flatMap((e, i) => beyondSchema(e, `items[${i}].`)) : [];
  return run<EventList>("EventList", value, deep);
}

/**
 * Checks a policy's shape against the Policy schema. This is not kube-apiserver's semantic
 * validation (levels, stages, URL wildcards, groups): that is @kaudit/policy's `validatePolicy`.
 */
export function validatePolicySchema(value: unknown): ValidationResult<Policy> {
  return run<Policy>("Policy", value);
}

export { schemas };
