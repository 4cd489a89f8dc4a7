import { describe, expect, it } from "vitest";
import { LEVELS, levelAtLeast, levelLess, levelOrdinal, STAGES } from "./levels";

// pkg/apis/audit/helpers.go: Metadata=1, Request=2, RequestResponse=3, anything else 0.
describe("level ordering", () => {
  it.each([
    ["None", 0],
    ["", 0],
    ["metadata", 0],
    ["Bogus", 0],
    ["Metadata", 1],
    ["Request", 2],
    ["RequestResponse", 3],
  ])("ordinal of %j is %i", (level, ord) => expect(levelOrdinal(level)).toBe(ord));

  it.each([
    ["None", "Metadata", true, false],
    ["Metadata", "None", false, true],
    ["Request", "RequestResponse", true, false],
    ["RequestResponse", "Request", false, true],
    ["Request", "Request", false, true],
    ["Unknown", "None", false, true],
    ["Unknown", "Metadata", true, false],
  ])("%s vs %s: less=%s atLeast=%s", (a, b, less, atLeast) => {
    expect(levelLess(a, b)).toBe(less);
    expect(levelAtLeast(a, b)).toBe(atLeast);
  });

  it("lists levels and stages in the reference's order", () => {
    expect(LEVELS).toEqual(["None", "Metadata", "Request", "RequestResponse"]);
    expect(STAGES).toEqual(["RequestReceived", "ResponseStarted", "ResponseComplete", "Panic"]);
  });
});
