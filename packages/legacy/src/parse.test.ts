import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { LegacyParseError } from "./errors";
import { type LegacyRecord, parseLegacyLine } from "./parse";

const fixture = (name: string) =>
  readFileSync(new URL(`./__fixtures__/legacy/${name}`, import.meta.url), "utf8")
    .split("\n")
    .filter((l) => l !== "");

const SA_GROUPS = [
  "system:serviceaccounts",
  "system:serviceaccounts:kube-system",
  "system:authenticated",
];
const G4_17: LegacyRecord = {
  generation: "G4",
  kind: "stage",
  timestamp: "2017-06-15T21:50:50.259470834Z",
  id: "591e9fde-6a98-46f6-b7bc-ec8ef575696d",
  stage: "RequestReceived",
  ip: "10.2.1.3",
  method: "update",
  user: "system:serviceaccount:kube-system:default",
  groups: SA_GROUPS,
  namespace: "kube-system",
  uri: "/api/v1/namespaces/kube-system/endpoints/kube-controller-manager",
};
const G3_16: LegacyRecord[] = [
  {
    generation: "G3",
    kind: "request",
    timestamp: "2017-03-21T03:57:09.106841886-04:00",
    id: "c939d2a7-1c37-4ef1-b2f7-4ba9b1e43b53",
    ip: "127.0.0.1",
    method: "GET",
    user: "admin",
    groups: ["system:masters", "system:authenticated"],
    namespace: "default",
    uri: "/api/v1/namespaces/default/pods",
  },
  {
    generation: "G1-G3",
    kind: "response",
    timestamp: "2017-03-21T03:57:09.108403639-04:00",
    id: "c939d2a7-1c37-4ef1-b2f7-4ba9b1e43b53",
    response: 200,
  },
];

// Every line of the corpus, with every field of its generation written out by hand.
const CORPUS: [file: string, records: LegacyRecord[]][] = [
  [
    "basic-audit.k8s-1.4-docs.log",
    [
      {
        generation: "G1",
        kind: "request",
        timestamp: "2016-09-07T13:03:57.400333046Z",
        id: "5c3b8227-4af9-4322-8a71-542231c3887b",
        ip: "127.0.0.1",
        method: "GET",
        user: "admin",
        namespace: "default",
        uri: "/api/v1/namespaces/default/pods",
      },
      {
        generation: "G1-G3",
        kind: "response",
        timestamp: "2016-09-07T13:03:57.400710987Z",
        id: "5c3b8227-4af9-4322-8a71-542231c3887b",
        response: 200,
      },
    ],
  ],
  ["basic-audit.k8s-1.6-docs.log", G3_16],
  ["design-doc.k8s-1.6.missing-spaces.log", G3_16],
  [
    "advanced-legacy.k8s-1.7-docs.log",
    [G4_17, { ...G4_17, stage: "ResponseComplete", response: 200 }],
  ],
  [
    "design-doc.k8s-1.7.missing-spaces.log",
    [G4_17, { ...G4_17, stage: "ResponseComplete", response: 200 }],
  ],
  [
    "advanced-legacy.k8s-1.8-docs.log",
    [
      {
        generation: "G4",
        kind: "stage",
        timestamp: "2017-09-05T06:08:19.885328047-04:00",
        id: "c28a95ad-f9dd-47e1-a617-b6dc152db95f",
        stage: "RequestReceived",
        ip: "172.16.116.128",
        method: "list",
        user: "kubecfg",
        groups: ["system:masters", "system:authenticated"],
        namespace: "default",
        uri: "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles",
      },
      {
        generation: "G4",
        kind: "stage",
        timestamp: "2017-09-05T06:08:19.885328047-04:00",
        id: "c28a95ad-f9dd-47e1-a617-b6dc152db95f",
        stage: "ResponseComplete",
        ip: "172.16.116.128",
        method: "list",
        user: "kubecfg",
        groups: ["system:masters", "system:authenticated"],
        namespace: "default",
        uri: "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles",
        response: 200,
      },
    ],
  ],
];

