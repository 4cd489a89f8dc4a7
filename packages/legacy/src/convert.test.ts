import { readFileSync } from "node:fs";
import type { Event } from "@kaudit/api";
import { describe, expect, it } from "vitest";
import {
  eventsToLegacy,
  type LegacyConversionResult,
  LegacyConverter,
  type LegacyLineInput,
  legacyToEvents,
} from "./convert";
import { formatLegacyLine } from "./format";
import { parseLegacyLine } from "./parse";

const fixture = (name: string) =>
  readFileSync(new URL(`./__fixtures__/legacy/${name}`, import.meta.url), "utf8").split("\n");

async function collect(
  lines: Iterable<LegacyLineInput> | AsyncIterable<LegacyLineInput>,
  options?: Parameters<typeof legacyToEvents>[1],
): Promise<LegacyConversionResult[]> {
  const out: LegacyConversionResult[] = [];
  for await (const r of legacyToEvents(lines, options)) out.push(r);
  return out;
}
const events = (rs: LegacyConversionResult[]) => rs.flatMap((r) => ("event" in r ? [r.event] : []));
const errors = (rs: LegacyConversionResult[]) => rs.flatMap((r) => ("error" in r ? [r.error] : []));

const V1 = { kind: "Event", apiVersion: "audit.k8s.io/v1", level: "Metadata" } as const;

const G3_EVENT: Event = {
  ...V1,
  auditID: "c939d2a7-1c37-4ef1-b2f7-4ba9b1e43b53",
  stage: "ResponseComplete",
  requestURI: "/api/v1/namespaces/default/pods",
  verb: "list",
  user: { username: "admin", groups: ["system:masters", "system:authenticated"] },
  sourceIPs: ["127.0.0.1"],
  objectRef: { resource: "pods", namespace: "default", apiVersion: "v1" },
  responseStatus: { metadata: {}, code: 200 },
  requestReceivedTimestamp: "2017-03-21T07:57:09.106841Z",
  stageTimestamp: "2017-03-21T07:57:09.108403Z",
};
const G4_17_RECEIVED: Event = {
  ...V1,
  auditID: "591e9fde-6a98-46f6-b7bc-ec8ef575696d",
  stage: "RequestReceived",
  requestURI: "/api/v1/namespaces/kube-system/endpoints/kube-controller-manager",
  verb: "update",
  user: {
    username: "system:serviceaccount:kube-system:default",
    groups: [
      "system:serviceaccounts",
      "system:serviceaccounts:kube-system",
      "system:authenticated",
    ],
  },
  sourceIPs: ["10.2.1.3"],
  objectRef: {
    resource: "endpoints",
    namespace: "kube-system",
    name: "kube-controller-manager",
    apiVersion: "v1",
  },
  requestReceivedTimestamp: "2017-06-15T21:50:50.259470Z",
  stageTimestamp: "2017-06-15T21:50:50.259470Z",
};
const G4_17_COMPLETE: Event = {
  ...G4_17_RECEIVED,
  stage: "ResponseComplete",
  responseStatus: { metadata: {}, code: 200 },
  stageTimestamp: null,
};
const G4_18: Event = {
  ...V1,
  auditID: "c28a95ad-f9dd-47e1-a617-b6dc152db95f",
  stage: "RequestReceived",
  requestURI: "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles",
  verb: "list",
  user: { username: "kubecfg", groups: ["system:masters", "system:authenticated"] },
  sourceIPs: ["172.16.116.128"],
  objectRef: {
    resource: "roles",
    namespace: "default",
    apiGroup: "rbac.authorization.k8s.io",
    apiVersion: "v1",
  },
  requestReceivedTimestamp: "2017-09-05T10:08:19.885328Z",
  stageTimestamp: "2017-09-05T10:08:19.885328Z",
};

