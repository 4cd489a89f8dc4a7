import {
  attributesFromRequest,
  type Event,
  type ObjectReference,
  type RequestAttributes,
  type Status,
  type UserInfo,
} from "@kaudit/api";
import { LegacyParseError } from "./errors";
import { formatLegacyLine } from "./format";
import {
  type Layout,
  scanLine,
  scanned,
  scannedList,
  scannedResponse,
  scannedValue,
} from "./parse";
import { LINE_BATCHES, type LineSource } from "./split-lines";
import { type ParsedTime, toMicroTime } from "./time";

/** A line that could not be read or converted: 1-based line and column, and why. */
export interface LegacyLineError {
  /** 1-based line number in the input. */
  line: number;
  /** 1-based column (UTF-16 code units) where the problem is. */
  column: number;
  /** What is wrong and what was expected. */
  message: string;
}

/** One output of {@link legacyToEvents}: an event, or an error for one input line. */
export type LegacyConversionResult = { event: Event } | { error: LegacyLineError };

/**
 * A line that a line reader could not produce (too long, not UTF-8); {@link splitLines}
 * yields these in place of the line, and {@link legacyToEvents} reports them with the line number.
 */
export interface LineReadError {
  error: { column: number; message: string };
}

/** An input item of {@link legacyToEvents}: the text of one line, or why it could not be read. */
export type LegacyLineInput = string | LineReadError;

/** Options of {@link legacyToEvents}. */
export interface LegacyToEventsOptions {
  /** Stop at the first error (after yielding it) instead of going on. Default `false`. */
  strict?: boolean;
  /**
   * How many basic-audit (G1–G3) request lines may wait for their `response=` line at once.
   * When the limit is reached the oldest one is written without a response (stage
   * RequestReceived) and an error says so. Default 10 000.
   */
  maxPending?: number;
  /**
   * The line number of the first line pushed (default 1): for converting a piece of a larger
   * input that starts at that line, so that errors carry the larger input's line numbers.
   */
  firstLine?: number;
}

interface Pending {
  line: number;
  /** The request's event. */
  event: Event;
}

const DEFAULT_MAX_PENDING = 10_000;

type Out = LegacyConversionResult[];

const VERB_METHOD: Record<string, string> = {
  get: "GET",
  list: "GET",
  watch: "GET",
  create: "POST",
  update: "PUT",
  patch: "PATCH",
  delete: "DELETE",
  deletecollection: "DELETE",
};

function objectRefFrom(
  info: RequestAttributes,
  namespace: string | undefined,
): ObjectReference | undefined {
  if (!info.isResourceRequest) {
    // kube never writes a namespace for a non-resource request; keep one if a line has it.
    return namespace !== undefined && namespace !== "" ? { namespace } : undefined;
  }
  // kube-apiserver's field order: resource, namespace, name, uid, apiGroup, apiVersion, resourceVersion, subresource.
  const ref: ObjectReference = {};
  if (info.resource !== "") ref.resource = info.resource;
  // The line's namespace is what kube recorded; for G1–G3 it came from the same RequestInfo.
  if (namespace !== undefined && namespace !== "") ref.namespace = namespace;
  if (info.name !== "") ref.name = info.name;
  if (info.apiGroup !== "") ref.apiGroup = info.apiGroup;
  if (info.apiVersion !== "") ref.apiVersion = info.apiVersion;
  if (info.subresource !== "") ref.subresource = info.subresource;
  return ref;
}

// Logs repeat their URIs (leader-election endpoints, health checks, list/watch of the same
// collections): what a URI resolves to is remembered per method and URI (RequestInfo depends on
// nothing else). Bounded: cleared when full.
const RESOLVED_MAX = 4096;
interface Resolved {
  info: RequestAttributes;
}
const resolvedByUri = new Map<string, Map<string, Resolved>>();
let resolvedCount = 0;

/** attributesFromRequest for `method` and `uri`, remembered (the result must not be changed). */
function resolve(method: string, uri: string): Resolved {
  let byUri = resolvedByUri.get(method);
  let r = byUri?.get(uri);
  if (r === undefined) {
    r = { info: attributesFromRequest({ method, url: uri }) };
    if (resolvedCount >= RESOLVED_MAX) {
      resolvedByUri.clear();
      resolvedCount = 0;
      byUri = undefined;
    }
    if (byUri === undefined) {
      byUri = new Map();
      resolvedByUri.set(method, byUri);
    }
    byUri.set(uri, r);
    resolvedCount++;
  }
  return r;
}