describe("parseLegacyLine on the corpus", () => {
  it.each(CORPUS)("%s", (file, records) => {
    const lines = fixture(file);
    expect(lines.map(parseLegacyLine)).toEqual(records);
  });
});

// Lines synthesised from the format strings of spec §8.3 (no real sample exists).
const SYNTHETIC: [name: string, line: string, record: LegacyRecord][] = [
  [
    "G2 (k8s 1.5): asgroups joined with comma+space",
    '2016-12-01T10:00:00Z AUDIT: id="a1" ip="10.0.0.1" method="POST" user="admin" as="jane" asgroups="\\"dev\\", \\"ops\\"" namespace="<none>" uri="/api/v1/nodes"',
    {
      generation: "G2",
      kind: "request",
      timestamp: "2016-12-01T10:00:00Z",
      id: "a1",
      ip: "10.0.0.1",
      method: "POST",
      user: "admin",
      as: "jane",
      asgroups: ["dev", "ops"],
      uri: "/api/v1/nodes",
    },
  ],
  [
    "G3 with placeholders: <nil> ip, <none> user and groups",
    '2017-03-21T03:57:09Z AUDIT: id="a2" ip="<nil>" method="GET" user="<none>" groups="<none>" as="<self>" asgroups="<lookup>" namespace="<none>" uri="/healthz"',
    {
      generation: "G3",
      kind: "request",
      timestamp: "2017-03-21T03:57:09Z",
      id: "a2",
      method: "GET",
      uri: "/healthz",
    },
  ],
  [
    "G5 (k8s 1.21+) with user-agent and every placeholder",
    '2021-04-01T00:00:00.5Z AUDIT: id="a3" stage="ResponseStarted" ip="<unknown>" method="watch" user="<none>" groups="<none>" as="<self>" asgroups="<lookup>" user-agent="" namespace="<none>" uri="/api/v1/pods?watch=1" response="<deferred>"',
    {
      generation: "G5",
      kind: "stage",
      timestamp: "2021-04-01T00:00:00.5Z",
      id: "a3",
      stage: "ResponseStarted",
      method: "watch",
      userAgent: "",
      uri: "/api/v1/pods?watch=1",
    },
  ],
  [
    "G5 with impersonation, empty asgroups, escapes",
    '2021-04-01T00:00:00Z AUDIT: id="a4" stage="ResponseComplete" ip="::1" method="get" user="al\\"ice\\n" groups="\\"a\\\\\\\\b\\",\\"\\\\xff\\"" as="" asgroups="" user-agent="kubectl/\\u00a0\\xc3\\xa9" namespace="ns" uri="/api/v1/namespaces/ns/pods/p" response="0"',
    {
      generation: "G5",
      kind: "stage",
      timestamp: "2021-04-01T00:00:00Z",
      id: "a4",
      stage: "ResponseComplete",
      ip: "::1",
      method: "get",
      user: 'al"ice\n',
      groups: ["a\\b", "\ufffd"],
      as: "",
      asgroups: [],
      userAgent: "kubectl/\u00a0é",
      namespace: "ns",
      uri: "/api/v1/namespaces/ns/pods/p",
      response: 0,
    },
  ],
  [
    "CRLF, BOM and trailing newline are ignored",
    '\ufeff2016-09-07T13:03:57Z AUDIT: id="a5" response="404"\r\n',
    {
      generation: "G1-G3",
      kind: "response",
      timestamp: "2016-09-07T13:03:57Z",
      id: "a5",
      response: 404,
    },
  ],
];

describe("parseLegacyLine on synthetic lines", () => {
  it.each(SYNTHETIC)("%s", (_name, line, record) => {
    expect(parseLegacyLine(line)).toEqual(record);
  });
});

const G5 =
  '2021-04-01T00:00:00Z AUDIT: id="x" stage="ResponseComplete" ip="::1" method="get" user="u" groups="<none>" as="<self>" asgroups="<lookup>" user-agent="" namespace="<none>" uri="/" response="200"';

