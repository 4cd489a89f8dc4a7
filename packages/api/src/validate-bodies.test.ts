// requestObject / responseObject are runtime.Unknown in kube-apiserver: raw JSON written as it is,
// so any JSON value is a valid body (a JSON patch is an array). The map[string]string fields
// (annotations, ObjectMeta labels/annotations) only ever hold strings: Go cannot write anything else.
import { describe, expect, it } from "vitest";
import { decodeEvent } from "./decode";
import { encodeEvent } from "./encode";
import type { Event } from "./types";
import { validateEvent, validateEventList } from "./validate";

const base: Event = {
  kind: "Event",
  apiVersion: "audit.k8s.io/v1",
  level: "RequestResponse",
  auditID: "a",
  stage: "ResponseComplete",
  requestURI: "/api/v1/namespaces/default/configmaps/x",
  verb: "patch",
  user: {},
};

describe("bodies are any JSON value (runtime.Unknown)", () => {
  it.each([
    ["a JSON patch", [{ op: "add", path: "/data/x", value: "y" }]],
    ["an empty array", []],
    ["an object", { metadata: { labels: { a: "b" } } }],
    ["a string", "text"],
    ["a number", 1.5],
    ["a boolean", false],
    ["null", null],
  ])(
    "%s validates as requestObject and responseObject, in an Event and an EventList",
    (_, body) => {
      const e = { ...base, requestObject: body, responseObject: body } as Event;
      expect(validateEvent(e)).toEqual({ ok: true, value: e });
      const list = { kind: "EventList", apiVersion: "audit.k8s.io/v1", items: [e] };
      expect(validateEventList(list).ok).toBe(true);
    },
  );

  it("a JSON patch line as kube-apiserver writes it decodes, validates and encodes back byte for byte", () => {
    const line =
      '{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"a","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/configmaps/x","verb":"patch","user":{},"requestObject":[{"op":"add","path":"/data/x","value":"y"},{"op":"replace","path":"/spec/replicas","value":1.0}],"responseObject":"ok","requestReceivedTimestamp":"2026-12-01T12:00:00.000000Z","stageTimestamp":"2026-12-01T12:00:00.001000Z"}';
    const e = decodeEvent(line);
    expect(validateEvent(e).ok).toBe(true);
    expect(encodeEvent(e)).toBe(line);
  });
});

describe("map[string]string fields hold strings only", () => {
  it.each([
    ["annotations", { annotations: { a: 1 } }, "annotations.a"],
    ["annotations", { annotations: { a: null } }, "annotations.a"],
    ["annotations", { annotations: ["a"] }, "annotations"],
    ["objectRef fields", { objectRef: { name: 1 } }, "objectRef.name"],
  ])("%s: %j is reported at %s", (_, extra, path) => {
    const r = validateEvent({ ...base, ...extra });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues.map((i) => i.path)).toContain(path);
  });
});
