import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { extractBlocks, kindOf, parseDirectives } from "./blocks.ts";
import { compareOutput, lineMatches, parseConsole } from "./commands.ts";

describe("console blocks", () => {
  it("splits commands, continuation lines and output", () => {
    expect(parseConsole("$ a \\\n  b\nout 1\nout 2\n$ c\n", true)).toEqual([
      { text: "a \\\n  b", expected: ["out 1", "out 2"], offset: 0 },
      { text: "c", expected: [], offset: 4 },
    ]);
    expect(() => parseConsole("output first\n$ a\n", true)).toThrow(/before any/);
    expect(parseConsole("a\nb\n", false)).toEqual([{ text: "a\nb", expected: [], offset: 0 }]);
  });

  it.each([
    [["a", "b"], ["a", "b"], true],
    [["a", "b"], ["a", "c"], false],
    [["a"], ["a", "extra"], false],
    [["a", "..."], ["a", "x", "y"], true],
    [["...", "z"], ["z"], true],
    [["a", "...", "z"], ["a", "z", "q"], false],
    [["age ...s"], ["age 12s"], true],
    [["age ...s"], ["age 12m"], false],
    [["x (1)"], ["x (1)  "], true],
    [["a.b"], ["axb"], false],
  ])("expected %j vs actual %j → match %s", (exp, act, ok) => {
    expect(compareOutput(exp, act) === undefined).toBe(ok);
  });

  it("ellipsis inside a line is the only wildcard", () => {
    expect(lineMatches("[a]*...", "[a]*zz")).toBe(true);
    expect(lineMatches("[a]*", "a")).toBe(false);
  });
});

describe("directives and fences", () => {
  it("reads keys, quoted values and repeated fixtures; rejects unknown keys", () => {
    expect(
      parseDirectives(' skip="a reason" fixture=x/y.log fixture=z:dir/w exit=2 ', "f"),
    ).toEqual({
      skip: "a reason",
      exit: 2,
      fixtures: [
        { src: "x/y.log", dest: "y.log" },
        { src: "z", dest: "dir/w" },
      ],
    });
    expect(parseDirectives("demo", "f").demo).toEqual([]);
    expect(() => parseDirectives("skp=x", "f")).toThrow(/unknown doctest directive "skp"/);
    expect(() => parseDirectives("skip", "f")).toThrow(/needs a value/);
  });

  it("finds fenced blocks with the comment above them, and refuses untagged ones", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "doctest-"));
    fs.writeFileSync(
      path.join(dir, "README.md"),
      '# x\n\n<!-- doctest: skip="why" -->\n\n```ts\nconst a = 1;\n```\n\n- item\n\n  ```json\n  {}\n  ```\n\n```\nplain\n```\n',
    );
    const blocks = extractBlocks(dir, "README.md");
    expect(blocks.map((b) => [b.line, b.lang, b.body, b.directives.skip])).toEqual([
      [5, "ts", "const a = 1;\n", "why"],
      [11, "json", "{}\n", undefined],
      [15, "", "plain\n", undefined],
    ]);
    expect(() => kindOf(blocks[2]!)).toThrow(/without a known language/);
    fs.rmSync(dir, { recursive: true });
  });
});
