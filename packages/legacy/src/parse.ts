import { LegacyParseError } from "./errors";
import {
  describeAt,
  GoUnquoteFailure,
  quotedEnd,
  readGoQuoted,
  readGoQuotedFast,
} from "./go-quote";
import { type ParsedTime, parseRfc3339 } from "./time";

/**
 * Which producer wrote a line (see the package README):
 * - `G1`: basic audit, k8s 1.4 — request line `id ip method user as namespace uri`;
 * - `G2`: basic audit, k8s 1.5 — adds `asgroups` (joined with `", "`);
 * - `G3`: basic audit, k8s 1.6–1.11 — adds `groups` (joined with `","`);
 * - `G1-G3`: the basic-audit response line `id response`, the same in G1, G2 and G3;
 * - `G4`: advanced audit's legacy backend, k8s 1.7–1.20 — one line per stage;
 * - `G5`: k8s 1.21+ — G4 plus `user-agent`.
 */
export type LegacyGeneration = "G1" | "G2" | "G3" | "G1-G3" | "G4" | "G5";

/**
 * What a line is: a basic-audit `request` line (G1–G3, HTTP method, no response), a
 * basic-audit `response` line (pairs with a request line by id), or a `stage` line (G4/G5,
 * one self-contained line per event and stage).
 */
export type LegacyLineKind = "request" | "response" | "stage";

/**
 * One parsed legacy line. Every field of the line's generation is read; a field holding its
 * placeholder (`<none>`, `<self>`, `<lookup>`, `<deferred>`, `<unknown>`, `<nil>`) is absent,
 * as is a field the generation does not have. Values are Go-`%q`-decoded.
 */
export interface LegacyRecord {
  /** Which producer wrote the line. */
  generation: LegacyGeneration;
  /** What the line is. */
  kind: LegacyLineKind;
  /** The line's timestamp exactly as written (RFC 3339, up to nanoseconds, any offset). */
  timestamp: string;
  /** The audit ID (`id=`). */
  id: string;
  /** `stage=` (G4/G5); may be `""`. */
  stage?: string;
  /** `ip=`: the first source IP; absent for `<unknown>` (G4/G5) and `<nil>` (G1–G3). */
  ip?: string;
  /** `method=`: the HTTP method (G1–G3, e.g. `GET`) or the Kubernetes verb (G4/G5, e.g. `list`). */
  method?: string;
  /** `user=`: the user name; absent for `<none>`. */
  user?: string;
  /** `groups=` (G3–G5): the user's groups; absent for `<none>`. */
  groups?: string[];
  /** `as=`: the impersonated user name; absent for `<self>`; may be `""`. */
  as?: string;
  /** `asgroups=` (G2–G5): the impersonated groups; absent for `<lookup>`; `[]` for `""`. */
  asgroups?: string[];
  /** `user-agent=` (G5); may be `""`. */
  userAgent?: string;
  /** `namespace=`; absent for `<none>`. */
  namespace?: string;
  /** `uri=`: the request URI (path and query). */
  uri?: string;
  /** `response=`: the HTTP status code; absent for `<deferred>`. */
  response?: number;
}

type Key =
  | "id"
  | "stage"
  | "ip"
  | "method"
  | "user"
  | "groups"
  | "as"
  | "asgroups"
  | "user-agent"
  | "namespace"
  | "uri"
  | "response";

/** A generation's key sequence. */
export interface Layout {
  generation: LegacyGeneration;
  kind: LegacyLineKind;
  keys: readonly Key[];
}

/** The key sequences of every generation (spec §8.3), in the order the producers write them. */
const LAYOUTS: readonly Layout[] = [
  {
    generation: "G1",
    kind: "request",
    keys: ["id", "ip", "method", "user", "as", "namespace", "uri"],
  },
  {
    generation: "G2",
    kind: "request",
    keys: ["id", "ip", "method", "user", "as", "asgroups", "namespace", "uri"],
  },
  {
    generation: "G3",
    kind: "request",
    keys: ["id", "ip", "method", "user", "groups", "as", "asgroups", "namespace", "uri"],
  },
  { generation: "G1-G3", kind: "response", keys: ["id", "response"] },
  {
    generation: "G4",
    kind: "stage",
    keys: [
      "id",
      "stage",
      "ip",
      "method",
      "user",
      "groups",
      "as",
      "asgroups",
      "namespace",
      "uri",
      "response",
    ],
  },
  {
    generation: "G5",
    kind: "stage",
    keys: [
      "id",
      "stage",
      "ip",
      "method",
      "user",
      "groups",
      "as",
      "asgroups",
      "user-agent",
      "namespace",
      "uri",
      "response",
    ],
  },
];

