import { describe, expect, it } from "vitest";
import { computeSourceIPs, formatIP, parseIP } from "./ip";

describe("parseIP/formatIP (Go net.ParseIP sloppy + IP.String)", () => {
  const cases: [string, string | null][] = [
    ["1.2.3.4", "1.2.3.4"],
    ["001.002.003.004", "1.2.3.4"],
    ["010.0.0.1", "10.0.0.1"],
    ["256.1.1.1", null],
    ["1.2.3", null],
    ["1.2.3.4.5", null],
    ["1.2.3.4:80", null],
    [" 1.2.3.4", null],
    ["::ffff:1.2.3.4", "1.2.3.4"],
    ["::FFFF:7f00:1", "127.0.0.1"],
    ["::1", "::1"],
    ["::", "::"],
    ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    ["0:0:0:0:0:0:0:0", "::"],
    ["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"],
    ["::1.2.3.4", "::102:304"],
    ["fe80::1%eth0", null],
    ["1:2:3:4:5:6:7:8:9", null],
    ["1::2::3", null],
    ["[::1]", null],
    ["", null],
    ["abc", null],
  ];
  for (const [input, want] of cases) {
    it(`${JSON.stringify(input)} → ${want}`, () => {
      const ip = parseIP(input);
      expect(ip === null ? null : formatIP(ip)).toBe(want);
    });
  }
});

describe("computeSourceIPs (apimachinery SourceIPs)", () => {
  const cases: { name: string; xff?: string; xri?: string; remote?: string; want: string[] }[] = [
    { name: "remote only", remote: "1.2.3.4", want: ["1.2.3.4"] },
    { name: "remote host:port", remote: "1.2.3.4:5678", want: ["1.2.3.4"] },
    { name: "remote [v6]:port", remote: "[2001:db8::1]:443", want: ["2001:db8::1"] },
    { name: "remote IPv4-mapped", remote: "::ffff:10.0.0.1", want: ["10.0.0.1"] },
    { name: "remote invalid", remote: "not-an-ip", want: [] },
    {
      name: "xff chain then remote",
      xff: "1.1.1.1, 2.2.2.2",
      remote: "3.3.3.3",
      want: ["1.1.1.1", "2.2.2.2", "3.3.3.3"],
    },
    {
      name: "xff invalid entries skipped",
      xff: "1.1.1.1, bogus,, 2.2.2.2 ",
      remote: "3.3.3.3",
      want: ["1.1.1.1", "2.2.2.2", "3.3.3.3"],
    },
    {
      name: "remote equal to last xff not repeated",
      xff: "1.1.1.1, 3.3.3.3",
      remote: "3.3.3.3",
      want: ["1.1.1.1", "3.3.3.3"],
    },
    {
      name: "remote equal to an earlier xff entry is repeated",
      xff: "3.3.3.3, 1.1.1.1",
      remote: "3.3.3.3",
      want: ["3.3.3.3", "1.1.1.1", "3.3.3.3"],
    },
    { name: "x-real-ip appended", xri: "4.4.4.4", remote: "3.3.3.3", want: ["4.4.4.4", "3.3.3.3"] },
    {
      name: "x-real-ip already in chain",
      xff: "4.4.4.4, 1.1.1.1",
      xri: "4.4.4.4",
      remote: "3.3.3.3",
      want: ["4.4.4.4", "1.1.1.1", "3.3.3.3"],
    },
    {
      name: "x-real-ip equal as IPv4-mapped",
      xff: "4.4.4.4",
      xri: "::ffff:4.4.4.4",
      remote: "3.3.3.3",
      want: ["4.4.4.4", "3.3.3.3"],
    },
    { name: "x-real-ip not trimmed", xri: " 4.4.4.4", remote: "3.3.3.3", want: ["3.3.3.3"] },
    {
      name: "x-real-ip equals remote: remote not repeated",
      xri: "3.3.3.3",
      remote: "3.3.3.3",
      want: ["3.3.3.3"],
    },
    {
      name: "IPv6 canonicalised",
      xff: "2001:DB8:0:0:0:0:0:1",
      remote: "::1",
      want: ["2001:db8::1", "::1"],
    },
    {
      name: "leading zeros read as decimal",
      xff: "010.001.000.001",
      remote: "127.0.0.1",
      want: ["10.1.0.1", "127.0.0.1"],
    },
    { name: "nothing valid", xff: "a, b", xri: "c", remote: "d", want: [] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(computeSourceIPs(c.xff, c.xri, c.remote)).toEqual(c.want);
    });
  }
});
