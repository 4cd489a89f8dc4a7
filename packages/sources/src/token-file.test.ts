import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadTokenFile, parseTokenFile, type TokenUser } from "./token-file";

// kube-apiserver's --token-auth-file reader (k8s.io/apiserver tokenfile.NewCSV) over Go's
// encoding/csv with FieldsPerRecord = -1 and every other setting at its default: no comment
// character, no trimming, strict quotes.
describe("parseTokenFile reads what kube reads", () => {
  const table: [string, string, Record<string, TokenUser>][] = [
    [
      "three and four columns, the groups quoted",
      't1,alice,u1,"g1,g2"\nt2,bob,u2\n',
      {
        t1: { name: "alice", uid: "u1", groups: ["g1", "g2"] },
        t2: { name: "bob", uid: "u2", groups: [] },
      },
    ],
    ["no newline at the end", "t1,alice,u1", { t1: { name: "alice", uid: "u1", groups: [] } }],
    [
      "CRLF line ends",
      "t1,alice,u1\r\nt2,bob,u2\r\n",
      {
        t1: { name: "alice", uid: "u1", groups: [] },
        t2: { name: "bob", uid: "u2", groups: [] },
      },
    ],
    ["empty lines are skipped", "\n\nt1,a,1\n\r\n\n", { t1: { name: "a", uid: "1", groups: [] } }],
    [
      "nothing is trimmed (Go's TrimLeadingSpace is off)",
      "t1, alice ,u1 ",
      { t1: { name: " alice ", uid: "u1 ", groups: [] } },
    ],
    [
      "an empty fourth column is one empty group (strings.Split)",
      "t1,a,1,",
      {
        t1: { name: "a", uid: "1", groups: [""] },
      },
    ],
    [
      "five columns: the fifth is ignored",
      "t1,a,1,g,extra",
      {
        t1: { name: "a", uid: "1", groups: ["g"] },
      },
    ],
    [
      "doubled quotes in a quoted field",
      't1,"al""ice",1',
      {
        t1: { name: 'al"ice', uid: "1", groups: [] },
      },
    ],
    [
      "a quoted field spans lines (its CRLF read as LF)",
      't1,a,1,"g1,\r\ng2"\nt2,b,2',
      {
        t1: { name: "a", uid: "1", groups: ["g1", "\ng2"] },
        t2: { name: "b", uid: "2", groups: [] },
      },
    ],
    [
      "a # line is a record, not a comment",
      "#t,a,1\n",
      { "#t": { name: "a", uid: "1", groups: [] } },
    ],
  ];
  it.each(table)("%s", (_name, text, want) => {
    expect(Object.fromEntries(parseTokenFile(text, "tokens.csv"))).toEqual(want);
  });
});

describe("parseTokenFile warns where kube warns and goes on", () => {
  it("an empty token is skipped, a repeated one replaces the earlier", () => {
    const warnings: string[] = [];
    const m = parseTokenFile(",nobody,0\nt,alice,1\nt,bob,2\n", "tokens.csv", {
      onWarning: (w) => warnings.push(w),
    });
    expect(Object.fromEntries(m)).toEqual({ t: { name: "bob", uid: "2", groups: [] } });
    expect(warnings).toEqual([
      "tokens.csv:1: empty token has been found in token file, record number 1",
      "tokens.csv:3: duplicate token has been found in token file, record number 3",
    ]);
  });
});

describe("parseTokenFile refuses what kube refuses, naming file:line[:col]", () => {
  it.each([
    [
      "too few columns",
      "t1,alice\n",
      "tokens.csv:1: token file must have at least 3 columns (token, user name, user uid), found 2",
    ],
    [
      "a line of spaces is a one-column record",
      "t1,a,1\n   \n",
      "tokens.csv:2: token file must have at least 3 columns (token, user name, user uid), found 1",
    ],
    [
      "a # comment line",
      "# tokens\nt1,a,1\n",
      "tokens.csv:1: token file must have at least 3 columns (token, user name, user uid), found 1",
    ],
    ["a bare quote", 't1,al"ice,1\n', 'tokens.csv:1:6: parse error: bare " in non-quoted-field'],
    [
      "text after a closing quote",
      't1,"a"b,1\n',
      'tokens.csv:1:6: parse error: extraneous or missing " in quoted-field',
    ],
    [
      "a space after a closing quote",
      't1,a,1,"g" \n',
      'tokens.csv:1:10: parse error: extraneous or missing " in quoted-field',
    ],
    [
      "a quote never closed",
      'ok,a,b\nt1,alice,u1,"g1\n',
      'tokens.csv:2:17: parse error: extraneous or missing " in quoted-field',
    ],
    [
      "a quote never closed, no newline",
      't1,a,1,"g1',
      'tokens.csv:1:11: parse error: extraneous or missing " in quoted-field',
    ],
  ])("%s", (_name, text, message) => {
    expect(() => parseTokenFile(text, "tokens.csv")).toThrow(message);
  });
});

describe("loadTokenFile", () => {
  it("reads the file and names it in errors", () => {
    const dir = mkdtempSync(join(tmpdir(), "kaudit-tokens-"));
    const file = join(dir, "tokens.csv");
    writeFileSync(file, "t1,alice,u1\nbad\n");
    expect(() => loadTokenFile(file)).toThrow(`${file}:2: token file must have at least 3 columns`);
    expect(() => loadTokenFile(join(dir, "missing.csv"))).toThrow("reading token file: ENOENT");
  });
});