const KNOWN_KEYS = new Set<string>(LAYOUTS.flatMap((l) => l.keys));

/** Each key's index in the per-line values array (buildRecord reads them by these numbers). */
const SLOT: Record<Key, number> = {
  id: 0,
  stage: 1,
  ip: 2,
  method: 3,
  user: 4,
  groups: 5,
  as: 6,
  asgroups: 7,
  "user-agent": 8,
  namespace: 9,
  uri: 10,
  response: 11,
};

const VALUES: (string | undefined)[] = new Array(12).fill(undefined);
const COLUMNS: number[] = new Array(12).fill(0);

/** A decimal int32-ish status code as Go's Itoa writes it, or undefined. */
function parseCode(s: string): number | undefined {
  const n = s.length;
  if (n === 0 || n > 11) return undefined;
  let i = s.charCodeAt(0) === 0x2d ? 1 : 0;
  if (i === n) return undefined;
  let v = 0;
  for (; i < n; i++) {
    const d = s.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return undefined;
    v = v * 10 + d;
  }
  return s.charCodeAt(0) === 0x2d ? -v : v;
}

/** A state of the key sequence: the layouts still possible after the keys read so far. */
interface TrieNode {
  edges: Edge[];
  /** The edge whose key starts with a given char code (keys at one node differ in it). */
  byFirst: (Edge | undefined)[];
  /** The layout whose keys end here, if any. */
  end: Layout | undefined;
  /** What may come next, for error messages. */
  expected: string;
}

interface Edge {
  key: Key;
  /** Index of the key's value in the per-line values array. */
  slot: number;
  /** `key=`. */
  token: string;
  /** The char codes of `token`. */
  codes: number[];
  next: TrieNode;
}

function buildTrie(layouts: readonly Layout[], depth: number): TrieNode {
  const byKey = new Map<Key, Layout[]>();
  let end: Layout | undefined;
  for (const l of layouts) {
    const key = l.keys[depth];
    if (key === undefined) end = l;
    else byKey.set(key, [...(byKey.get(key) ?? []), l]);
  }
  const edges = [...byKey].map(([key, ls]) => ({
    key,
    slot: SLOT[key],
    token: `${key}=`,
    codes: [...`${key}=`].map((c) => c.charCodeAt(0)),
    next: buildTrie(ls, depth + 1),
  }));
  const byFirst: (Edge | undefined)[] = new Array(128).fill(undefined);
  for (const e of edges) {
    if (byFirst[e.codes[0]!] !== undefined)
      throw new Error(`keys at depth ${depth} share a first letter`);
    byFirst[e.codes[0]!] = e;
  }
  return { edges, byFirst, end, expected: expectedKeys(layouts, depth) };
}

const AUDIT = "AUDIT:";

/** A parsed line plus its parsed timestamp (kept so the converter need not parse it again). */
export interface ParsedLine {
  record: LegacyRecord;
  time: ParsedTime;
}

function fail(column0: number, expected: string, message: string): never {
  throw new LegacyParseError(`column ${column0 + 1}: ${message}`, column0 + 1, expected);
}

const ROOT: TrieNode = buildTrie(LAYOUTS, 0);

function expectedKeys(candidates: readonly Layout[], k: number): string {
  const next = new Set<string>();
  for (const l of candidates) next.add(k < l.keys.length ? `\`${l.keys[k]}=\`` : "end of line");
  return [...next].join(" or ");
}

