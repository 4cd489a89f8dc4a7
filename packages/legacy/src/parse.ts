import { LegacyParseError } from "./errors";
import { describeAt, GoUnquoteFailure, readGoQuoted } from "./go-quote";
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

interface Layout {
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

const AUDIT = "AUDIT:";

/** A parsed line plus its parsed timestamp (kept so the converter need not parse it again). */
export interface ParsedLine {
  record: LegacyRecord;
  time: ParsedTime;
}

function fail(column0: number, expected: string, message: string): never {
  throw new LegacyParseError(`column ${column0 + 1}: ${message}`, column0 + 1, expected);
}

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
  if (typeof input !== "string") {
    throw new LegacyParseError("a line must be a string", 1, "a string");
  }
  let n = input.length;
  if (n > 0 && input.charCodeAt(n - 1) === 0x0a) n--;
  if (n > 0 && input.charCodeAt(n - 1) === 0x0d) n--;
  const line = n === input.length ? input : input.slice(0, n);
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

  const values: Partial<Record<Key, string>> = {};
  const columns: Partial<Record<Key, number>> = {};
  let candidates: readonly Layout[] = LAYOUTS;
  let k = 0;
  for (;;) {
    const before = pos;
    while (pos < n && line.charCodeAt(pos) === 0x20) pos++;
    if (pos >= n) break;
    if (k === 0 && pos === before) fail(pos, "a space", "expected a space after `AUDIT:`");
    // key
    const keyStart = pos;
    while (pos < n) {
      const c = line.charCodeAt(pos);
      if ((c >= 0x61 && c <= 0x7a) || c === 0x2d) pos++;
      else break;
    }
    const key = line.slice(keyStart, pos);
    if (key === "" || line.charCodeAt(pos) !== 0x3d || pos >= n) {
      const exp = expectedKeys(candidates, k);
      fail(
        pos,
        exp,
        key === ""
          ? `expected ${exp}, found ${describeAt(line, pos)}`
          : `expected "=" after key "${key}", found ${describeAt(line, pos)}`,
      );
    }
    const next = candidates.filter((l) => l.keys[k] === key);
    if (next.length === 0) {
      const exp = expectedKeys(candidates, k);
      let why: string;
      if (!KNOWN_KEYS.has(key)) why = `unknown key "${key}"`;
      else if (values[key as Key] !== undefined) why = `duplicate key "${key}"`;
      else why = `key "${key}" out of order`;
      fail(keyStart, exp, `${why}: expected ${exp}`);
    }
    candidates = next;
    pos++; // '='
    columns[key as Key] = pos;
    if (key === "response") {
      // response="%s" / "%d": a decimal code or <deferred>, not %q-escaped.
      if (line.charCodeAt(pos) !== 0x22) {
        fail(pos, '`"`', `expected \`"\` after response=, found ${describeAt(line, pos)}`);
      }
      const close = line.indexOf('"', pos + 1);
      if (close === -1 || close >= n) {
        fail(n, '`"`', 'unterminated response value: expected a closing `"`');
      }
      values.response = line.slice(pos + 1, close);
      pos = close + 1;
    } else {
      const r = readGoQuoted(line, pos);
      if (r instanceof GoUnquoteFailure) {
        fail(r.offset, expectedFromFailure(r), `in ${key}=: ${r.message}`);
      }
      values[key as Key] = r.value;
      pos = r.end;
    }
    k++;
  }
  const layout = candidates.find((l) => l.keys.length === k);
  if (layout === undefined) {
    const exp = expectedKeys(candidates, k);
    fail(n, exp, `line ends too early (truncated?): expected ${exp}`);
  }
  return { record: buildRecord(layout, timestamp, values, columns), time };
}

function expectedFromFailure(f: GoUnquoteFailure): string {
  const m = /^expected ([^,:]+)/.exec(f.message);
  return m?.[1] ?? "a valid Go-quoted string";
}

function truncate(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

function buildRecord(
  layout: Layout,
  timestamp: string,
  v: Partial<Record<Key, string>>,
  columns: Partial<Record<Key, number>>,
): LegacyRecord {
  const r: LegacyRecord = {
    generation: layout.generation,
    kind: layout.kind,
    timestamp,
    id: v.id!,
  };
  if (v.stage !== undefined) r.stage = v.stage;
  if (v.ip !== undefined && v.ip !== "<unknown>" && v.ip !== "<nil>") r.ip = v.ip;
  if (v.method !== undefined) r.method = v.method;
  if (v.user !== undefined && v.user !== "<none>") r.user = v.user;
  if (v.groups !== undefined && v.groups !== "<none>") {
    r.groups = parseList(v.groups, "groups", columns.groups!);
  }
  if (v.as !== undefined && v.as !== "<self>") r.as = v.as;
  if (v.asgroups !== undefined && v.asgroups !== "<lookup>") {
    r.asgroups = parseList(v.asgroups, "asgroups", columns.asgroups!);
  }
  if (v["user-agent"] !== undefined) r.userAgent = v["user-agent"];
  if (v.namespace !== undefined && v.namespace !== "<none>") r.namespace = v.namespace;
  if (v.uri !== undefined) r.uri = v.uri;
  if (v.response !== undefined && v.response !== "<deferred>") {
    if (!/^-?\d{1,10}$/.test(v.response)) {
      fail(
        columns.response! + 1,
        "a status code or `<deferred>`",
        `response=: expected a decimal status code or <deferred>, found ${JSON.stringify(truncate(v.response))}`,
      );
    }
    r.response = Number(v.response);
  }
  return r;
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
