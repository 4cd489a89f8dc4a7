import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeEvent, decodeEventList } from "./decode";
import {
  compactJSON,
  EncodeError,
  encodedEventsToList,
  encodeEvent,
  encodeEventList,
  goJSONString,
} from "./encode";
import type { Event } from "./types";

const fixture = (name: string) => new URL(`./__fixtures__/events/${name}`, import.meta.url);
const lines = (name: string) => fs.readFileSync(fixture(name), "utf8").split("\n").filter(Boolean);

// Lines written by kube-apiserver's v1 log backend (rbac-tool captures, Falco's v1 secret events).
const KUBE_WRITTEN = [
  "rbac-tool-auditgen-01.v1.jsonl",
  "rbac-tool-auditgen-02.v1.jsonl",
  "falco-trace-files/create_secret.json",
  "falco-trace-files/delete_secret.json",
];

describe("encodeEvent round trip on kube-apiserver-written corpus lines", () => {
  const cases = KUBE_WRITTEN.flatMap((f) => lines(f).map((l, i) => [`${f}:${i + 1}`, l] as const));
  it.each(cases)("%s is byte-identical after decode → encode", (_name, line) => {
    expect(encodeEvent(decodeEvent(line))).toBe(line);
  });

  it("re-orders a shuffled event into Go struct order", () => {
    const [line] = lines("rbac-tool-auditgen-01.v1.jsonl");
    const event = JSON.parse(line!) as Record<string, unknown>;
    const shuffled = Object.fromEntries(Object.entries(event).reverse());
    expect(encodeEvent(shuffled as unknown as Event)).toBe(line);
  });
});

describe("encodeEvent field rules (§1.2, §1.5)", () => {
  it("writes the empty event as the reference's 173-byte line (with newline)", () => {
    const out = encodeEvent({} as Event);
    expect(out).toBe(
      '{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"","auditID":"","stage":"","requestURI":"","verb":"","user":{},"requestReceivedTimestamp":null,"stageTimestamp":null}',
    );
    expect(Buffer.byteLength(`${out}\n`)).toBe(173);
  });

  it("always writes responseStatus.metadata as {} and omits a zero code", () => {
    const e = { responseStatus: { code: 0, status: "Success" } } as unknown as Event;
    expect(encodeEvent(e)).toContain('"responseStatus":{"metadata":{},"status":"Success"}');
    const f = {
      responseStatus: { metadata: { resourceVersion: "" }, code: 201 },
    } as unknown as Event;
    expect(encodeEvent(f)).toContain('"responseStatus":{"metadata":{},"code":201}');
  });

  it("omits empty optional fields and keeps required ones", () => {
    const e = {
      level: "Metadata",
      auditID: "a",
      stage: "ResponseComplete",
      requestURI: "/",
      verb: "get",
      user: { username: "", groups: [] },
      sourceIPs: [],
      userAgent: "",
      annotations: {},
    } as unknown as Event;
    expect(encodeEvent(e)).toBe(
      '{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a","stage":"ResponseComplete","requestURI":"/","verb":"get","user":{},"requestReceivedTimestamp":null,"stageTimestamp":null}',
    );
  });

  it("sorts annotation and user.extra keys bytewise", () => {
    const e = {
      user: { username: "u", extra: { z: ["1"], a: ["2"], B: ["3"] } },
      annotations: { "b/x": "1", "a/y": "2", A: "3" },
    } as unknown as Event;
    const out = encodeEvent(e);
    expect(out).toContain('"user":{"username":"u","extra":{"B":["3"],"a":["2"],"z":["1"]}}');
    expect(out).toContain('"annotations":{"A":"3","a/y":"2","b/x":"1"}');
  });

  it.each([
    ["2020-04-08T16:32:36.125094Z", "2020-04-08T16:32:36.125094Z"],
    ["2020-04-08T16:32:36Z", "2020-04-08T16:32:36.000000Z"],
    ["2020-04-08T16:32:36.1Z", "2020-04-08T16:32:36.100000Z"],
    ["2020-04-08T16:32:36.1250949999Z", "2020-04-08T16:32:36.125094Z"],
    ["2020-04-08T18:32:36.125094+02:00", "2020-04-08T16:32:36.125094Z"],
    ["2017-07-12T11:02:43-04:00", "2017-07-12T15:02:43.000000Z"],
  ])("MicroTime %s is written as %s (UTC, 6 digits, truncated)", (input, output) => {
    const e = { requestReceivedTimestamp: input, stageTimestamp: input } as unknown as Event;
    expect(encodeEvent(e)).toContain(
      `"requestReceivedTimestamp":"${output}","stageTimestamp":"${output}"`,
    );
  });
});