/**
 * Parses one legacy `AUDIT:` line of any generation (G1–G5, see {@link LegacyGeneration}).
 * A trailing `\r` or `\n` and a leading BOM are ignored. Fields may be separated by one or
 * more spaces, or none (as in copies whose rendering lost them).
 *
 * @throws {LegacyParseError} with the 1-based column and what was expected there.
 * @example
 * parseLegacyLine('2017-09-05T06:08:19.885328047-04:00 AUDIT: id="c28a..." response="200"')
 * // => { generation: "G1-G3", kind: "response", timestamp: "2017-09-05T06:08:19.885328047-04:00", id: "c28a...", response: 200 }
 */
export function parseLegacyLine(line: string): LegacyRecord {
  return parseLine(line).record;
}

/** {@link parseLegacyLine}, also returning the parsed timestamp. */
export function parseLine(input: string): ParsedLine {
  const layout = scanLine(input);
  return { record: buildRecord(layout), time: scanned.time };
}

/**
 * What the last {@link scanLine} read (reused between calls: parsing is synchronous). The
 * converter reads values from here instead of building a LegacyRecord first, which keeps the
 * garbage per line down.
 */
export const scanned = {
  line: "",
  timestamp: "",
  time: { utcSeconds: "", fraction: "", offsetMinutes: 0 } as ParsedTime,
  groupsList: undefined as string[] | undefined,
  asgroupsList: undefined as string[] | undefined,
};

/**
 * The raw decoded value of a key of the last scanned line (placeholders not applied), by
 * slot: 0 id, 1 stage, 2 ip, 3 method, 4 user, 5 groups, 6 as, 7 asgroups, 8 user-agent,
 * 9 namespace, 10 uri, 11 response.
 */
export function scannedValue(slot: number): string | undefined {
  return VALUES[slot];
}

/** Reads one line into {@link scanned}; returns its layout. Throws LegacyParseError. */
export function scanLine(input: string): Layout {
  if (typeof input !== "string") {
    throw new LegacyParseError("a line must be a string", 1, "a string");
  }
  let n = input.length;
  if (n > 0 && input.charCodeAt(n - 1) === 0x0a) n--;
  if (n > 0 && input.charCodeAt(n - 1) === 0x0d) n--;
  const line = n === input.length ? input : input.slice(0, n);
  const newline = line.indexOf("\n");
  if (newline !== -1) {
    fail(newline, "no line break", "raw newline inside the line (Go's %q writes it as \\n)");
  }
  let pos = line.charCodeAt(0) === 0xfeff ? 1 : 0;
  if (pos >= n) fail(pos, "a timestamp", "empty line: expected `<timestamp> AUDIT: id=...`");

  const sp = line.indexOf(" ", pos);
  const tsEnd = sp === -1 || sp > n ? n : sp;
  const timestamp = line.slice(pos, tsEnd);
  const time = parseRfc3339(timestamp);
  if (time === undefined) {
    fail(
      pos,
      "an RFC 3339 timestamp",
      `expected an RFC 3339 timestamp (e.g. 2017-09-05T06:08:19.885328047Z), found ${JSON.stringify(truncate(timestamp))}`,
    );
  }
  pos = tsEnd;
  while (pos < n && line.charCodeAt(pos) === 0x20) pos++;
  if (pos === tsEnd || !line.startsWith(AUDIT, pos) || pos + AUDIT.length > n) {
    fail(pos, "`AUDIT:`", `expected " AUDIT:" after the timestamp, found ${describeAt(line, pos)}`);
  }
  pos += AUDIT.length;

  // Indexed by SLOT (objects with computed string keys are much slower on this hot path).
  // Reused across calls (parsing is synchronous), cleared here.
  const values = VALUES;
  const columns = COLUMNS;
  for (let i = 0; i < 12; i++) values[i] = undefined;
  let node = ROOT;
  let nextBackslash = line.indexOf("\\", pos);
  let groupsList: string[] | undefined;
  let asgroupsList: string[] | undefined;
  for (;;) {
    const before = pos;
    while (pos < n && line.charCodeAt(pos) === 0x20) pos++;
    if (pos >= n) break;
    if (node === ROOT && pos === before) fail(pos, "a space", "expected a space after `AUDIT:`");
    // Keys at one point of the sequence differ in their first letter: dispatch on it, then
    // compare the rest by char code (much cheaper than startsWith on the hot path).
    let edge = node.byFirst[line.charCodeAt(pos)];
    if (edge !== undefined) {
      const codes = edge.codes;
      for (let k = 1; k < codes.length; k++) {
        if (line.charCodeAt(pos + k) !== codes[k]) {
          edge = undefined;
          break;
        }
      }
    }
    if (edge === undefined) unexpectedKey(line, pos, node, values);
    const key = edge.key;
    node = edge.next;
    pos += edge.token.length;
    const slot = edge.slot;
    columns[slot] = pos;
    if (key === "response") {
      // response="%s" / "%d": a decimal code or <deferred>, not %q-escaped.
      if (line.charCodeAt(pos) !== 0x22) {
        fail(pos, '`"`', `expected \`"\` after response=, found ${describeAt(line, pos)}`);
      }
      const close = line.indexOf('"', pos + 1);
      if (close === -1) fail(n, '`"`', 'unterminated response value: expected a closing `"`');
      values[slot] = line.slice(pos + 1, close);
      pos = close + 1;
    } else {
      // Fast path without escapes; the next backslash is searched once per line, not per field.
      const close = line.charCodeAt(pos) === 0x22 ? line.indexOf('"', pos + 1) : -1;
      if (nextBackslash !== -1 && nextBackslash < pos) nextBackslash = line.indexOf("\\", pos);
      if (close !== -1 && (nextBackslash === -1 || nextBackslash > close)) {
        values[slot] = line.slice(pos + 1, close);
        pos = close + 1;
      } else {
        const list = slot === 5 || slot === 7 ? plainList(line, pos) : undefined;
        if (list !== undefined) {
          if (slot === 5) groupsList = list;
          else asgroupsList = list;
          values[slot] = LIST;
          pos = quotedEnd.value;
        } else {
          const r = readGoQuotedFast(line, pos);
          if (typeof r !== "string") {
            fail(r.offset, expectedFromFailure(r), `in ${key}=: ${r.message}`);
          }
          values[slot] = r;
          pos = quotedEnd.value;
        }
      }
    }
  }
  const layout = node.end;
  if (layout === undefined) {
    fail(n, node.expected, `line ends too early (truncated?): expected ${node.expected}`);
  }
  scanned.line = line;
  scanned.timestamp = timestamp;
  scanned.time = time;
  scanned.groupsList = groupsList;
  scanned.asgroupsList = asgroupsList;
  return layout;
}

