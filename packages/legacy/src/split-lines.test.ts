import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { LineReadError } from "./convert";
import { type SplitLinesOptions, splitLines } from "./split-lines";

async function lines(chunks: (string | Uint8Array)[], options?: SplitLinesOptions) {
  const out: (string | LineReadError)[] = [];
  for await (const l of splitLines(chunks, options)) out.push(l);
  return out;
}

describe("splitLines", () => {
  it("splits on \\n and \\r\\n, keeps blank lines, handles a last line without newline", async () => {
    expect(await lines(["a\r\nb\n\nc"])).toEqual(["a", "b", "", "c"]);
  });

  it("does not invent a line after a final newline", async () => {
    expect(await lines(["a\n", "b\n"])).toEqual(["a", "b"]);
  });

  it("joins lines split across chunks, including a multi-byte character and a CRLF split in two", async () => {
    const bytes = Buffer.from("héllo wörld\r\nnext\n");
    const chunks = [...bytes].map((b) => Uint8Array.of(b));
    expect(await lines(chunks)).toEqual(["héllo wörld", "next"]);
  });

  it("drops a UTF-8 BOM at the start only", async () => {
    expect(await lines(["\ufeffa\n\ufeffb"])).toEqual(["a", "\ufeffb"]);
  });

  it("reports a line over maxLineBytes in its place and goes on", async () => {
    const big = "x".repeat(50);
    const out = await lines(
      [`ok\n${big.slice(0, 20)}`, big.slice(20), "\nafter\n", "y".repeat(11)],
      { maxLineBytes: 10 },
    );
    expect(out[0]).toBe("ok");
    expect((out[1] as LineReadError).error.message).toMatch(
      /line is 50 bytes long, over the 10-byte limit/,
    );
    expect(out[2]).toBe("after");
    expect((out[3] as LineReadError).error.message).toMatch(/line is 11 bytes long/);
    expect(out).toHaveLength(4);
  });

  it("accepts a line of exactly maxLineBytes, not counting \\r", async () => {
    expect(await lines(["0123456789\r\n"], { maxLineBytes: 10 })).toEqual(["0123456789"]);
  });

  it("reports invalid UTF-8 with the column of the first bad byte", async () => {
    const out = await lines([Buffer.from([0x61, 0xc3, 0xa9, 0x62, 0xff, 0x63, 0x0a, 0x64])]);
    expect(out[0]).toEqual({
      error: { column: 4, message: expect.stringMatching(/invalid byte 0xff at byte 4/) },
    });
    expect(out[1]).toBe("d");
  });

  it("has a 1 MiB default limit", async () => {
    const mb = 1024 * 1024;
    const out = await lines(["a".repeat(mb), "\n", "b".repeat(mb + 1), "\nc"]);
    expect(out.map((l) => (typeof l === "string" ? l.length : "error"))).toEqual([mb, "error", 1]);
  });

  it("pulls from the source only as lines are consumed (back-pressure)", async () => {
    let pulled = 0;
    const source = new Readable({
      read() {
        pulled++;
        this.push(pulled > 1000 ? null : `line ${pulled}\n`);
      },
      highWaterMark: 16,
    });
    const it = splitLines(source)[Symbol.asyncIterator]();
    expect((await it.next()).value).toBe("line 1");
    expect((await it.next()).value).toBe("line 2");
    expect(pulled).toBeLessThan(20);
    await it.return?.();
    source.destroy();
  });

  it("validates maxLineBytes", async () => {
    await expect(lines(["a"], { maxLineBytes: 0 })).rejects.toThrow(RangeError);
  });
});