describe("Go string escaping (HTML escaping on)", () => {
  it.each([
    ["plain", '"plain"'],
    ["<script>&", '"\\u003cscript\\u003e\\u0026"'],
    ['q"b\\', '"q\\"b\\\\"'],
    ["a\nb\rc\td", '"a\\nb\\rc\\td"'],
    ["\b\f", '"\\b\\f"'],
    ["\u0000\u001f", '"\\u0000\\u001f"'],
    ["\u007f é ü 日本", '"\u007f é ü 日本"'],
    ["\u2028\u2029", '"\\u2028\\u2029"'],
    ["lone \ud800 surrogate", '"lone \\ufffd surrogate"'],
    ["pair 😀", '"pair 😀"'],
  ])("%j → %s", (input, output) => {
    expect(goJSONString(input)).toBe(output);
  });

  it("escapes inside embedded objects and keeps their raw key order and numbers", () => {
    const text =
      '{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"x","stage":"ResponseComplete","requestURI":"/","verb":"create","user":{},"requestObject":{"b":1.0, "2":"<a>", "1":12345678901234567890},"requestReceivedTimestamp":null,"stageTimestamp":null}';
    const out = encodeEvent(decodeEvent(text));
    expect(out).toContain(
      '"requestObject":{"b":1.0,"2":"\\u003ca\\u003e","1":12345678901234567890}',
    );
  });

  it("re-serialises an embedded object that was built in JS", () => {
    const e = {
      requestObject: { kind: "Pod", spec: { a: [1, "x<"], b: null } },
    } as unknown as Event;
    expect(encodeEvent(e)).toContain(
      '"requestObject":{"kind":"Pod","spec":{"a":[1,"x\\u003c"],"b":null}}',
    );
  });

  // Each character Go escapes on its own, so every one of the scans that decide whether a
  // JS-built body needs escaping at all is exercised.
  it.each([
    ["<", "\\u003c"],
    [">", "\\u003e"],
    ["&", "\\u0026"],
    ["\u2028", "\\u2028"],
    ["\u2029", "\\u2029"],
    ["plain", "plain"],
  ])("escapes %j alone in a body built in JS", (c, want) => {
    const e = { responseObject: { k: `a${c}b` } } as unknown as Event;
    expect(encodeEvent(e)).toContain(`"responseObject":{"k":"a${want}b"}`);
  });

  it("sorts integer-like annotation keys bytewise and replaces lone surrogates", () => {
    expect(
      encodeEvent({ annotations: { b: "1", "10": "2", "9": "3" } } as unknown as Event),
    ).toContain('"annotations":{"10":"2","9":"3","b":"1"}');
    expect(encodeEvent({ userAgent: "a\ud800b" } as unknown as Event)).toContain(
      '"userAgent":"a\\ufffdb"',
    );
    expect(encodeEvent({ userAgent: "back\\ud800slash" } as unknown as Event)).toContain(
      '"userAgent":"back\\\\ud800slash"',
    );
  });

  it("compacts JSON text without touching string contents", () => {
    expect(compactJSON('{ "a" : [ 1 , 2 ],\n "s": " x  y " }')).toBe('{"a":[1,2],"s":" x  y "}');
  });

  // Go's json.Compact with HTML escaping: each character that makes compaction do work, alone.
  it.each([
    ["space", '{"a": 1}', '{"a":1}'],
    ["newline", '{"a":\n1}', '{"a":1}'],
    ["carriage return", '{"a":\r1}', '{"a":1}'],
    ["tab", '{"a":\t1}', '{"a":1}'],
    ["<", '{"a":"<"}', '{"a":"\\u003c"}'],
    [">", '{"a":">"}', '{"a":"\\u003e"}'],
    ["&", '{"a":"&"}', '{"a":"\\u0026"}'],
    ["U+2028", '{"a":"\u2028"}', '{"a":"\\u2028"}'],
    ["U+2029", '{"a":"\u2029"}', '{"a":"\\u2029"}'],
    ["nothing to do", '{"a":"x","b":[1,{}]}', '{"a":"x","b":[1,{}]}'],
  ])("compactJSON: %s", (_name, input, want) => {
    expect(compactJSON(input)).toBe(want);
  });
});