/** `groups` (slot 5) or `asgroups` (slot 7) of the scanned line; undefined for its placeholder. */
export function scannedList(slot: 5 | 7): string[] | undefined {
  const list = slot === 5 ? scanned.groupsList : scanned.asgroupsList;
  if (list !== undefined) return list;
  const raw = VALUES[slot];
  if (raw === undefined || raw === (slot === 5 ? "<none>" : "<lookup>")) return undefined;
  return parseList(raw, slot === 5 ? "groups" : "asgroups", COLUMNS[slot]!);
}

/** `response` of the scanned line; undefined for `<deferred>` or a line without it. */
export function scannedResponse(): number | undefined {
  const response = VALUES[11];
  if (response === undefined || response === "<deferred>") return undefined;
  const code = parseCode(response);
  if (code === undefined) {
    fail(
      COLUMNS[11]! + 1,
      "a status code or `<deferred>`",
      `response=: expected a decimal status code or <deferred>, found ${JSON.stringify(truncate(response))}`,
    );
  }
  return code;
}

/** Explains why no key of `node` starts at `pos` (slow path, errors only). */
function unexpectedKey(
  line: string,
  pos: number,
  node: TrieNode,
  values: readonly (string | undefined)[],
): never {
  const n = line.length;
  const keyStart = pos;
  while (pos < n) {
    const c = line.charCodeAt(pos);
    if ((c >= 0x61 && c <= 0x7a) || c === 0x2d) pos++;
    else break;
  }
  const key = line.slice(keyStart, pos);
  const exp = node.expected;
  if (key === "" || line.charCodeAt(pos) !== 0x3d) {
    fail(
      pos,
      exp,
      key === ""
        ? `expected ${exp}, found ${describeAt(line, pos)}`
        : `expected "=" after key "${key}", found ${describeAt(line, pos)}`,
    );
  }
  let why: string;
  if (!KNOWN_KEYS.has(key)) why = `unknown key "${key}"`;
  else if (values[SLOT[key as Key]] !== undefined) why = `duplicate key "${key}"`;
  else why = `key "${key}" out of order`;
  fail(keyStart, exp, `${why}: expected ${exp}`);
}

