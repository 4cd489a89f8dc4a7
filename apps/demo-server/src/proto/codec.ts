import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { KauditError } from "@kaudit/api";
import { type FieldDef, type MessageTable, qualify, SPECIAL_MESSAGES } from "./schema";
import { APPS_MESSAGES } from "./tables-apps";
import { CORE_MESSAGES } from "./tables-core";
import { META_MESSAGES } from "./tables-meta";
import { REVIEW_MESSAGES } from "./tables-review";

/** Every message the demo can decode and encode, by name. */
export const MESSAGES: MessageTable = qualify({
  ...META_MESSAGES,
  ...CORE_MESSAGES,
  ...APPS_MESSAGES,
  ...REVIEW_MESSAGES,
});

const listTables = new Map<string, readonly FieldDef[]>();

/**
 * The fields of `message`; `<item>List` (e.g. `core.v1.PodList`) is built from its item:
 * `metadata` (ListMeta, 1) and `items` (2), as every kube list is.
 */
export function tableOf(message: string): readonly FieldDef[] | undefined {
  const direct = MESSAGES[message];
  if (direct) return direct;
  if (!message.endsWith("List")) return undefined;
  let t = listTables.get(message);
  const item = message.slice(0, -4);
  if (!t && MESSAGES[item]) {
    t = [
      [1, "metadata", "meta.v1.ListMeta"],
      [2, "items", `[]${item}`],
    ];
    listTables.set(message, t);
  }
  return t;
}

/**
 * A protobuf body the demo cannot turn into JSON. `fieldNumber` is set when the message has a
 * field the tables do not know (`unknownField`): kube would decode it, the demo would lose it,
 * so it refuses the body rather than drop data silently.
 */
export class ProtobufError extends KauditError {
  /** The kind of the object being decoded (`Deployment`). */
  readonly kind: string;
  /** Where in the object, as a JSON field path (`spec.template.spec.containers[0]`). */
  readonly path: string;
  /** The message being read (`core.v1.Container`). */
  readonly message_: string;
  /** The field number that is unknown or malformed. */
  readonly fieldNumber: number | undefined;
  /** True when the field number is not in the tables. */
  readonly unknownField: boolean;
  constructor(
    text: string,
    at: { kind: string; path: string; message: string; fieldNumber?: number },
    unknownField = false,
  ) {
    super(text, { name: "ProtobufError" });
    this.kind = at.kind;
    this.path = at.path;
    this.message_ = at.message;
    this.fieldNumber = at.fieldNumber;
    this.unknownField = unknownField;
  }
}

/** Where a decode or encode is, for error messages. */
interface Ctx {
  kind: string;
  path: string;
  depth: number;
}

// kube's own decoder stops at 10,000 nested messages; objects the demo serves are far shallower
const MAX_DEPTH = 100;

const SCALARS = new Set(["string", "int32", "int64", "bool", "bytes", "double"]);

function child(ctx: Ctx, name: string): Ctx {
  return { kind: ctx.kind, path: ctx.path ? `${ctx.path}.${name}` : name, depth: ctx.depth + 1 };
}

function at(ctx: Ctx, message: string, fieldNumber?: number) {
  return { kind: ctx.kind, path: ctx.path, message, fieldNumber };
}

function fail(ctx: Ctx, message: string, text: string, fieldNumber?: number): never {
  throw new ProtobufError(
    `${ctx.kind}: ${ctx.path || "(object)"}: ${text}`,
    at(ctx, message, fieldNumber),
  );
}

type ParsedType = { elem: string; repeated: boolean; map: boolean };
const parsedTypes = new Map<string, ParsedType>();

/** Parses `[]T` and `map[T]` (once per type string). */
function parseType(type: string): ParsedType {
  let p = parsedTypes.get(type);
  if (p) return p;
  if (type.startsWith("[]")) p = { elem: type.slice(2), repeated: true, map: false };
  else if (type.startsWith("map[")) p = { elem: type.slice(4, -1), repeated: false, map: true };
  else p = { elem: type, repeated: false, map: false };
  parsedTypes.set(type, p);
  return p;
}

const byNumber = new WeakMap<readonly FieldDef[], Map<number, FieldDef>>();

/** A message's fields by number (built once per table). */
function fieldsByNumber(fields: readonly FieldDef[]): Map<number, FieldDef> {
  let m = byNumber.get(fields);
  if (!m) {
    m = new Map(fields.map((f) => [f[0], f]));
    byNumber.set(fields, m);
  }
  return m;
}