const CORPUS: [file: string, events: Event[]][] = [
  [
    "basic-audit.k8s-1.4-docs.log",
    [
      {
        ...V1,
        auditID: "5c3b8227-4af9-4322-8a71-542231c3887b",
        stage: "ResponseComplete",
        requestURI: "/api/v1/namespaces/default/pods",
        verb: "list",
        user: { username: "admin" },
        sourceIPs: ["127.0.0.1"],
        objectRef: { resource: "pods", namespace: "default", apiVersion: "v1" },
        responseStatus: { metadata: {}, code: 200 },
        requestReceivedTimestamp: "2016-09-07T13:03:57.400333Z",
        stageTimestamp: "2016-09-07T13:03:57.400710Z",
      },
    ],
  ],
  ["basic-audit.k8s-1.6-docs.log", [G3_EVENT]],
  ["design-doc.k8s-1.6.missing-spaces.log", [G3_EVENT]],
  ["advanced-legacy.k8s-1.7-docs.log", [G4_17_RECEIVED, G4_17_COMPLETE]],
  ["design-doc.k8s-1.7.missing-spaces.log", [G4_17_RECEIVED, G4_17_COMPLETE]],
  [
    "advanced-legacy.k8s-1.8-docs.log",
    [
      G4_18,
      {
        ...G4_18,
        stage: "ResponseComplete",
        responseStatus: { metadata: {}, code: 200 },
        stageTimestamp: null,
      },
    ],
  ],
];

describe("legacyToEvents on the corpus", () => {
  it.each(CORPUS)("%s", async (file, want) => {
    const rs = await collect(fixture(file));
    expect(errors(rs)).toEqual([]);
    expect(events(rs)).toEqual(want);
    // Field order is kube-apiserver's JSON order.
    for (const e of events(rs)) {
      const keys = Object.keys(e);
      const order = [
        "kind",
        "apiVersion",
        "level",
        "auditID",
        "stage",
        "requestURI",
        "verb",
        "user",
        "impersonatedUser",
        "sourceIPs",
        "userAgent",
        "objectRef",
        "responseStatus",
        "requestReceivedTimestamp",
        "stageTimestamp",
      ];
      expect(keys).toEqual(order.filter((k) => keys.includes(k)));
    }
  });
});

const req = (id: string, uri = "/api/v1/namespaces/ns/pods", method = "GET", extra = "") =>
  `2017-03-21T03:57:09.1Z AUDIT: id="${id}" ip="10.0.0.1" method="${method}" user="u" groups="\\"g\\"" as="<self>" asgroups="<lookup>" namespace="ns" uri="${uri}"${extra}`;
const resp = (id: string, code: number, sec = 10) =>
  `2017-03-21T03:57:${sec}Z AUDIT: id="${id}" response="${code}"`;

