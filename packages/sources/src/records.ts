import type { Event } from "@kaudit/api";
import {
  API_VERSION,
  DecodeError,
  jsonDepthExceeded,
  MAX_JSON_DEPTH,
  upgradeEvent,
  validateEvent,
} from "@kaudit/api";
import { gkeToEvent, isGkeLogEntry } from "./gke";
import type { Problem } from "./problem";

/** Where an event was wrapped: kube's own formats, legacy text lines, or a managed cluster's logging service. */
export type SourceFormat = "kube" | "legacy" | "gke" | "eks" | "aks";

/** Where an event came from. */
export interface EventSource {
  /** The file as shown to people (`<stdin>` for `-`). */
  file: string;
  /** 1-based line where the event (or the record holding it) starts; 0 when not known. */
  line: number;
  /** The format it was read from. */
  format: SourceFormat;
  /** The record's own position inside its document, e.g. `events[3]`, `records[0]`, `items[12]`, `[4]`. */
  record?: string;
  /** The cloud's own id of the record (GKE insertId, CloudWatch eventId), when it has one. */
  id?: string;
}

/** One item {@link readEvents} yields. */
export type ReadResult = { event: Event; source: EventSource } | { problem: Problem };

/**
 * A kube-level object as decoded, before any upgrade or check (what {@link readRecords} hands out
 * for tools that check records themselves, such as `kaudit validate`).
 */
export interface RawRecord {
  /** The decoded object: an Event of any version, or anything else (a Policy…) for the caller to judge. */
  value: unknown;
  source: EventSource;
  /** `items[3].` and so on: the prefix of field paths inside this object. */
  prefix: string;
  /** Line and column of a field path (with the prefix). */
  locate: (path: string) => { line: number; column: number };
  /** The apiVersion of the EventList the object is an item of. */
  listVersion?: string | undefined;
  /** The object's own text when it is a whole document or line (for decoders that need positions), and the line it starts on. */
  text?: string | undefined;
  textLine?: number | undefined;
  /** Set when the document could not be decoded at all (`value` is then undefined): why. */
  invalid?: Problem | undefined;
}

/** A list's envelope (an EventList without its items, a CloudWatch page without its events…) as decoded. */
export interface ListRecord {
  value: unknown;
  /** The member whose elements were handed out (`items`, `events`, `records`), `null` for a top-level array. */
  container: string | null;
  file: string;
  line: number;
  locate: (path: string) => { line: number; column: number };
}

/** One item {@link readRecords} yields. */
export type RecordResult = ReadResult | { raw: RawRecord } | { list: ListRecord };

/** Why records were skipped on purpose (counted, never silent). */
export type SkipReason = "aks-category" | "empty-document";

/** Decodes one JSON event text (see {@link plainDecode} and @kaudit/api's decodeEvent). */
export type Decode = (text: string) => Event;

/**
 * `decodeEvent` without remembering the bodies' text: the same nesting limit and errors, plain
 * `JSON.parse` (about twice as fast; re-encoding then writes bodies as JavaScript reads them).
 */
export function plainDecode(text: string): Event {
  const at = jsonDepthExceeded(text, MAX_JSON_DEPTH);
  if (at !== -1) throw new DecodeError(`JSON nests deeper than ${MAX_JSON_DEPTH} levels`, at);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new DecodeError("invalid JSON", undefined, e);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new DecodeError(
      `expected a JSON object, got ${Array.isArray(value) ? "an array" : typeof value}`,
      0,
    );
  }
  return value as Event;
}

/** What the classifier needs from the reader. */
export interface RecordContext {
  /** How event texts are decoded (keeping the bodies' exact text or not). */
  decode: Decode;
  file: string;
  /** The format asked for (`auto`: any). */
  format: "auto" | SourceFormat;
  /** Check every event against the v1 schema. */
  validate: boolean;
  /** Where problems and events go. */
  out: RecordResult[];
  /** Hand out kube-level objects undecided (`{ raw }`) instead of upgraded, checked events. */
  raw?: boolean;
  /** Counts a record skipped on purpose. */
  skip(reason: SkipReason, detail: string, problem: Problem): void;
}

