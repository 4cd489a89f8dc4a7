import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isValidLabelSelector } from "./label-selector";
import { attributesFromRequest } from "./request-info";

// Cases in the spirit of apimachinery pkg/labels/selector_test.go TestSelectorParse.
describe("isValidLabelSelector (labels.Parse)", () => {
  it.each([
    "",
    "x=a",
    "x=a,y=b,z=c",
    "x==a",
    "x!=a",
    "x=",
    "x=,z= ",
    "x= ,z= ",
    "!x",
    "x>1",
    "x>1,z<5",
    "x= ",
    "x!=a,y=b",
    "x<10",
    "x in (a)",
    "x in (a,,b)",
    "x in ()",
    "x notin (a, b)",
    "x in (,a)",
    "x in (a,)",
    "x,y",
    "x, !y",
    "in in (in)",
    "example.com/app=web",
    " x = a ",
  ])("%j parses", (s) => {
    expect(isValidLabelSelector(s)).toBe(true);
  });

  it.each([
    "x=a,",
    ",x=a",
    "x=a b",
    "x=a||y=b",
    "x==a==b",
    "!x=a",
    "x>a",
    "x<a",
    "x<-1", // a Gt/Lt value must be an integer and a valid label value
    "x in a",
    "x in (a",
    "x in (a b)",
    "x notin",
    "=a",
    "x=a/b",
    "-x=a",
    "x=-a",
    `x=${"a".repeat(64)}`,
    `${"a".repeat(64)}=b`,
    "Example.com/app=web",
    "/app=web",
    "a/b/c=d",
    "x=(a)",
    "x in (a,b))",
  ])("%j does not parse", (s) => {
    expect(isValidLabelSelector(s)).toBe(false);
  });
});

describe("RequestInfo drops the fieldSelector name when the list options do not decode", () => {
  it.each([
    ["fieldSelector=metadata.name=foo&labelSelector=app=web", "foo"],
    ["fieldSelector=metadata.name=foo&labelSelector=app%3D%3Dweb%2Cx", "foo"],
    ["fieldSelector=metadata.name=foo&labelSelector=app=w%20b", ""],
    ["fieldSelector=metadata.name=foo&labelSelector=x%20in%20(a", ""],
  ])("%s ⇒ name %j", (query, name) => {
    expect(attributesFromRequest({ method: "GET", url: `/api/v1/pods?${query}` }).name).toBe(name);
  });
});

describe("isValidLabelSelector never throws", () => {
  it("on random selectors", () => {
    const piece = fc.constantFrom(
      "x",
      "in",
      "notin",
      "(",
      ")",
      ",",
      "=",
      "==",
      "!",
      "!=",
      ">",
      "<",
      " ",
      "1",
      "a.b/c",
      "-",
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.array(piece, { maxLength: 12 }).map((p) => p.join("")),
          fc.string({ maxLength: 30 }),
        ),
        (s) => {
          expect(typeof isValidLabelSelector(s)).toBe("boolean");
        },
      ),
      { numRuns: 2000 },
    );
  });
});