describe("legacyToEvents: G1–G3 pairing", () => {
  it("pairs request and response lines by id with other requests in between", async () => {
    const rs = await collect([
      req("a"),
      req("b", "/api/v1/namespaces/ns/pods/p", "DELETE"),
      resp("b", 200),
      req("c"),
      resp("a", 403, 11),
      resp("c", 500),
    ]);
    expect(errors(rs)).toEqual([]);
    const evs = events(rs);
    expect(evs.map((e) => [e.auditID, e.verb, e.stage, e.responseStatus?.code])).toEqual([
      ["b", "delete", "ResponseComplete", 200],
      ["a", "list", "ResponseComplete", 403],
      ["c", "list", "ResponseComplete", 500],
    ]);
    expect(evs[1]!.stageTimestamp).toBe("2017-03-21T03:57:11.000000Z");
    expect(evs[1]!.requestReceivedTimestamp).toBe("2017-03-21T03:57:09.100000Z");
  });

  it("yields an unpaired request at the end, as RequestReceived without responseStatus", async () => {
    const rs = await collect([req("a"), req("b"), resp("b", 201)]);
    const evs = events(rs);
    expect(evs.map((e) => [e.auditID, e.stage])).toEqual([
      ["b", "ResponseComplete"],
      ["a", "RequestReceived"],
    ]);
    expect(evs[1]!.responseStatus).toBeUndefined();
    expect(evs[1]!.stageTimestamp).toBe(evs[1]!.requestReceivedTimestamp);
  });

  it("keeps a deferred response's request as ResponseComplete without a code", async () => {
    const input = [
      req("a"),
      `2017-03-21T03:57:09.2Z AUDIT: id="b" ip="10.0.0.1" method="DELETE" user="u" groups="<none>" as="bob" asgroups="\\"x\\"" namespace="ns" uri="/api/v1/namespaces/ns/pods/p"`,
      `2017-03-21T03:57:10Z AUDIT: id="b" response="<deferred>"`,
      req("c", "/healthz"),
      req("d"),
      resp("a", 403, 11),
      req("e"),
    ];
    const evs = events(await collect(input));
    expect(evs.find((e) => e.auditID === "b")!.responseStatus).toEqual({ metadata: {} });
  });

  it("pairs repeated ids first-in first-out", async () => {
    const rs = await collect([
      req("x", "/api/v1/nodes"),
      req("x", "/api/v1/pods"),
      resp("x", 200),
      resp("x", 404),
    ]);
    expect(events(rs).map((e) => [e.requestURI, e.responseStatus?.code])).toEqual([
      ["/api/v1/nodes", 200],
      ["/api/v1/pods", 404],
    ]);
  });

  it("reports a response line without a request line, with its line and column", async () => {
    const rs = await collect([resp("zz", 200)]);
    expect(errors(rs)).toEqual([
      {
        line: 1,
        column: resp("zz", 200).indexOf('id="') + 4,
        message: expect.stringMatching(/response line for id "zz" without an earlier request line/),
      },
    ]);
  });

  it("bounds the pending requests: the oldest is written and the overflow reported, nothing lost", async () => {
    const rs = await collect([req("a"), req("b"), req("c"), resp("a", 200), resp("c", 200)], {
      maxPending: 2,
    });
    expect(
      rs.map((r) =>
        "event" in r ? `event ${r.event.auditID} ${r.event.stage}` : `error line ${r.error.line}`,
      ),
    ).toEqual([
      "event a RequestReceived",
      "error line 1",
      "error line 4",
      "event c ResponseComplete",
      "event b RequestReceived",
    ]);
    expect(errors(rs)[0]!.message).toMatch(
      /2 request lines were waiting.*"a" was written without one/,
    );
    expect(errors(rs)[1]!.message).toMatch(
      /its request \(line 1\) was already written without a response/,
    );
  });

  it("maps impersonation, G2 asgroups, <nil> ip and non-resource requests", async () => {
    const g2 =
      '2016-12-01T10:00:00Z AUDIT: id="g2" ip="<nil>" method="POST" user="admin" as="jane" asgroups="\\"dev\\", \\"ops\\"" namespace="<none>" uri="/apis/apps/v1/namespaces/x/deployments"';
    const nonResource =
      '2016-12-01T10:00:01Z AUDIT: id="nr" ip="::1" method="GET" user="admin" as="<self>" namespace="<none>" uri="/healthz?verbose=1"';
    const evs = events(await collect([g2, nonResource]));
    expect(evs[0]).toEqual({
      ...V1,
      auditID: "g2",
      stage: "RequestReceived",
      requestURI: "/apis/apps/v1/namespaces/x/deployments",
      verb: "create",
      user: { username: "admin" },
      impersonatedUser: { username: "jane", groups: ["dev", "ops"] },
      objectRef: { resource: "deployments", apiGroup: "apps", apiVersion: "v1" },
      requestReceivedTimestamp: "2016-12-01T10:00:00.000000Z",
      stageTimestamp: "2016-12-01T10:00:00.000000Z",
    });
    expect(evs[1]).toMatchObject({
      auditID: "nr",
      verb: "get",
      requestURI: "/healthz?verbose=1",
      sourceIPs: ["::1"],
    });
    expect(evs[1]!.objectRef).toBeUndefined();
  });
});

const G5 = (
  id: string,
  uri = "/api/v1/namespaces/ns/pods?fieldSelector=metadata.name%3Dp",
  verb = "watch",
) =>
  `2021-04-01T00:00:00.123456789Z AUDIT: id="${id}" stage="ResponseStarted" ip="1.2.3.4" method="${verb}" user="u" groups="\\"g\\"" as="" asgroups="" user-agent="kubectl/1.30" namespace="ns" uri="${uri}" response="101"`;

