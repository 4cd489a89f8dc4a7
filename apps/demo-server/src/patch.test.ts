import { describe, expect, it } from "vitest";
import { jsonPatch, mergePatch } from "./patch";

describe("mergePatch (RFC 7386)", () => {
  it.each([
    [{ a: "b" }, { a: "c" }, { a: "c" }],
    [{ a: "b" }, { b: "c" }, { a: "b", b: "c" }],
    [{ a: "b" }, { a: null }, {}],
    [{ a: { b: "c" } }, { a: { b: "d", c: null } }, { a: { b: "d" } }],
    [{ a: [1] }, { a: [2, 3] }, { a: [2, 3] }],
    [{ a: "b" }, ["c"], ["c"]],
    [{ a: { b: 1 } }, { a: { $patch: "replace", b: 2 } }, { a: { b: 2 } }],
  ])("%j + %j = %j", (doc, patch, want) => {
    expect(mergePatch(doc, patch)).toEqual(want);
  });
});

describe("jsonPatch (RFC 6902)", () => {
  const doc = { metadata: { labels: { a: "1" } }, list: [1, 2] };
  it.each([
    [
      [{ op: "add", path: "/metadata/labels/b", value: "2" }],
      { metadata: { labels: { a: "1", b: "2" } }, list: [1, 2] },
    ],
    [[{ op: "remove", path: "/metadata/labels/a" }], { metadata: { labels: {} }, list: [1, 2] }],
    [
      [{ op: "replace", path: "/list/0", value: 9 }],
      { metadata: { labels: { a: "1" } }, list: [9, 2] },
    ],
    [
      [{ op: "add", path: "/list/-", value: 3 }],
      { metadata: { labels: { a: "1" } }, list: [1, 2, 3] },
    ],
    [
      [{ op: "move", from: "/metadata/labels/a", path: "/metadata/labels/x~1y" }],
      { metadata: { labels: { "x/y": "1" } }, list: [1, 2] },
    ],
    [
      [
        { op: "copy", from: "/list", path: "/copy" },
        { op: "test", path: "/copy/1", value: 2 },
      ],
      { metadata: { labels: { a: "1" } }, list: [1, 2], copy: [1, 2] },
    ],
  ])("%j", (ops, want) => {
    expect(jsonPatch(doc, ops)).toEqual(want);
    expect(doc).toEqual({ metadata: { labels: { a: "1" } }, list: [1, 2] });
  });
  it.each([
    [[{ op: "remove", path: "/nope" }], 422, "remove operation does not apply"],
    [[{ op: "test", path: "/list/0", value: 5 }], 422, "testing value /list/0 failed"],
    [[{ op: "frob", path: "/a" }], 400, "Unexpected kind: frob"],
    [{ op: "add" }, 400, "cannot unmarshal object"],
  ])("%j fails with %d", (ops, code, msg) => {
    try {
      jsonPatch(doc, ops);
      expect.unreachable();
    } catch (e) {
      expect((e as { code: number }).code).toBe(code);
      expect((e as Error).message).toContain(msg);
    }
  });
});