/** A MicroTime as toMicroTime writes it, or null: only a year outside 0000–9999 breaks it. */
function isWrittenTime(t: string | null | undefined): boolean {
  if (t === null || t === undefined) return true;
  if (t.length !== 27) return false;
  for (let i = 0; i < 4; i++) {
    const c = t.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/**
 * Whether an event that {@link LegacyConverter} built passes @kaudit/api's `validateEvent`
 * without running it: the converter gives every field its schema type by construction (strings
 * and lists of strings from the scanned line, a numeric code, `{ metadata: {} }`, objectRef from
 * RequestInfo), so what a line can still get wrong is its `stage` (taken as written) and a
 * timestamp whose offset moves it outside the years 0000–9999 (not a MicroTime then). False
 * means "run validateEvent" (it says what is wrong); true is never wrong for the converter's
 * events (fuzz.test.ts holds it against validateEvent on random and mutated lines). Not for
 * events from anywhere else.
 */
export function isConvertedEventValid(event: Event): boolean {
  const s = event.stage;
  return (
    (s === "ResponseComplete" ||
      s === "RequestReceived" ||
      s === "ResponseStarted" ||
      s === "Panic") &&
    isWrittenTime(event.requestReceivedTimestamp) &&
    isWrittenTime(event.stageTimestamp)
  );
}

function statusFor(code: number): Status {
  return code === 0 ? { metadata: {} } : { metadata: {}, code };
}

/**
 * Builds the v1 event of the line just scanned (a G4/G5 line, or a G1–G3 request line without
 * its response), straight from the scanned values: no LegacyRecord in between.
 */
function eventFromScan(layout: Layout): Event {
  const basic = layout.kind === "request";
  const v = scannedValue;
  const uri = v(10) ?? "";
  const method = v(3) ?? "";
  // G1–G3 have the HTTP method, G4/G5 the verb (which RequestInfo only needs for list/watch names).
  const info = resolve(basic ? method : (VERB_METHOD[method] ?? method.toUpperCase()), uri).info;
  const verb = basic ? info.verb : method;
  const user: UserInfo = {};
  const username = v(4);
  if (username !== undefined && username !== "" && username !== "<none>") user.username = username;
  const groups = scannedList(5);
  if (groups !== undefined) user.groups = groups;
  let impersonatedUser: UserInfo | undefined;
  const rawAs = v(6);
  const as = rawAs === "<self>" ? undefined : rawAs;
  const asgroups = scannedList(7);
  if (as !== undefined || asgroups !== undefined) {
    impersonatedUser = {};
    if (as !== undefined && as !== "") impersonatedUser.username = as;
    if (asgroups !== undefined) impersonatedUser.groups = asgroups;
  }
  const rawNs = v(9);
  const objectRef = objectRefFrom(info, rawNs === "<none>" ? undefined : rawNs);
  const received = toMicroTime(scanned.time);
  const stage = (basic ? "RequestReceived" : (v(1) ?? "")) as Event["stage"];
  const response = scannedResponse();
  // Field order = kube-apiserver's JSON order.
  const event: Event = {
    kind: "Event",
    apiVersion: "audit.k8s.io/v1",
    level: "Metadata",
    auditID: v(0)!,
    stage,
    requestURI: uri,
    verb,
    user,
  };
  if (impersonatedUser !== undefined) event.impersonatedUser = impersonatedUser;
  const ip = v(2);
  if (ip !== undefined && ip !== "<unknown>" && ip !== "<nil>") event.sourceIPs = [ip];
  const userAgent = v(8);
  if (userAgent !== undefined && userAgent !== "") event.userAgent = userAgent;
  if (objectRef !== undefined) event.objectRef = objectRef;
  if (response !== undefined) event.responseStatus = statusFor(response);
  event.requestReceivedTimestamp = received;
  // The legacy line only carries requestReceivedTimestamp; kube's RequestReceived events have
  // stageTimestamp equal to it, later stages' stageTimestamp is not in the line.
  event.stageTimestamp = stage === "RequestReceived" ? received : null;
  return event;
}

/** Adds a basic-audit response line to its request's event, making it ResponseComplete. */
function complete(event: Event, code: number, time: ParsedTime): Event {
  const out: Event = {
    kind: event.kind,
    apiVersion: event.apiVersion,
    level: event.level,
    auditID: event.auditID,
    stage: "ResponseComplete",
    requestURI: event.requestURI,
    verb: event.verb,
    user: event.user,
  };
  if (event.impersonatedUser !== undefined) out.impersonatedUser = event.impersonatedUser;
  if (event.sourceIPs !== undefined) out.sourceIPs = event.sourceIPs;
  if (event.objectRef !== undefined) out.objectRef = event.objectRef;
  out.responseStatus = statusFor(code);
  out.requestReceivedTimestamp = event.requestReceivedTimestamp;
  // The response line's time is when the response header was written.
  out.stageTimestamp = toMicroTime(time);
  return out;
}

/**
 * The synchronous core of {@link legacyToEvents}: feed it lines in order with `push` and call
 * `end` once; each call appends results to `out`. Keeps the G1–G3 request lines that still
 * wait for their response line (at most `maxPending`).
 */
export class LegacyConverter {
  private lineNo = 0;
  private readonly strict: boolean;
  private readonly maxPending: number;
  private readonly pending = new Map<string, Pending[]>();
  private pendingCount = 0;
  /** Ids evicted by the pending limit (bounded), to explain a late response line. */
  private readonly evicted = new Map<string, number>();
  private stopped = false;

  constructor(options: LegacyToEventsOptions = {}) {
    this.strict = options.strict ?? false;
    const max = options.maxPending ?? DEFAULT_MAX_PENDING;
    if (!Number.isInteger(max) || max < 1)
      throw new RangeError(`maxPending must be a positive integer, got ${max}`);
    this.maxPending = max;
    const first = options.firstLine ?? 1;
    if (!Number.isInteger(first) || first < 1)
      throw new RangeError(`firstLine must be a positive integer, got ${first}`);
    this.lineNo = first - 1;
  }

  /**
   * Whether nothing carries over to the next line: no request line waits for its response line
   * and none was written early for lack of room (whose late response line gets its own error).
   * A reader that cuts its input into pieces at such points converts each piece on its own.
   */
  get idle(): boolean {
    return this.pendingCount === 0 && this.evicted.size === 0;
  }

  /** Whether a strict converter has stopped at an error (later pushes are ignored). */
  get done(): boolean {
    return this.stopped;
  }

  /** How many G1–G3 request lines are waiting for their response line. */
  get pendingRequests(): number {
    return this.pendingCount;
  }

  private emit(out: Out, event: Event): void {
    out.push({ event });
  }

  /** A request line written without its response line. */
  private emitPending(out: Out, p: Pending): void {
    this.emit(out, p.event);
  }

  private fail(out: Out, line: number, column: number, message: string): void {
    out.push({ error: { line, column, message } });
    if (this.strict) this.stopped = true;
  }

  /**
   * Converts the next line. Returns `false` once a strict converter has stopped. `line` is the
   * line's number when the caller skips lines that are not legacy lines (default: the line after
   * the last one pushed); it never goes back.
   */
  push(item: LegacyLineInput, out: LegacyConversionResult[], line?: number): boolean {
    if (this.stopped) return false;
    if (line !== undefined && line > this.lineNo + 1) this.lineNo = line - 1;
    const lineNo = ++this.lineNo;
    if (typeof item !== "string") {
      const e = item?.error;
      if (e === undefined) {
        this.fail(out, lineNo, 1, "not a line: expected a string");
      } else {
        this.fail(out, lineNo, e.column, e.message);
      }
      return !this.stopped;
    }
    if (isBlank(item)) return true;
    let kind: Layout["kind"];
    let id: string;
    let event: Event | undefined;
    let code = 0;
    let time: ParsedTime;
    try {
      const layout = scanLine(item);
      kind = layout.kind;
      id = scannedValue(0)!;
      time = scanned.time;
      // Lists and the response code are decoded here, so their errors are caught too.
      if (kind === "response") code = scannedResponse() ?? 0;
      else event = eventFromScan(layout);
    } catch (e) {
      if (e instanceof LegacyParseError) {
        e.line = lineNo;
        this.fail(out, lineNo, e.column, e.message);
        return !this.stopped;
      }
      throw e;
    }
    if (kind === "stage") {
      this.emit(out, event!);
    } else if (kind === "request") {
      this.addPending(id, { line: lineNo, event: event! }, out);
    } else {
      const queue = this.pending.get(id);
      const req = queue?.shift();
      if (req === undefined) {
        const column = item.indexOf("id=") + 4;
        const evictedAt = this.evicted.get(id);
        this.fail(
          out,
          lineNo,
          column,
          evictedAt !== undefined
            ? `response line for id ${JSON.stringify(id)}: its request (line ${evictedAt}) was already written without a response because ${this.maxPending} requests were waiting (maxPending)`
            : `response line for id ${JSON.stringify(id)} without an earlier request line with that id`,
        );
        return !this.stopped;
      }
      if (queue!.length === 0) this.pending.delete(id);
      this.pendingCount--;
      this.emit(out, complete(req.event, code, time));
    }
    return true;
  }

  private addPending(id: string, p: Pending, out: Out): void {
    if (this.pendingCount >= this.maxPending) {
      // Evict the oldest waiting request: write it as it is and say so.
      const [oldestId, queue] = this.pending.entries().next().value as [string, Pending[]];
      const oldest = queue.shift()!;
      if (queue.length === 0) this.pending.delete(oldestId);
      this.pendingCount--;
      this.evicted.set(oldestId, oldest.line);
      if (this.evicted.size > this.maxPending) {
        this.evicted.delete(this.evicted.keys().next().value as string);
      }
      this.emitPending(out, oldest);
      this.fail(
        out,
        oldest.line,
        1,
        `${this.maxPending} request lines were waiting for their response line (maxPending); the request with id ${JSON.stringify(oldestId)} was written without one (stage RequestReceived)`,
      );
      if (this.stopped) return;
    }
    const queue = this.pending.get(id);
    if (queue === undefined) this.pending.set(id, [p]);
    else queue.push(p);
    this.pendingCount++;
  }

  /**
   * Ends the input: every request line still waiting for its response line becomes an event
   * of stage RequestReceived without responseStatus (basic audit wrote no response line when
   * the handler never called WriteHeader explicitly), in input order.
   */
  end(out: LegacyConversionResult[]): void {
    if (this.stopped) return;
    const rest: Pending[] = [];
    for (const queue of this.pending.values()) rest.push(...queue);
    rest.sort((a, b) => a.line - b.line);
    for (const p of rest) this.emitPending(out, p);
    this.pending.clear();
    this.pendingCount = 0;
    this.stopped = true;
  }
}

function isBlank(s: string): boolean {
  const c0 = s.charCodeAt(0);
  if (c0 >= 0x30 && c0 <= 0x39) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0x0a && c !== 0xfeff) return false;
  }
  return true;
}