describe("legacyToEvents: G5 lines", () => {
  it("builds the event with impersonation, user agent, objectRef from the uri and responseStatus", async () => {
    const evs = events(await collect([G5("w")]));
    expect(evs).toEqual([
      {
        ...V1,
        auditID: "w",
        stage: "ResponseStarted",
        requestURI: "/api/v1/namespaces/ns/pods?fieldSelector=metadata.name%3Dp",
        verb: "watch",
        user: { username: "u", groups: ["g"] },
        impersonatedUser: { groups: [] },
        sourceIPs: ["1.2.3.4"],
        userAgent: "kubectl/1.30",
        objectRef: { resource: "pods", namespace: "ns", name: "p", apiVersion: "v1" },
        responseStatus: { metadata: {}, code: 101 },
        requestReceivedTimestamp: "2021-04-01T00:00:00.123456Z",
        stageTimestamp: null,
      },
    ]);
  });

  it("resolves each line's own URI and namespace, however its method and URI split", async () => {
    // Lines whose method+URI would read the same if joined by a space; and one URI in two
    // namespaces. (What a URI resolves to is remembered between lines.)
    const line = (id: string, method: string, ns: string, uri: string) =>
      `2021-04-01T00:00:00Z AUDIT: id="${id}" stage="ResponseComplete" ip="1.2.3.4" method="${method}" user="u" groups="<none>" as="<self>" asgroups="<lookup>" user-agent="k" namespace="${ns}" uri="${uri}" response="200"`;
    const input = [
      line("a", "get X", "ns", "/api/v1/pods"),
      line("b", "get", "ns", "X /api/v1/pods"),
      line("c", "get", "one", "/api/v1/namespaces/one/pods/p"),
      line("d", "get", "two", "/api/v1/namespaces/one/pods/p"),
    ];
    const evs = events(await collect(input));
    expect(evs.map((e) => [e.requestURI, e.verb, e.objectRef?.namespace])).toEqual([
      ["/api/v1/pods", "get X", "ns"],
      ["X /api/v1/pods", "get", "ns"],
      ["/api/v1/namespaces/one/pods/p", "get", "one"],
      ["/api/v1/namespaces/one/pods/p", "get", "two"],
    ]);
  });

  it("writes each line's own groups when lists repeat and alternate", async () => {
    const line = (id: string, groups: string, asgroups: string) =>
      `2021-04-01T00:00:00Z AUDIT: id="${id}" stage="ResponseComplete" ip="1.2.3.4" method="get" user="u" groups="${groups}" as="x" asgroups="${asgroups}" user-agent="k" namespace="ns" uri="/api/v1/pods" response="200"`;
    const a = '\\"a\\",\\"b\\"';
    const b = '\\"b\\"';
    const input = [line("1", a, b), line("2", b, a), line("3", a, b), line("4", a, "<lookup>")];
    const evs = events(await collect(input));
    expect(evs.map((e) => [e.user.groups, e.impersonatedUser?.groups])).toEqual([
      [["a", "b"], ["b"]],
      [["b"], ["a", "b"]],
      [["a", "b"], ["b"]],
      [["a", "b"], undefined],
    ]);
  });

  it("keeps raw controls and lone surrogates that only a malformed line holds", async () => {
    const line = (id: string, ua: string) =>
      `2021-04-01T00:00:00Z AUDIT: id="${id}" stage="ResponseComplete" ip="1.2.3.4" method="get" user="u" groups="<none>" as="<self>" asgroups="<lookup>" user-agent="${ua}" namespace="ns" uri="/api/v1/pods" response="200"`;
    const input = [line("t", "a\tb"), line("s", "x\ud800y"), line("p", "plain <ua>")];
    const evs = events(await collect(input));
    expect(evs.map((e) => e.userAgent)).toEqual(["a\tb", "x\ud800y", "plain <ua>"]);
  });

  it("eventsToLegacy(legacyToEvents(G5)) gives back the line except for lost nanoseconds", async () => {
    const evs = events(await collect([G5("w")]));
    const lines: string[] = [];
    for await (const l of eventsToLegacy(evs)) lines.push(l);
    expect(lines).toEqual([G5("w").replace(".123456789Z", ".123456Z")]);
  });
});