function int64ToNumber(v: bigint | string): number {
  return Number(v);
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** Go's `time.RFC3339` of a UTC instant, to the second (`metav1.Time`) or microsecond. */
function formatTime(seconds: number, nanos: number, micro: boolean): string {
  const d = new Date(seconds * 1000);
  const base = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  return micro ? `${base}.${pad(Math.floor(nanos / 1000), 6)}Z` : `${base}Z`;
}

function parseTime(text: unknown, ctx: Ctx, message: string): { seconds: number; nanos: number } {
  if (typeof text !== "string") fail(ctx, message, `expected an RFC 3339 time, got ${typeof text}`);
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.exec(text);
  const ms = m ? Date.parse(`${m[1]}${m[3]}`) : Number.NaN;
  if (!m || Number.isNaN(ms)) fail(ctx, message, `invalid RFC 3339 time ${JSON.stringify(text)}`);
  const frac = (m[2] ?? ".").slice(1).padEnd(9, "0").slice(0, 9);
  return { seconds: Math.floor(ms / 1000), nanos: Number(frac) };
}

/** Reads one length-delimited or scalar value of a scalar type. */
function readScalar(r: BinaryReader, type: string): unknown {
  switch (type) {
    case "string":
      return r.string();
    case "bytes":
      return Buffer.from(r.bytes()).toString("base64");
    case "int32":
      return r.int32();
    case "int64":
      return int64ToNumber(r.int64());
    case "bool":
      return r.bool();
    case "double":
      return r.double();
    default:
      throw new Error(`not a scalar: ${type}`);
  }
}

function wireOf(type: string): WireType {
  if (type === "int32" || type === "int64" || type === "bool") return WireType.Varint;
  if (type === "double") return WireType.Bit64;
  return WireType.LengthDelimited;
}

function zeroOf(type: string): unknown {
  switch (type) {
    case "string":
    case "bytes":
      return "";
    case "bool":
      return false;
    default:
      return 0;
  }
}

function isZero(v: unknown): boolean {
  if (v === undefined || v === null || v === "" || v === 0 || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === "object") return Object.keys(v as object).length === 0;
  return false;
}

/** What was read for one field: the values in wire order (message values as raw bytes). */
type Seen = Map<number, unknown[]>;

/** Decodes the bytes of `message` into the JSON kube writes for it. */
export function decodeMessage(bytes: Uint8Array, message: string, ctx: Ctx): unknown {
  if (ctx.depth > MAX_DEPTH) fail(ctx, message, `nested deeper than ${MAX_DEPTH} messages`);
  if (SPECIAL_MESSAGES.has(message)) return decodeSpecial(bytes, message, ctx);
  const fields = tableOf(message);
  if (!fields) fail(ctx, message, `no table for message ${message}`);
  const byNo = fieldsByNumber(fields);
  const seen: Seen = new Map();
  const r = new BinaryReader(bytes);
  try {
    while (r.pos < r.len) {
      const [no, wt] = r.tag();
      const f = byNo.get(no);
      if (!f)
        throw new ProtobufError(
          `${ctx.kind}: ${ctx.path || "(object)"}: field number ${no} of ${message} is not known to this server`,
          at(ctx, message, no),
          true,
        );
      if (f[3] === "x")
        throw new ProtobufError(
          `${ctx.kind}: ${ctx.path ? `${ctx.path}.` : ""}${f[1]}: field number ${no} (${f[1]}) of ${message} is not supported by this server`,
          at(child(ctx, f[1]), message, no),
          true,
        );
      const { elem, repeated, map } = parseType(f[2]);
      const list = seen.get(no) ?? [];
      seen.set(no, list);
      const scalar = SCALARS.has(elem) && !map;
      if (
        scalar &&
        repeated &&
        wt === WireType.LengthDelimited &&
        elem !== "string" &&
        elem !== "bytes"
      ) {
        // packed repeated numbers
        const end = r.uint32() + r.pos;
        while (r.pos < end) list.push(readScalar(r, elem));
        continue;
      }
      const want = scalar ? wireOf(elem) : WireType.LengthDelimited;
      if (wt !== want)
        fail(
          child(ctx, f[1]),
          message,
          `field ${no} (${f[1]}) has wire type ${wt}, expected ${want}`,
          no,
        );
      list.push(scalar ? readScalar(r, elem) : r.bytes());
    }
  } catch (e) {
    if (e instanceof ProtobufError) throw e;
    fail(ctx, message, `malformed protobuf: ${(e as Error).message}`);
  }
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const [no, json, type, shape = ""] = f;
    if (shape === "x") continue;
    const { elem, repeated, map } = parseType(type);
    const vals = seen.get(no);
    const c = child(ctx, json);
    if (shape === "i") {
      const inner = decodeMessage(concat(vals), elem, { ...ctx, depth: ctx.depth + 1 });
      Object.assign(out, inner);
      continue;
    }
    if (map) {
      const m = decodeMap(vals ?? [], elem, c);
      if (m !== undefined) out[json] = m;
      else if (shape === "") out[json] = null;
      continue;
    }
    if (repeated) {
      if (vals && vals.length > 0)
        out[json] = SCALARS.has(elem)
          ? vals
          : vals.map((b, i) =>
              decodeMessage(b as Uint8Array, elem, { ...c, path: `${c.path}[${i}]` }),
            );
      else if (shape === "") out[json] = null;
      continue;
    }
    if (SCALARS.has(elem)) {
      const v = vals && vals.length > 0 ? vals[vals.length - 1] : undefined;
      if (shape === "p") {
        if (v !== undefined) out[json] = v;
      } else if (shape === "o") {
        if (v !== undefined && !isZero(v)) out[json] = v;
      } else out[json] = v ?? zeroOf(elem);
      continue;
    }
    // a message: several occurrences merge, as concatenated bytes do in protobuf
    if (shape === "p" && !vals) continue;
    out[json] = decodeMessage(concat(vals), elem, c);
  }
  return out;
}