/**
 * Converts legacy `AUDIT:` lines of any generation to audit.k8s.io/v1 events (level
 * Metadata), streaming: it pulls one line at a time from `lines`, so a `for await` consumer
 * that waits for its writes gives back-pressure all the way to the file.
 *
 * - G4/G5: one event per line.
 * - G1–G3: a request line and its `response=` line (same id, other requests may come
 *   between) become one ResponseComplete event; a request whose response line never comes is
 *   yielded at the end of input as a RequestReceived event without responseStatus.
 * - verb and objectRef are rebuilt from the HTTP method (G1–G3) or verb (G4/G5) and the uri,
 *   as kube-apiserver's RequestInfo does; namespace is the line's.
 * - Blank lines are skipped (line numbers still count them); a trailing `\r` and a BOM are
 *   ignored. Any other line that cannot be read yields `{ error: { line, column, message } }`
 *   and conversion goes on, unless `strict` is set: then the first error is the last item.
 *
 * See the README for the fields the mapping cannot carry.
 *
 * @example
 * for await (const r of legacyToEvents(splitLines(createReadStream("audit.log")))) {
 *   if ("event" in r) out.write(`${JSON.stringify(r.event)}\n`);
 *   else console.error(`audit.log:${r.error.line}:${r.error.column}: ${r.error.message}`);
 * }
 */