describe("legacyToEvents: bad input goes on, per-line errors", () => {
  const good = G5("ok");
  const unbalanced = G5("q").replace('user="u"', 'user="u');
  const unknownKey = G5("k").replace("user-agent=", "ua=");
  const outOfOrder = G5("o").replace(
    'stage="ResponseStarted" ip="1.2.3.4"',
    'ip="1.2.3.4" stage="ResponseStarted"',
  );
  const input: LegacyLineInput[] = [
    good, // 1
    "", // 2 blank: skipped
    `${good}\r`, // 3 CRLF
    G5("t").slice(0, 80), // 4 truncated
    unbalanced, // 5: user's value runs to groups' opening quote
    unknownKey, // 6
    outOfOrder, // 7
    "\u0000\u0001garbage\ufffd", // 8 binary
    { error: { column: 1, message: "line is 2000000 bytes long" } }, // 9 from splitLines
    "   \t", // 10 blank
    `\ufeff${G5("bom")}`, // 11 BOM
    G5("last"), // 12
  ];

  it("converts every good line and reports each bad one with line and column", async () => {
    const rs = await collect(input);
    expect(events(rs).map((e) => e.auditID)).toEqual(["ok", "ok", "bom", "last"]);
    expect(errors(rs).map((e) => [e.line, e.column])).toEqual([
      [4, 81],
      [5, unbalanced.indexOf('groups="') + 9],
      [6, unknownKey.indexOf("ua=") + 1],
      // `id ip` is a valid G1–G3 start, so the line goes wrong at `stage=` (expected `method=`).
      [7, outOfOrder.indexOf("stage=") + 1],
      [8, 1],
      [9, 1],
    ]);
    for (const e of errors(rs)) expect(e.message.length).toBeGreaterThan(10);
  });

  it("strict stops at the first error, after yielding it", async () => {
    const rs = await collect(input, { strict: true });
    expect(rs.map((r) => ("event" in r ? r.event.auditID : `error@${r.error.line}`))).toEqual([
      "ok",
      "ok",
      "error@4",
    ]);
  });

  it("strict does not flush pending requests after stopping", async () => {
    const rs = await collect([req("a"), "garbage"], { strict: true });
    expect(rs).toHaveLength(1);
    expect("error" in rs[0]!).toBe(true);
  });

  it("reads async iterables and rejects non-string items with an error", async () => {
    async function* gen() {
      yield good;
      yield 42 as unknown as string;
      yield good;
    }
    const rs = await collect(gen());
    expect(rs.map((r) => ("event" in r ? "event" : r.error.message))).toEqual([
      "event",
      "not a line: expected a string",
      "event",
    ]);
  });
});

describe("injection: values holding quotes, newlines and AUDIT: do not forge lines", () => {
  const nasty = '"\n2021-01-01T00:00:00Z AUDIT: id="forged" stage="ResponseComplete"\r\n\\';
  const event: Event = {
    level: "Metadata",
    auditID: "real",
    stage: "ResponseComplete",
    requestURI: `/api/v1/namespaces/ns/pods/p?x=${nasty}`,
    verb: "get",
    user: { username: `u${nasty}`, groups: [`g${nasty}`] },
    userAgent: `ua${nasty}`,
    sourceIPs: ["1.2.3.4"],
    objectRef: { resource: "pods", namespace: "ns", name: "p", apiVersion: "v1" },
    responseStatus: { metadata: {}, code: 200 },
    requestReceivedTimestamp: "2021-04-01T00:00:00.000001Z",
  };

  it("formats one line that parses back to the same values", async () => {
    const line = formatLegacyLine(event);
    expect(line.split("\n")).toHaveLength(1);
    expect(line).not.toContain("\r");
    expect(line.indexOf(" AUDIT: ")).toBe("2021-04-01T00:00:00.000001Z".length);
    // Every other AUDIT: sits inside a quoted value, after an escaped newline.
    expect(line.match(/AUDIT:/g)).toHaveLength(5);
    const r = parseLegacyLine(line);
    expect(r).toMatchObject({
      id: "real",
      uri: event.requestURI,
      user: event.user.username,
      groups: event.user.groups,
      userAgent: event.userAgent,
    });
    const rs = await collect(`${line}\n`.split("\n"));
    expect(events(rs).map((e) => e.auditID)).toEqual(["real"]);
    expect(events(rs)[0]).toMatchObject({
      requestURI: event.requestURI,
      user: event.user,
      userAgent: event.userAgent,
    });
  });
});

