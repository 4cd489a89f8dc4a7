import type { Event } from "@kaudit/api";
import { decodeEvent, decodeEventList, upgradeEvent, validateEvent } from "@kaudit/api";
import { type LineReadError, legacyToEvents } from "@kaudit/legacy";
import { parse as parseYAML } from "yaml";
import { CliError, EXIT_FINDINGS } from "./errors";
import { displayName, type ReadOptions, readLines } from "./io";
import { createLocator, jsonErrorColumn, jsonErrorMessage } from "./locate";

/** How an input is laid out, decided from its first non-blank line. */
export type InputFormat = "jsonl" | "legacy" | "document" | "empty";

/** A problem at a place in an input: printed as `file:line:col: path: message`. */
export interface Problem {
  file: string;
  line?: number | undefined;
  column?: number | undefined;
  path?: string | undefined;
  message: string;
  severity: "error" | "warning";
}

/** `file:line:col: path: message` (the parts that are known). */
export function formatProblem(p: Problem): string {
  let where = p.file;
  if (p.line !== undefined) where += `:${p.line}:${p.column ?? 1}`;
  // kube-style messages often start with their path already (`rules[0].level: Unsupported value`).
  const path =
    p.path !== undefined && p.path !== "" && !p.message.startsWith(`${p.path}: `)
      ? `${p.path}: `
      : "";
  const sev = p.severity === "warning" ? "warning: " : "";
  return `${where}: ${sev}${path}${p.message}`;
}

/** The largest input read as one document (pretty-printed JSON, YAML); JSON lines have no limit. */
export const MAX_DOCUMENT_BYTES = 256 * 1024 * 1024;

const LEGACY_LINE = /^\S+ AUDIT: /;

/** An input whose format has been sniffed; `lines` yields every line again from the first. */
export interface SniffedInput {
  name: string;
  format: InputFormat;
  lines: AsyncGenerator<string | LineReadError, void, undefined>;
}

/**
 * Reads an input's first non-blank line to tell JSON lines (a complete JSON value on the line),
 * legacy `AUDIT:` lines and a whole document (pretty-printed JSON, YAML) apart. Nothing but the
 * first line is buffered.
 */
export async function sniffInput(name: string, options: ReadOptions = {}): Promise<SniffedInput> {
  const source = readLines(name, options)[Symbol.asyncIterator]();
  const seen: (string | LineReadError)[] = [];
  let format: InputFormat = "empty";
  for (;;) {
    const r = await source.next();
    if (r.done) break;
    seen.push(r.value);
    if (typeof r.value !== "string") {
      format = "document";
      break;
    }
    const t = r.value.trim();
    if (t === "") continue;
    if (LEGACY_LINE.test(t)) format = "legacy";
    else if (t.startsWith("{") || t.startsWith("[")) {
      try {
        JSON.parse(t);
        format = "jsonl";
      } catch {
        format = "document";
      }
    } else format = "document";
    break;
  }
  async function* lines(): AsyncGenerator<string | LineReadError, void, undefined> {
    yield* seen;
    for (;;) {
      const r = await source.next();
      if (r.done) return;
      yield r.value;
    }
  }
  return { name, format, lines: lines() };
}

/** Collects a document-format input into one string (bounded by {@link MAX_DOCUMENT_BYTES}). */
export async function readDocument(input: SniffedInput): Promise<string> {
  const shown = displayName(input.name);
  const parts: string[] = [];
  let bytes = 0;
  let n = 0;
  for await (const line of input.lines) {
    n++;
    if (typeof line !== "string") {
      throw new CliError(
        `${shown}:${n}:${line.error.column}: ${line.error.message}`,
        EXIT_FINDINGS,
      );
    }
    bytes += Buffer.byteLength(line) + 1;
    if (bytes > MAX_DOCUMENT_BYTES) {
      throw new CliError(
        `${shown}: a single JSON/YAML document larger than ${MAX_DOCUMENT_BYTES} bytes; write events as JSON lines (one per line) to stream them`,
        EXIT_FINDINGS,
      );
    }
    parts.push(line);
  }
  return parts.join("\n");
}