function expectedFromFailure(f: GoUnquoteFailure): string {
  const m = /^expected ([^,:]+)/.exec(f.message);
  return m?.[1] ?? "a valid Go-quoted string";
}

function truncate(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

function buildRecord(layout: Layout): LegacyRecord {
  const v = VALUES;
  const r: LegacyRecord = {
    generation: layout.generation,
    kind: layout.kind,
    timestamp: scanned.timestamp,
    id: v[0]!,
  };
  const stage = v[1];
  const ip = v[2];
  const method = v[3];
  const user = v[4];
  const as = v[6];
  const userAgent = v[8];
  const namespace = v[9];
  const uri = v[10];
  if (stage !== undefined) r.stage = stage;
  if (ip !== undefined && ip !== "<unknown>" && ip !== "<nil>") r.ip = ip;
  if (method !== undefined) r.method = method;
  if (user !== undefined && user !== "<none>") r.user = user;
  const groups = scannedList(5);
  if (groups !== undefined) r.groups = groups;
  if (as !== undefined && as !== "<self>") r.as = as;
  const asgroups = scannedList(7);
  if (asgroups !== undefined) r.asgroups = asgroups;
  if (userAgent !== undefined) r.userAgent = userAgent;
  if (namespace !== undefined && namespace !== "<none>") r.namespace = namespace;
  if (uri !== undefined) r.uri = uri;
  const response = scannedResponse();
  if (response !== undefined) r.response = response;
  return r;
}

/** Marks a list value already split by plainList. */
const LIST = "\u0000list";

/**
 * The common `groups="\"a\",\"b\""` without further escapes, split directly from the line
 * (no unquoting twice); `undefined` for anything else, which then takes the general path.
 * On success `quotedEnd.value` is the index past the closing quote.
 */
function plainList(line: string, pos: number): string[] | undefined {
  // pos is at the opening quote; elements are \"x\" joined with "," and x has no \ or ".
  let p = pos + 1;
  const out: string[] = [];
  for (;;) {
    if (line.charCodeAt(p) !== 0x5c || line.charCodeAt(p + 1) !== 0x22) return undefined;
    const q = line.indexOf("\\", p + 2);
    if (q === -1 || line.charCodeAt(q + 1) !== 0x22) return undefined;
    const quote = line.indexOf('"', p + 2);
    if (quote <= q) return undefined;
    out.push(line.slice(p + 2, q));
    const next = line.charCodeAt(q + 2);
    if (next === 0x22) {
      quotedEnd.value = q + 3;
      return out;
    }
    if (next !== 0x2c) return undefined;
    p = q + 3;
  }
}

/**
 * The inner list of `groups=` / `asgroups=`: each element Go-quoted, joined with `,` (G3–G5)
 * or `, ` (G2's asgroups). `""` is the empty list.
 */
function parseList(text: string, key: string, column0: number): string[] {
  const out: string[] = [];
  if (text === "") return out;
  let pos = 0;
  for (;;) {
    const r = readGoQuoted(text, pos);
    if (r instanceof GoUnquoteFailure) {
      fail(
        column0,
        "a list of Go-quoted strings",
        `in ${key}=: the value must be a list of Go-quoted strings joined with ",": at offset ${r.offset} of the decoded value: ${r.message}`,
      );
    }
    out.push(r.value);
    pos = r.end;
    if (pos === text.length) return out;
    if (text.charCodeAt(pos) !== 0x2c) {
      fail(
        column0,
        "`,` between list elements",
        `in ${key}=: expected "," between list elements at offset ${pos} of the decoded value, found ${describeAt(text, pos)}`,
      );
    }
    pos++;
    if (text.charCodeAt(pos) === 0x20) pos++;
  }
}
