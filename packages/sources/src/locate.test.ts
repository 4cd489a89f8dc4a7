import { describe, expect, it } from "vitest";
import { createLocator, pathKeys } from "./locate";

describe("pathKeys", () => {
  it.each([
    ["", []],
    ["items[3].user.groups[0]", ["items", 3, "user", "groups", 0]],
    ['annotations["a.b/c"]', ["annotations", "a.b/c"]],
    ["rules[0].resources[1].group", ["rules", 0, "resources", 1, "group"]],
  ])("%j", (path, keys) => expect(pathKeys(path)).toEqual(keys));
});

describe("createLocator", () => {
  const json = '{\n  "items": [\n    {"auditID": "x", "stage": "Done"}\n  ]\n}';
  it.each([
    ["items", 2, 3],
    ["items[0]", 3, 5],
    ["items[0].stage", 3, 22],
    ["items[0].user", 3, 5],
    ["items[7].stage", 2, 3],
  ])("%s is at %i:%i (a missing field points at its nearest parent)", (path, line, column) => {
    expect(createLocator(json).locate(path)).toEqual({ line, column });
  });
  it("offsets lines for one line of a JSON-lines file", () => {
    expect(createLocator('{"a":{"b":1}}', 41).locate("a.b")).toEqual({ line: 42, column: 7 });
  });
});