/** Parses a whole document as JSON when it looks like JSON, else as YAML; a Problem on failure. */
export function parseDocumentText(
  text: string,
  file: string,
): { value: unknown } | { problem: Problem } {
  const trimmed = text.trimStart();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    try {
      return { value: JSON.parse(text) };
    } catch (e) {
      const col = jsonErrorColumn(text, e);
      const before = text.slice(0, col - 1);
      const line = before.split("\n").length;
      const column = col - (before.lastIndexOf("\n") + 1);
      return {
        problem: {
          file,
          line,
          column,
          message: `invalid JSON: ${jsonErrorMessage(e)}`,
          severity: "error",
        },
      };
    }
  }
  try {
    const docs = parseYAML(text, { uniqueKeys: false });
    return { value: docs };
  } catch (e) {
    const err = e as { message: string; linePos?: { line: number; col: number }[] };
    const pos = err.linePos?.[0];
    const message = err.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
    return {
      problem: {
        file,
        line: pos?.line ?? 1,
        column: pos?.col ?? 1,
        message: `invalid YAML: ${message}`,
        severity: "error",
      },
    };
  }
}

/** What kind of audit object a decoded value is, from `kind` or, failing that, its fields. */
export function kindOf(value: unknown): string | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.kind === "string" && v.kind !== "") return v.kind;
  if ("rules" in v) return "Policy";
  if ("items" in v) return "EventList";
  if ("auditID" in v || "stage" in v || "requestURI" in v) return "Event";
  return undefined;
}

/**
 * Decodes again with @kaudit/api's decoder, which remembers the exact text of requestObject and
 * responseObject so that re-encoding gives kube-apiserver's bytes (key order, number spellings).
 */
function decodeKeepingBodies(text: string, value: unknown): unknown {
  return kindOf(value) === "EventList" ? decodeEventList(text) : decodeEvent(text);
}

/** One event read from an input, with the line it came from (0 when not known, e.g. legacy pairs). */
export interface EventRecord {
  event: Event;
  line: number;
  /** The decoded object before the upgrade (JSON inputs only). */
  original?: unknown;
}