function concat(vals: unknown[] | undefined): Uint8Array {
  if (!vals || vals.length === 0) return new Uint8Array(0);
  if (vals.length === 1) return vals[0] as Uint8Array;
  return Buffer.concat(vals as Uint8Array[]);
}

/** A map field: entries `{1: key, 2: value}`; Go writes maps with sorted keys. */
function decodeMap(vals: unknown[], elem: string, ctx: Ctx): Record<string, unknown> | undefined {
  if (vals.length === 0) return undefined;
  const entries = new Map<string, unknown>();
  for (const b of vals) {
    const r = new BinaryReader(b as Uint8Array);
    let key = "";
    let value: unknown;
    let valueSeen = false;
    try {
      readEntry();
    } catch (e) {
      if (e instanceof ProtobufError) throw e;
      fail(ctx, `map<string, ${elem}>`, `malformed protobuf: ${(e as Error).message}`);
    }
    function readEntry(): void {
      while (r.pos < r.len) {
        const [no, wt] = r.tag();
        if (no === 1 && wt === WireType.LengthDelimited) key = r.string();
        else if (no === 2) {
          valueSeen = true;
          if (SCALARS.has(elem)) {
            if (wt !== wireOf(elem))
              fail(ctx, `map<string, ${elem}>`, "map value of the wrong wire type", 2);
            value = readScalar(r, elem);
          } else {
            if (wt !== WireType.LengthDelimited)
              fail(ctx, `map<string, ${elem}>`, "map value of the wrong wire type", 2);
            value = r.bytes();
          }
        } else
          throw new ProtobufError(
            `${ctx.kind}: ${ctx.path}: field number ${no} of a map entry is not known to this server`,
            at(ctx, `map<string, ${elem}>`, no),
            true,
          );
      }
    }
    if (SCALARS.has(elem)) entries.set(key, valueSeen ? value : zeroOf(elem));
    else
      entries.set(
        key,
        decodeMessage((value as Uint8Array) ?? new Uint8Array(0), elem, {
          ...ctx,
          path: `${ctx.path}[${JSON.stringify(key)}]`,
        }),
      );
  }
  const out: Record<string, unknown> = {};
  for (const k of [...entries.keys()].sort()) out[k] = entries.get(k);
  return out;
}