/** Where one record is: its line and a way to find a field path's line/column (lazily built). */
export interface RecordPlace {
  line: number;
  column?: number;
  /** `items[3].` and so on: prefixed to field paths of problems. */
  prefix: string;
  locate?: ((path: string) => { line: number; column: number }) | undefined;
  /** The record's position for `source.record`. */
  record?: string;
  id?: string;
  /** The record's own text when it is a whole line or document (raw mode). */
  text?: string;
  textLine?: number;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

/** What kind of audit object a decoded value is, from `kind` or, failing that, its fields. */
export function kindOf(value: unknown): string | undefined {
  if (!isObject(value)) return undefined;
  if (typeof value.kind === "string" && value.kind !== "") return value.kind;
  if ("rules" in value) return "Policy";
  if ("items" in value) return "EventList";
  if ("auditID" in value || "stage" in value || "requestURI" in value) return "Event";
  return undefined;
}

/** The shape of one decoded record. */
export type RecordShape =
  | "kube-event"
  | "kube-list"
  | "gke"
  | "eks-page"
  | "eks-event"
  | "aks-body"
  | "aks-record"
  | "array"
  | "other";

/** Tells the record shapes apart by their fields (never by a substring of the text). */
export function shapeOf(value: unknown): RecordShape {
  if (Array.isArray(value)) return "array";
  if (!isObject(value)) return "other";
  if (isGkeLogEntry(value)) return "gke";
  if (Array.isArray(value.records)) return "aks-body";
  if (isObject(value.properties) && typeof value.category === "string") return "aks-record";
  if (Array.isArray(value.events) && value.kind === undefined) return "eks-page";
  if (typeof value.message === "string" && typeof value.timestamp === "number") return "eks-event";
  const kind = kindOf(value);
  if (kind === "EventList") return "kube-list";
  if (kind === "Event" || kind === undefined) return "kube-event";
  return "other";
}

const FORMAT_OF: Record<RecordShape, SourceFormat | undefined> = {
  "kube-event": "kube",
  "kube-list": "kube",
  gke: "gke",
  "eks-page": "eks",
  "eks-event": "eks",
  "aks-body": "aks",
  "aks-record": "aks",
  array: undefined,
  other: undefined,
};

const FORMAT_NAME: Record<SourceFormat, string> = {
  kube: "an audit Event or EventList",
  legacy: "a legacy AUDIT: line",
  gke: "a GKE Cloud Logging LogEntry with an AuditLog payload",
  eks: "an EKS CloudWatch Logs event or page",
  aks: "an AKS diagnostic record or records body",
};

function problem(ctx: RecordContext, place: RecordPlace, path: string, message: string): Problem {
  const full = `${place.prefix}${path}`.replace(/\.$/, "");
  const at = place.locate?.(full) ?? { line: place.line, column: place.column ?? 1 };
  return {
    file: ctx.file,
    ...at,
    path: full === "" ? undefined : full,
    message,
    severity: "error",
  };
}

/** Reads one decoded record of any shape; pushes its events and problems to `ctx.out`. */
export function readRecord(value: unknown, place: RecordPlace, ctx: RecordContext): void {
  const shape = shapeOf(value);
  if (shape === "array") {
    // A JSON array of records (on one line: a document's arrays are streamed element by element).
    // Its elements are records, never arrays again: nothing here recurses with the input's depth.
    const arr = value as unknown[];
    for (let i = 0; i < arr.length; i++) {
      const p = {
        ...place,
        prefix: `${place.prefix}[${i}].`,
        record: `${place.record ?? ""}[${i}]`,
      };
      if (Array.isArray(arr[i])) {
        ctx.out.push({ problem: problem(ctx, p, "", "expected a record, found an array") });
        continue;
      }
      readRecord(arr[i], p, ctx);
    }
    return;
  }
  const format = FORMAT_OF[shape];
  if (ctx.format !== "auto" && format !== ctx.format) {
    ctx.out.push({
      problem: problem(
        ctx,
        place,
        "",
        `expected ${FORMAT_NAME[ctx.format]} (format ${ctx.format}), found ${format === undefined ? describeOther(value) : FORMAT_NAME[format]}`,
      ),
    });
    return;
  }
  switch (shape) {
    case "gke": {
      const m = gkeToEvent(value as Record<string, unknown>);
      const id = (value as { insertId?: unknown }).insertId;
      const p = { ...place, id: typeof id === "string" ? id : undefined };
      if ("error" in m) ctx.out.push({ problem: problem(ctx, p, m.error.path, m.error.message) });
      else readKubeEvent(m.event, p, ctx, "gke", undefined);
      return;
    }
    case "eks-page": {
      const events = (value as { events: unknown[] }).events;
      for (let i = 0; i < events.length; i++) {
        readEksEvent(
          events[i],
          {
            ...place,
            prefix: `${place.prefix}events[${i}].`,
            record: `events[${i}]`,
          },
          ctx,
        );
      }
      return;
    }
    case "eks-event":
      readEksEvent(value, place, ctx);
      return;
    case "aks-body": {
      const records = (value as { records: unknown[] }).records;
      for (let i = 0; i < records.length; i++) {
        readAksRecord(
          records[i],
          {
            ...place,
            prefix: `${place.prefix}records[${i}].`,
            record: `records[${i}]`,
          },
          ctx,
        );
      }
      return;
    }
    case "aks-record":
      readAksRecord(value, place, ctx);
      return;
    default:
      readKube(value, place, ctx, "kube");
  }
}

function describeOther(value: unknown): string {
  const kind = kindOf(value);
  if (kind !== undefined) return `kind ${JSON.stringify(kind)}`;
  return describe(value);
}

/** A message CloudWatch cut at its 256 KiB event limit. */
const TRUNCATED = "[Truncated...]";

/** The auditID of a cut message (read from its text, as Falco's EKS plugin reports it). */
function auditIdOf(text: string): string | undefined {
  const m = /"auditID"\s*:\s*"([0-9A-Za-z-]{1,64})"/.exec(text.slice(0, 4096));
  return m?.[1];
}

/** One CloudWatch Logs event (or an S3 export line's message) holding one kube event as JSON text. */
export function readEksMessage(
  message: string,
  place: RecordPlace,
  ctx: RecordContext,
  path: string,
): void {
  if (message.endsWith(TRUNCATED)) {
    const id = auditIdOf(message);
    ctx.out.push({
      problem: problem(
        ctx,
        place,
        path,
        `event ${id === undefined ? "(auditID not found)" : `auditID ${id}`} was cut by CloudWatch Logs at its 256 KiB limit ([Truncated...]); not read`,
      ),
    });
    return;
  }
  let event: unknown;
  try {
    event = ctx.decode(message);
  } catch (e) {
    ctx.out.push({
      problem: problem(ctx, place, path, `the message is not an audit event: ${errorText(e)}`),
    });
    return;
  }
  readKube(event, { ...place, prefix: `${place.prefix}${path}.`, locate: undefined }, ctx, "eks");
}

function readEksEvent(value: unknown, place: RecordPlace, ctx: RecordContext): void {
  if (!isObject(value) || typeof value.message !== "string") {
    ctx.out.push({
      problem: problem(
        ctx,
        place,
        "message",
        `expected a CloudWatch Logs event with a message string, found ${describe(isObject(value) ? value.message : value)}`,
      ),
    });
    return;
  }
  const id = typeof value.eventId === "string" ? value.eventId : undefined;
  readEksMessage(value.message, { ...place, id }, ctx, "message");
}

const AKS_AUDIT_CATEGORIES = new Set(["kube-audit", "kube-audit-admin"]);
const AKS_TOO_BIG = "skipped-too-big-size-object";

function readAksRecord(value: unknown, place: RecordPlace, ctx: RecordContext): void {
  if (!isObject(value) || !isObject(value.properties)) {
    ctx.out.push({
      problem: problem(
        ctx,
        place,
        "properties",
        `expected an AKS diagnostic record with properties, found ${describe(value)}`,
      ),
    });
    return;
  }
  const category = value.category;
  if (typeof category === "string" && !AKS_AUDIT_CATEGORIES.has(category)) {
    ctx.skip(
      "aks-category",
      category,
      problem(
        ctx,
        place,
        "category",
        `AKS record of category ${JSON.stringify(category)} skipped (not kube-audit or kube-audit-admin)`,
      ),
    );
    return;
  }
  const log = value.properties.log;
  let event: unknown;
  if (typeof log === "string") {
    try {
      event = ctx.decode(log);
    } catch (e) {
      ctx.out.push({
        problem: problem(ctx, place, "properties.log", `not an audit event: ${errorText(e)}`),
      });
      return;
    }
  } else if (isObject(log)) event = log;
  else {
    ctx.out.push({
      problem: problem(
        ctx,
        place,
        "properties.log",
        `expected the audit event as a JSON string or object, found ${describe(log)}`,
      ),
    });
    return;
  }
  // Log Analytics puts this string where an object was too big to keep: the body is gone.
  const e = event as Record<string, unknown>;
  for (const k of ["requestObject", "responseObject"]) {
    if (e[k] === AKS_TOO_BIG) delete e[k];
  }
  readKube(
    event,
    { ...place, prefix: `${place.prefix}properties.log.`, locate: undefined },
    ctx,
    "aks",
  );
}

function errorText(e: unknown): string {
  const msg = (e as Error).message ?? String(e);
  // V8's JSON.parse messages quote the input; audit data is sensitive and never echoed.
  return msg
    .replace(/, (?:"|\.\.\.)[\s\S]* is not valid JSON$/, "")
    .replace(/ in JSON at position \d+(?: \(line \d+ column \d+\))?$/, "")
    .replace(/^invalid JSON: /, "invalid JSON: ");
}

/** A kube Event or EventList (any audit version), upgraded to v1. */
function readKube(
  value: unknown,
  place: RecordPlace,
  ctx: RecordContext,
  format: SourceFormat,
): void {
  const kind = kindOf(value);
  if (kind === "EventList") {
    const items = (value as { items?: unknown }).items;
    if (!Array.isArray(items)) {
      ctx.out.push({ problem: problem(ctx, place, "items", "an EventList needs an items array") });
      return;
    }
    const apiVersion = (value as { apiVersion?: unknown }).apiVersion;
    if (ctx.raw) {
      const { items: _items, ...envelope } = value as Record<string, unknown>;
      ctx.out.push({
        list: {
          value: envelope,
          container: "items",
          file: ctx.file,
          line: place.line,
          locate: (path) =>
            place.locate?.(`${place.prefix}${path}`) ?? {
              line: place.line,
              column: place.column ?? 1,
            },
        },
      });
    }
    for (let i = 0; i < items.length; i++) {
      readKubeEvent(
        items[i],
        {
          ...place,
          prefix: `${place.prefix}items[${i}].`,
          record: place.record ?? `items[${i}]`,
          text: undefined,
        },
        ctx,
        format,
        typeof apiVersion === "string" ? apiVersion : undefined,
      );
    }
    return;
  }
  readKubeEvent(value, place, ctx, format, undefined);
}

/** One kube event (an EventList's item takes the list's apiVersion). */
export function readKubeEvent(
  value: unknown,
  place: RecordPlace,
  ctx: RecordContext,
  format: SourceFormat,
  listVersion: string | undefined,
): void {
  if (ctx.raw) {
    const source: EventSource = { file: ctx.file, line: place.line, format };
    if (place.record !== undefined) source.record = place.record;
    if (place.id !== undefined) source.id = place.id;
    ctx.out.push({
      raw: {
        value,
        source,
        prefix: place.prefix,
        locate: (path) => place.locate?.(path) ?? { line: place.line, column: place.column ?? 1 },
        listVersion,
        text: place.text,
        textLine: place.textLine,
      },
    });
    return;
  }
  const kind = kindOf(value);
  if (kind !== undefined && kind !== "Event") {
    ctx.out.push({
      problem: problem(
        ctx,
        place,
        "kind",
        `expected an audit Event or EventList, found kind ${JSON.stringify(kind)}${kind === "Policy" ? " (a policy: use kaudit validate, or pass it with --policy)" : ""}`,
      ),
    });
    return;
  }
  if (!isObject(value)) {
    ctx.out.push({
      problem: problem(ctx, place, "", `expected an audit Event object, found ${describe(value)}`),
    });
    return;
  }
  let event: Event;
  if (
    value.apiVersion === API_VERSION &&
    value.kind === "Event" &&
    value.timestamp === undefined &&
    value.metadata === undefined
  ) {
    // Already v1 with nothing to carry over: upgradeEvent would return an equal copy.
    event = value as unknown as Event;
  } else {
    try {
      event = upgradeEvent(value, listVersion === undefined ? {} : { apiVersion: listVersion });
    } catch (e) {
      const issues = (e as { issues?: { path: string; message: string }[] }).issues;
      if (issues && issues.length > 0) {
        for (const issue of issues)
          ctx.out.push({ problem: problem(ctx, place, issue.path, issue.message) });
      } else ctx.out.push({ problem: problem(ctx, place, "", errorText(e)) });
      return;
    }
  }
  emitEvent(event, place, format, ctx);
}

function emitEvent(
  event: Event,
  place: RecordPlace,
  format: SourceFormat,
  ctx: RecordContext,
): void {
  if (ctx.validate) {
    const r = validateEvent(event);
    if (!r.ok) {
      for (const issue of r.issues)
        ctx.out.push({ problem: problem(ctx, place, issue.path, issue.message) });
      return;
    }
  }
  const source: EventSource = { file: ctx.file, line: place.line, format };
  if (place.record !== undefined) source.record = place.record;
  if (place.id !== undefined) source.id = place.id;
  ctx.out.push({ event, source });
}

/**
 * One element of a document's list: `items` hold kube events (taking the list's apiVersion),
 * `events` CloudWatch Logs events, `records` AKS records; a top-level array any record.
 */
export function readElement(
  container: string | null,
  value: unknown,
  place: RecordPlace,
  ctx: RecordContext,
  listVersion: string | undefined,
): void {
  const want: SourceFormat | undefined =
    container === "items"
      ? "kube"
      : container === "events"
        ? "eks"
        : container === "records"
          ? "aks"
          : undefined;
  if (want === undefined) {
    readRecord(value, place, ctx);
    return;
  }
  if (ctx.format !== "auto" && ctx.format !== want) {
    ctx.out.push({
      problem: problem(
        ctx,
        place,
        "",
        `expected ${FORMAT_NAME[ctx.format]} (format ${ctx.format}), found ${FORMAT_NAME[want]}`,
      ),
    });
    return;
  }
  if (want === "kube") readKubeEvent(value, place, ctx, "kube", listVersion);
  else if (want === "eks") readEksEvent(value, place, ctx);
  else readAksRecord(value, place, ctx);
}