/** Options of {@link readEvents}. */
export interface ReadEventsOptions extends ReadOptions {
  /** Check every event against the v1 schema (validateEvent) and report failures as problems. */
  validate?: boolean;
  /** Stop after the first problem. */
  strict?: boolean;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

/**
 * The events of one input, whatever its format: JSON lines (v1, v1beta1, v1alpha1 or without
 * apiVersion, upgraded to v1 by @kaudit/api's upgradeEvent; an EventList on a line gives its
 * items), one pretty-printed JSON or YAML Event/EventList, or legacy `AUDIT:` lines (converted
 * by @kaudit/legacy). Problems are yielded in order, never dropped.
 */
export async function* readEvents(
  name: string,
  options: ReadEventsOptions = {},
): AsyncGenerator<EventRecord | { problem: Problem }, InputFormat, undefined> {
  const file = displayName(name);
  const input = await sniffInput(name, options);
  const fromValue = function* (
    value: unknown,
    line: number,
    locate: ((path: string) => { line: number; column: number }) | undefined,
    prefix: string,
    listVersion?: string,
  ): Generator<EventRecord | { problem: Problem }> {
    const kind = kindOf(value);
    if (kind === "EventList") {
      const items = (value as { items?: unknown }).items;
      if (!Array.isArray(items)) {
        const at = locate?.(`${prefix}items`) ?? { line, column: 1 };
        yield {
          problem: {
            file,
            ...at,
            path: `${prefix}items`,
            message: "an EventList needs an items array",
            severity: "error",
          },
        };
        return;
      }
      const apiVersion = (value as { apiVersion?: unknown }).apiVersion;
      for (let i = 0; i < items.length; i++) {
        yield* fromValue(
          items[i],
          locate?.(`${prefix}items[${i}]`).line ?? line,
          locate,
          `${prefix}items[${i}].`,
          typeof apiVersion === "string" ? apiVersion : undefined,
        );
      }
      return;
    }
    if (kind !== undefined && kind !== "Event") {
      const at = locate?.(`${prefix}kind`) ?? { line, column: 1 };
      yield {
        problem: {
          file,
          ...at,
          path: `${prefix}kind`,
          message: `expected an audit Event or EventList, found kind ${JSON.stringify(kind)}${kind === "Policy" ? " (a policy: use kaudit validate, or pass it with --policy)" : ""}`,
          severity: "error",
        },
      };
      return;
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      yield {
        problem: {
          file,
          line,
          column: 1,
          message: `expected an audit Event object, found ${describe(value)}`,
          severity: "error",
        },
      };
      return;
    }
    let event: Event;
    try {
      event = upgradeEvent(value, listVersion === undefined ? {} : { apiVersion: listVersion });
    } catch (e) {
      const issues = (e as { issues?: { path: string; message: string }[] }).issues;
      if (issues && issues.length > 0) {
        for (const issue of issues) {
          const at = locate?.(`${prefix}${issue.path}`) ?? { line, column: 1 };
          yield {
            problem: {
              file,
              ...at,
              path: `${prefix}${issue.path}`,
              message: issue.message,
              severity: "error",
            },
          };
        }
      } else {
        yield {
          problem: { file, line, column: 1, message: (e as Error).message, severity: "error" },
        };
      }
      return;
    }
    if (options.validate) {
      const r = validateEvent(event);
      if (!r.ok) {
        for (const issue of r.issues) {
          const at = locate?.(`${prefix}${issue.path}`) ?? { line, column: 1 };
          yield {
            problem: {
              file,
              ...at,
              path: `${prefix}${issue.path}`,
              message: issue.message,
              severity: "error",
            },
          };
        }
        return;
      }
    }
    yield { event, line, original: value };
  };

  let problems = 0;
  const emit = function* (items: Iterable<EventRecord | { problem: Problem }>) {
    for (const item of items) {
      if ("problem" in item) problems++;
      yield item;
    }
  };

  if (input.format === "empty") return "empty";
  if (input.format === "legacy") {
    for await (const r of legacyToEvents(input.lines, { strict: options.strict ?? false })) {
      if ("event" in r) yield { event: r.event, line: 0 };
      else {
        yield {
          problem: {
            file,
            line: r.error.line,
            column: r.error.column,
            message: r.error.message,
            severity: "error",
          },
        };
        if (options.strict) return "legacy";
      }
    }
    return "legacy";
  }
  if (input.format === "document") {
    const text = await readDocument(input);
    const parsed = parseDocumentText(text, file);
    if ("problem" in parsed) {
      yield parsed;
      return "document";
    }
    if (/^\s*\{/.test(text)) parsed.value = decodeKeepingBodies(text, parsed.value);
    let locator: ReturnType<typeof createLocator> | undefined;
    const locate = (path: string) => {
      locator ??= createLocator(text);
      return locator.locate(path);
    };
    for (const item of emit(fromValue(parsed.value, 1, locate, ""))) {
      yield item;
      if (options.strict && problems > 0) return "document";
    }
    return "document";
  }
  let n = 0;
  for await (const line of input.lines) {
    n++;
    if (typeof line !== "string") {
      problems++;
      yield {
        problem: {
          file,
          line: n,
          column: line.error.column,
          message: line.error.message,
          severity: "error",
        },
      };
      if (options.strict) return "jsonl";
      continue;
    }
    if (line.trim() === "") continue;
    let value: unknown;
    try {
      // @kaudit/api's decoder parses once and keeps the exact text of request/response bodies.
      value = line.trimStart().startsWith("{") ? decodeEvent(line) : JSON.parse(line);
      if (kindOf(value) === "EventList" && line.includes('Object"')) value = decodeEventList(line);
    } catch (e) {
      const syntax = (e as { cause?: unknown }).cause ?? e;
      problems++;
      yield {
        problem: {
          file,
          line: n,
          column: jsonErrorColumn(line, syntax),
          message: `invalid JSON: ${jsonErrorMessage(syntax)}`,
          severity: "error",
        },
      };
      if (options.strict) return "jsonl";
      continue;
    }
    const lineNo = n;
    const locate = (path: string) => createLocator(line, lineNo - 1).locate(path);
    for (const item of emit(fromValue(value, n, locate, ""))) {
      yield item;
      if (options.strict && problems > 0) return "jsonl";
    }
  }
  return "jsonl";
}