/** 1-based column of the first occurrence of `needle` in `line`, plus `delta`. */
const col = (line: string, needle: string, delta = 0) => {
  const i = line.indexOf(needle);
  if (i < 0) throw new Error(`test bug: ${needle} not in ${line}`);
  return i + 1 + delta;
};
const mod = (from: string, to: string) => G5.replace(from, to);

const TRUNC_VALUE = G5.slice(0, col(G5, 'user-agent="', 11));
const TRUNC_FIELD = G5.slice(0, G5.indexOf(" uri="));
const UNBALANCED = mod('user="u"', 'user="u');
const UNKNOWN = mod("user-agent=", "agent=");
const ORDER = mod('ip="::1" method="get"', 'method="get" ip="::1"');
const DUP = mod('stage="ResponseComplete"', 'id="y"');
const BAD_RESPONSE = mod('response="200"', 'response="OK"');
const BAD_ESCAPE = mod('uri="/"', 'uri="\\q"');
const BAD_GROUPS = mod('groups="<none>"', 'groups="a,b"');
const RAW_NEWLINE = mod('user="u"', 'user="u\nv"');

// Each case names the column where the problem starts, computed from the line itself.
const BAD: [name: string, line: string, column: number, message: RegExp][] = [
  ["empty", "", 1, /empty line/],
  ["blank (spaces only) is not a line", "   ", 1, /RFC 3339 timestamp/],
  ["not a timestamp", 'yesterday AUDIT: id="x"', 1, /RFC 3339 timestamp/],
  ["impossible date", '2021-02-30T00:00:00Z AUDIT: id="x" response="1"', 1, /RFC 3339/],
  ["missing AUDIT:", '2021-04-01T00:00:00Z id="x"', 22, /AUDIT:/],
  ["nothing after AUDIT:", "2021-04-01T00:00:00Z AUDIT:", 28, /line ends too early.*`id=`/],
  ["truncated in a value", TRUNC_VALUE, TRUNC_VALUE.length + 1, /in user-agent=: unterminated/],
  ["truncated after a field", TRUNC_FIELD, TRUNC_FIELD.length + 1, /line ends too early.*`uri=`/],
  ["unbalanced quote", UNBALANCED, col(UNBALANCED, "<none>"), /expected `groups=`, found "<"/],
  [
    "unknown key",
    UNKNOWN,
    col(UNKNOWN, "agent="),
    /unknown key "agent": expected `namespace=` or `user-agent=`/,
  ],
  ["keys out of order", ORDER, col(ORDER, "method="), /key "method" out of order: expected `ip=`/],
  [
    "duplicate key",
    DUP,
    col(DUP, 'id="y"'),
    /duplicate key "id": expected `ip=` or `response=` or `stage=`/,
  ],
  [
    "extra field at the end",
    `${G5} extra="1"`,
    G5.length + 2,
    /unknown key "extra": expected end of line/,
  ],
  ["garbage after the last field", `${G5}x`, G5.length + 2, /expected "=" after key "x"/],
  ["response not a number", BAD_RESPONSE, col(BAD_RESPONSE, '"OK"', 1), /decimal status code/],
  ["bad escape", BAD_ESCAPE, col(BAD_ESCAPE, "\\q"), /unknown escape \\q/],
  [
    "groups not a quoted list",
    BAD_GROUPS,
    col(BAD_GROUPS, '"a,b"'),
    /groups=.*list of Go-quoted strings/,
  ],
  ["binary garbage", "\u0000\u0001\ufffd\ufffdPK\u0003\u0004", 1, /RFC 3339/],
  ["raw newline in a value", RAW_NEWLINE, col(RAW_NEWLINE, "\n"), /raw newline inside the line/],
  ["key without =", '2021-04-01T00:00:00Z AUDIT: id "x"', 31, /expected "=" after key "id"/],
];

describe("parseLegacyLine errors", () => {
  it.each(BAD)("%s", (_name, line, column, message) => {
    let error: unknown;
    try {
      parseLegacyLine(line);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LegacyParseError);
    const e = error as LegacyParseError;
    expect(e.message).toMatch(message);
    expect(e.column).toBe(column);
    expect(e.expected.length).toBeGreaterThan(0);
    expect(e.name).toBe("LegacyParseError");
  });
});