describe("LegacyConverter", () => {
  it("validates maxPending and firstLine", () => {
    expect(() => new LegacyConverter({ maxPending: 0 })).toThrow(RangeError);
    expect(() => new LegacyConverter({ firstLine: 0 })).toThrow(RangeError);
    expect(() => new LegacyConverter({ firstLine: 1.5 })).toThrow(RangeError);
  });

  it("a piece cut where the converter is idle converts as in the whole input, line numbers included", () => {
    // The 1.6 basic-audit corpus file: request and response lines, with other requests between.
    const lines = [...fixture("basic-audit.k8s-1.6-docs.log"), "bad", req("x"), G5("g")];
    const whole = new LegacyConverter();
    const wholeOut: LegacyConversionResult[] = [];
    // Idle points: after each line, whether a later piece could start there.
    const idleAfter: boolean[] = [];
    for (const l of lines) {
      whole.push(l, wholeOut);
      idleAfter.push(whole.idle);
    }
    whole.end(wholeOut);
    const cuts = idleAfter.flatMap((idle, i) => (idle && i + 1 < lines.length ? [i + 1] : []));
    expect(cuts.length).toBeGreaterThan(1);
    // Not idle while a request waits for its response.
    expect(idleAfter.every((x) => x)).toBe(false);
    for (const cut of cuts) {
      const out: LegacyConversionResult[] = [];
      const a = new LegacyConverter();
      for (const l of lines.slice(0, cut)) a.push(l, out);
      a.end(out);
      const b = new LegacyConverter({ firstLine: cut + 1 });
      for (const l of lines.slice(cut)) b.push(l, out);
      b.end(out);
      expect(out).toEqual(wholeOut);
    }
    expect(errors(wholeOut).map((e) => e.line)).toEqual([lines.length - 2]);
  });

  it("push with a line number numbers from there (lines the caller skipped are counted)", () => {
    const c = new LegacyConverter();
    const out: LegacyConversionResult[] = [];
    c.push(G5("g"), out, 3);
    c.push("bad", out, 7);
    c.push("bad", out);
    c.push("bad", out, 2); // never back
    expect(errors(out).map((e) => e.line)).toEqual([7, 8, 9]);
  });

  it("is not idle after an eviction (a late response line must still be explained)", () => {
    const c = new LegacyConverter({ maxPending: 1 });
    const out: LegacyConversionResult[] = [];
    c.push(req("a"), out);
    c.push(req("b"), out);
    c.push(resp("b", 200), out);
    expect(c.pendingRequests).toBe(0);
    expect(c.idle).toBe(false);
  });
  it("counts pending requests and ignores pushes after end", () => {
    const c = new LegacyConverter();
    const out: LegacyConversionResult[] = [];
    c.push(req("a"), out);
    expect(c.pendingRequests).toBe(1);
    c.end(out);
    expect(c.done).toBe(true);
    expect(c.push(req("b"), out)).toBe(false);
    expect(out).toHaveLength(1);
  });
});

describe("splitLines → legacyToEvents over a byte stream", () => {
  it("reads a CRLF file with a BOM, an over-long line and invalid UTF-8, in small chunks", async () => {
    const { Readable } = await import("node:stream");
    const { splitLines } = await import("./split-lines");
    const g4 = fixture("advanced-legacy.k8s-1.8-docs.log").filter((l) => l !== "");
    const text = `\ufeff${g4[0]}\r\n${"x".repeat(500)}\r\n\r\n${g4[1]}\r\n`;
    const bytes = Buffer.concat([Buffer.from(text), Buffer.from([0x41, 0xff, 0x0a])]);
    const chunks = [];
    for (let i = 0; i < bytes.length; i += 7) chunks.push(bytes.subarray(i, i + 7));
    const rs = await collect(splitLines(Readable.from(chunks), { maxLineBytes: 400 }));
    expect(events(rs)).toEqual([
      G4_18,
      {
        ...G4_18,
        stage: "ResponseComplete",
        responseStatus: { metadata: {}, code: 200 },
        stageTimestamp: null,
      },
    ]);
    expect(errors(rs).map((e) => [e.line, e.column])).toEqual([
      [2, 1],
      [5, 2],
    ]);
    expect(errors(rs)[0]!.message).toMatch(/500 bytes long/);
    expect(errors(rs)[1]!.message).toMatch(/not UTF-8/);
  });

  it("legacyToEventBatches yields the same results as legacyToEvents", async () => {
    const { legacyToEventBatches } = await import("./convert");
    const lines = [req("a"), G5("g"), "bad", resp("a", 200), req("b")];
    const flat: LegacyConversionResult[] = [];
    for await (const batch of legacyToEventBatches(lines)) flat.push(...batch);
    expect(flat).toEqual(await collect(lines));
    expect(flat).toHaveLength(4);
  });
});