describe("encodeEventList", () => {
  it("writes items without kind/apiVersion, as the webhook backend POSTs them", () => {
    const events = lines("rbac-tool-auditgen-01.v1.jsonl").map((l) => decodeEvent(l));
    const list = encodeEventList(events);
    expect(
      list.startsWith(
        '{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[{"level":',
      ),
    ).toBe(true);
    const parsed = JSON.parse(list) as { items: Record<string, unknown>[] };
    expect(parsed.items).toHaveLength(3);
    expect(parsed.items[0]).not.toHaveProperty("kind");
    expect(encodedEventsToList(events.map(encodeEvent))).toBe(list);
    expect(encodeEventList([])).toBe(
      '{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[]}',
    );
  });

  it("keeps embedded bodies exact when decoding a list", () => {
    const text =
      '{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[{"level":"Request","auditID":"1","stage":"ResponseComplete","requestURI":"/","verb":"create","user":{},"requestObject":{"2":1.50,"1":true},"requestReceivedTimestamp":null,"stageTimestamp":null}]}';
    expect(encodeEventList(decodeEventList(text).items)).toBe(text);
  });
});

describe("encodeEvent's memory of repeated strings", () => {
  const withValue = (v: string): Event => ({
    level: "Metadata",
    auditID: "a",
    stage: "ResponseComplete",
    requestURI: "/",
    verb: "get",
    user: { username: v, groups: [v, "g"], extra: { [v]: [v] } },
    sourceIPs: [v],
    userAgent: v,
    objectRef: { resource: v, namespace: v, apiGroup: v, apiVersion: v, subresource: v },
    requestReceivedTimestamp: "2026-11-22T10:04:05.123456Z",
    stageTimestamp: "2026-11-22T10:04:05.123456Z",
    annotations: { [v]: v },
  });
  // Every string position that goes through the memory, checked by decoding the line again.
  const expectFaithful = (v: string) => {
    const out = encodeEvent(withValue(v));
    const back = JSON.parse(out) as Event;
    expect(back.user.username).toBe(v);
    expect(back.user.groups).toEqual([v, "g"]);
    expect(back.user.extra).toEqual({ [v]: [v] });
    expect(back.sourceIPs).toEqual([v]);
    expect(back.userAgent).toBe(v);
    expect(back.objectRef).toMatchObject({ resource: v, namespace: v, apiGroup: v });
    expect(back.annotations).toEqual({ [v]: v });
    expect(out).not.toMatch(/[<>&\u2028]/);
    return out;
  };

  it("writes a repeated value needing escapes the same, escaped, every time", () => {
    const v = 'ua "x" <script>&\u2028\\ \n';
    const first = expectFaithful(v);
    expect(first).toContain("\\u003cscript\\u003e\\u0026\\u2028");
    expect(expectFaithful(v)).toBe(first);
  });

  it("stays right when more distinct values pass than it keeps (it starts over)", () => {
    const before = expectFaithful("<kept>");
    for (let i = 0; i < 10_000; i++) expectFaithful(`user-${i}&<`);
    expect(expectFaithful("<kept>")).toBe(before);
  });

  it("writes long values (not kept) exactly too", () => {
    expectFaithful(`${"<".repeat(300)}"`);
  });
});

describe("encodeEvent of wrong-typed list items (hostile JSON decoded as is)", () => {
  const base = {
    level: "Metadata",
    auditID: "a",
    stage: "ResponseComplete",
    requestURI: "/",
    verb: "get",
    user: {},
  };
  it.each([
    [[null], '"sourceIPs":[null]'],
    [[1], '"sourceIPs":["1"]'],
    [["10.0.0.1", null], '"sourceIPs":["10.0.0.1",null]'],
  ])("%j", (ips, text) => {
    expect(encodeEvent({ ...base, sourceIPs: ips } as never)).toContain(text);
  });
  it("refuses an object where a string belongs, with an EncodeError", () => {
    expect(() => encodeEvent({ ...base, sourceIPs: [{}] } as never)).toThrow(EncodeError);
  });
});