function decodeSpecial(bytes: Uint8Array, message: string, ctx: Ctx): unknown {
  const r = new BinaryReader(bytes);
  const vals = new Map<number, unknown[]>();
  const expect: Record<string, Record<number, string>> = {
    "meta.v1.Time": { 1: "int64", 2: "int32" },
    "meta.v1.MicroTime": { 1: "int64", 2: "int32" },
    "resource.Quantity": { 1: "string" },
    "intstr.IntOrString": { 1: "int64", 2: "int32", 3: "string" },
    "meta.v1.FieldsV1": { 1: "bytes" },
    "authentication.v1.ExtraValue": { 1: "string" },
  };
  const types = expect[message] as Record<number, string>;
  try {
    while (r.pos < r.len) {
      const [no, wt] = r.tag();
      const t = types[no];
      if (!t)
        throw new ProtobufError(
          `${ctx.kind}: ${ctx.path}: field number ${no} of ${message} is not known to this server`,
          at(ctx, message, no),
          true,
        );
      if (wt !== wireOf(t)) fail(ctx, message, `field ${no} has wire type ${wt}`, no);
      const list = vals.get(no) ?? [];
      vals.set(no, list);
      list.push(t === "bytes" ? r.bytes() : readScalar(r, t));
    }
  } catch (e) {
    if (e instanceof ProtobufError) throw e;
    fail(ctx, message, `malformed protobuf: ${(e as Error).message}`);
  }
  const one = (no: number) => vals.get(no)?.at(-1);
  switch (message) {
    case "meta.v1.Time":
      // kube reads an empty Time as the zero time (JSON null) and drops nanoseconds
      return bytes.length === 0 ? null : formatTime(Number(one(1) ?? 0), 0, false);
    case "meta.v1.MicroTime":
      return bytes.length === 0 ? null : formatTime(Number(one(1) ?? 0), Number(one(2) ?? 0), true);
    case "resource.Quantity":
      return (one(1) as string | undefined) || "0";
    case "intstr.IntOrString":
      return Number(one(1) ?? 0) === 1 ? ((one(3) as string) ?? "") : Number(one(2) ?? 0);
    case "meta.v1.FieldsV1": {
      const raw = one(1) as Uint8Array | undefined;
      if (!raw || raw.length === 0) return null;
      try {
        return JSON.parse(Buffer.from(raw).toString("utf8"));
      } catch (e) {
        return fail(ctx, message, `fieldsV1 is not JSON: ${(e as Error).message}`);
      }
    }
    default:
      // ExtraValue: a list of strings, null when empty as Go writes a nil slice
      return vals.get(1) ?? null;
  }
}

/** Encodes kube's JSON of `message` (as {@link decodeMessage} writes it) into protobuf. */
export function encodeMessage(value: unknown, message: string, ctx: Ctx): Uint8Array {
  const w = new BinaryWriter();
  writeMessage(w, value, message, ctx);
  return w.finish();
}

function writeMessage(
  w: BinaryWriter,
  value: unknown,
  message: string,
  ctx: Ctx,
  inlined = false,
): void {
  if (ctx.depth > MAX_DEPTH) fail(ctx, message, `nested deeper than ${MAX_DEPTH} messages`);
  if (SPECIAL_MESSAGES.has(message)) {
    writeSpecial(w, value, message, ctx);
    return;
  }
  const fields = tableOf(message);
  if (!fields) fail(ctx, message, `no table for message ${message}`);
  if (value === null || value === undefined) return;
  if (typeof value !== "object" || Array.isArray(value))
    fail(
      ctx,
      message,
      `expected an object, got ${Array.isArray(value) ? "an array" : typeof value}`,
    );
  const obj = value as Record<string, unknown>;
  // an inlined struct shares its parent's object, whose keys the parent checked
  if (!inlined) {
    const known = new Set<string>();
    collectNames(message, known);
    if (ctx.depth === 0) known.add("kind").add("apiVersion");
    for (const k of Object.keys(obj))
      if (!known.has(k)) fail(child(ctx, k), message, `field ${k} is not part of ${message}`);
  }
  for (const [no, json, type, shape = ""] of fields) {
    const { elem, repeated, map } = parseType(type);
    if (shape === "i") {
      w.tag(no, WireType.LengthDelimited).fork();
      writeMessage(w, obj, elem, { ...ctx, depth: ctx.depth + 1 }, true);
      w.join();
      continue;
    }
    const v = obj[json];
    const c = child(ctx, json);
    if (v === undefined) continue;
    if (map) {
      if (v === null) continue;
      if (typeof v !== "object" || Array.isArray(v)) fail(c, message, "expected an object");
      for (const k of Object.keys(v as object).sort()) {
        w.tag(no, WireType.LengthDelimited).fork();
        w.tag(1, WireType.LengthDelimited).string(k);
        writeValue(w, 2, (v as Record<string, unknown>)[k], elem, "", {
          ...c,
          path: `${c.path}[${JSON.stringify(k)}]`,
        });
        w.join();
      }
      continue;
    }
    if (repeated) {
      if (v === null) continue;
      if (!Array.isArray(v)) fail(c, message, "expected an array");
      v.forEach((item, i) => {
        writeValue(w, no, item, elem, "", { ...c, path: `${c.path}[${i}]` });
      });
      continue;
    }
    // a null struct is the zero struct; a null pointer is not on the wire
    if (v === null && (SCALARS.has(elem) || shape === "p")) continue;
    writeValue(w, no, v, elem, shape, c);
  }
}