export async function* legacyToEvents(
  lines: Iterable<LegacyLineInput> | AsyncIterable<LegacyLineInput>,
  options: LegacyToEventsOptions = {},
): AsyncGenerator<LegacyConversionResult, void, undefined> {
  for await (const batch of legacyToEventBatches(lines, options)) yield* batch;
}

/**
 * {@link legacyToEvents}, handing out the results in arrays (one per chunk of input when the
 * lines come from {@link splitLines}, else one per line that produced results): the same
 * items in the same order, with far fewer awaits, for consumers that write in bulk.
 */
export async function* legacyToEventBatches(
  lines: Iterable<LegacyLineInput> | AsyncIterable<LegacyLineInput>,
  options: LegacyToEventsOptions = {},
): AsyncGenerator<LegacyConversionResult[], void, undefined> {
  const converter = new LegacyConverter(options);
  const batched = (lines as Partial<LineSource>)[LINE_BATCHES];
  if (typeof batched === "function") {
    for await (const batch of batched.call(lines)) {
      const out: LegacyConversionResult[] = [];
      let go = true;
      for (let i = 0; i < batch.length && go; i++) go = converter.push(batch[i]!, out);
      if (out.length > 0) yield out;
      if (!go) return;
    }
  } else {
    for await (const item of lines) {
      const out: LegacyConversionResult[] = [];
      const go = converter.push(item, out);
      if (out.length > 0) yield out;
      if (!go) return;
    }
  }
  const out: LegacyConversionResult[] = [];
  converter.end(out);
  if (out.length > 0) yield out;
}

/**
 * Writes events as kube-apiserver's current legacy lines (G5, {@link formatLegacyLine}), one
 * string per event, without newlines.
 *
 * @throws {LegacyFormatError} for an event whose requestReceivedTimestamp is not RFC 3339.
 */
export async function* eventsToLegacy(
  events: Iterable<Event> | AsyncIterable<Event>,
): AsyncGenerator<string, void, undefined> {
  for await (const event of events) yield formatLegacyLine(event);
}
