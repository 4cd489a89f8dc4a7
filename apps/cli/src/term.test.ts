import { describe, expect, it } from "vitest";
import { colorEnabled, colorsFor, formatBytes, Progress } from "./term";

describe("colorEnabled", () => {
  it.each([
    [true, {}, true],
    [false, {}, false],
    [undefined, {}, false],
    [true, { NO_COLOR: "1" }, false],
    [true, { NO_COLOR: "" }, true],
    [true, { TERM: "dumb" }, false],
  ])("tty=%s env=%j → %s", (isTTY, env, expected) => {
    expect(colorEnabled({ isTTY }, env)).toBe(expected);
  });
  it("colour functions are identities when off", () => {
    expect(colorsFor({ isTTY: false }, {}).red("x")).toBe("x");
    expect(colorsFor({ isTTY: true }, {}).red("x")).toBe("\x1b[31mx\x1b[39m");
  });
});

describe("formatBytes", () => {
  it.each([
    [0, "0 B"],
    [999, "999 B"],
    [1000, "1.00 kB"],
    [22_600, "22.6 kB"],
    [301_806_779, "302 MB"],
    [1.5e9, "1.50 GB"],
  ])("%i → %s", (n, text) => expect(formatBytes(n)).toBe(text));
});

describe("Progress", () => {
  const sink = (isTTY: boolean) => {
    const writes: string[] = [];
    return { stream: { isTTY, write: (s: string) => writes.push(s) }, writes };
  };
  it("draws nothing when stderr is not a TTY", () => {
    const { stream, writes } = sink(false);
    const p = new Progress(stream, 100);
    p.add(50);
    p.finish();
    expect(writes).toEqual([]);
  });
  it("draws a bar with the fraction done on a TTY and erases it at the end", () => {
    const { stream, writes } = sink(true);
    const p = new Progress(stream, 1000, "analyzing");
    p.add(500);
    expect(writes).toEqual([
      `\r${"analyzing ["}${"#".repeat(15)}${"-".repeat(15)}]  50% 500 B/1.00 kB\x1b[K`,
    ]);
    p.add(100); // within 100 ms of the last draw: not redrawn
    expect(writes).toHaveLength(1);
    p.finish();
    expect(writes.at(-1)).toBe("\r\x1b[K");
  });
  it("shows bytes only when the total is unknown (stdin)", () => {
    const { stream, writes } = sink(true);
    new Progress(stream, 0, "reading").add(2500);
    expect(writes).toEqual(["\rreading 2.50 kB\x1b[K"]);
  });
});