/** JSON names a message accepts, including those of inlined structs. */
function collectNames(message: string, into: Set<string>): void {
  for (const [, json, type, shape] of tableOf(message) ?? []) {
    if (shape === "i") collectNames(parseType(type).elem, into);
    else if (shape !== "x") into.add(json);
  }
}

function writeValue(
  w: BinaryWriter,
  no: number,
  v: unknown,
  type: string,
  _shape: string,
  ctx: Ctx,
): void {
  if (!SCALARS.has(type)) {
    w.tag(no, WireType.LengthDelimited).fork();
    writeMessage(w, v, type, { ...ctx, depth: ctx.depth + 1 });
    w.join();
    return;
  }
  const bad = (): never => fail(ctx, type, `expected ${type}, got ${JSON.stringify(v)}`);
  switch (type) {
    case "string":
      if (typeof v !== "string") bad();
      w.tag(no, WireType.LengthDelimited).string(v as string);
      return;
    case "bytes":
      if (typeof v !== "string") bad();
      w.tag(no, WireType.LengthDelimited).bytes(Buffer.from(v as string, "base64"));
      return;
    case "bool":
      if (typeof v !== "boolean") bad();
      w.tag(no, WireType.Varint).bool(v as boolean);
      return;
    case "int32":
      if (typeof v !== "number" || !Number.isInteger(v)) bad();
      w.tag(no, WireType.Varint).int32(v as number);
      return;
    case "int64":
      if (typeof v !== "number" || !Number.isInteger(v)) bad();
      w.tag(no, WireType.Varint).int64(v as number);
      return;
    default:
      if (typeof v !== "number") bad();
      w.tag(no, WireType.Bit64).double(v as number);
  }
}

function writeSpecial(w: BinaryWriter, v: unknown, message: string, ctx: Ctx): void {
  switch (message) {
    case "meta.v1.Time":
    case "meta.v1.MicroTime": {
      if (v === null) return; // the zero time: an empty message
      const t = parseTime(v, ctx, message);
      w.tag(1, WireType.Varint).int64(t.seconds);
      if (message === "meta.v1.MicroTime")
        w.tag(2, WireType.Varint).int32(Math.floor(t.nanos / 1000) * 1000);
      else w.tag(2, WireType.Varint).int32(0);
      return;
    }
    case "resource.Quantity":
      if (typeof v !== "string" && typeof v !== "number")
        fail(ctx, message, `expected a quantity, got ${JSON.stringify(v)}`);
      w.tag(1, WireType.LengthDelimited).string(String(v));
      return;
    case "intstr.IntOrString":
      if (typeof v === "number" && Number.isInteger(v)) {
        w.tag(1, WireType.Varint).int64(0);
        w.tag(2, WireType.Varint).int32(v);
      } else if (typeof v === "string") {
        w.tag(1, WireType.Varint).int64(1);
        w.tag(3, WireType.LengthDelimited).string(v);
      } else fail(ctx, message, `expected an integer or a string, got ${JSON.stringify(v)}`);
      return;
    case "meta.v1.FieldsV1":
      if (v === null) return;
      w.tag(1, WireType.LengthDelimited).bytes(Buffer.from(JSON.stringify(v)));
      return;
    default:
      if (v === null) return;
      if (!Array.isArray(v) || v.some((s) => typeof s !== "string"))
        fail(ctx, message, "expected a list of strings");
      for (const s of v as string[]) w.tag(1, WireType.LengthDelimited).string(s);
  }
}

/** A decode or encode context at the top of an object of `kind`. */
export function rootContext(kind: string): Ctx {
  return { kind, path: "", depth: 0 };
}
