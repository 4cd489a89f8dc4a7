import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readInputBytes as readBytes, readEvents } from "./input";
import { openOutput } from "./io";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "kaudit-io-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function collect(it: AsyncIterable<Buffer>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const b of it) parts.push(b);
  return Buffer.concat(parts).toString("utf8");
}

/** stdin that delivers the given chunks one by one (to split the gzip magic across chunks). */
function chunked(...chunks: Buffer[]): NodeJS.ReadableStream {
  return Readable.from(chunks);
}

// The CLI reads bytes through @kaudit/sources; these hold the exit codes and messages it maps to.
describe("readInputBytes", () => {
  it("detects gzip by magic bytes even when they arrive in separate chunks", async () => {
    const gz = gzipSync("hello\nworld\n");
    const text = await collect(
      readBytes("-", { stdin: chunked(gz.subarray(0, 1), gz.subarray(1, 5), gz.subarray(5)) }),
    );
    expect(text).toBe("hello\nworld\n");
  });

  it("reads concatenated gzip members as one stream", async () => {
    const gz = Buffer.concat([gzipSync("a\n"), gzipSync("b\n")]);
    expect(await collect(readBytes("-", { stdin: chunked(gz) }))).toBe("a\nb\n");
  });

  it("passes plain text through, including a 1-byte input and an empty one", async () => {
    expect(await collect(readBytes("-", { stdin: chunked(Buffer.from("x")) }))).toBe("x");
    expect(await collect(readBytes("-", { stdin: new PassThrough().end() }))).toBe("");
  });

  it("counts raw bytes for the progress bar", async () => {
    const gz = gzipSync("z".repeat(10_000));
    let n = 0;
    for await (const r of readEvents("-", { stdin: chunked(gz), onBytes: (k) => (n += k) })) void r;
    expect(n).toBe(gz.length);
  });

  it.each([
    [
      "truncated",
      (gz: Buffer) => gz.subarray(0, gz.length - 12),
      /^<stdin>: truncated gzip data: unexpected end of file after \d+ compressed bytes/,
    ],
    [
      "corrupt",
      (gz: Buffer) => Buffer.concat([gz.subarray(0, 10), Buffer.alloc(40, 0xff)]),
      /^<stdin>: corrupt gzip data: /,
    ],
  ])("a %s gzip stream is a CliError with exit code 1", async (_name, mangle, message) => {
    const gz = mangle(gzipSync("line\n".repeat(1000)));
    const err = await collect(readBytes("-", { stdin: chunked(gz) })).catch((e: unknown) => e);
    expect(err).toMatchObject({
      name: "CliError",
      exitCode: 1,
      message: expect.stringMatching(message),
    });
  });

  it("a missing file is a CliError with exit code 2", async () => {
    const err = await collect(readBytes(join(dir, "nope"))).catch((e: unknown) => e);
    expect(err).toMatchObject({
      name: "CliError",
      exitCode: 2,
      message: `${join(dir, "nope")}: cannot read: no such file or directory`,
    });
  });
});

describe("openOutput", () => {
  it("renames into place on commit and leaves no temporary file", async () => {
    const path = join(dir, "out.txt");
    const out = openOutput(path);
    await out.write("one\n");
    await out.write("two\n");
    await expect(readFile(path)).rejects.toThrow(/ENOENT/);
    await out.commit();
    expect(await readFile(path, "utf8")).toBe("one\ntwo\n");
    expect((await readdir(dir)).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("abort keeps the previous file and removes the temporary one", async () => {
    const path = join(dir, "keep.txt");
    await writeFile(path, "old\n");
    const out = openOutput(path);
    await out.write("new\n");
    await out.abort();
    expect(await readFile(path, "utf8")).toBe("old\n");
    expect((await readdir(dir)).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("a directory that does not exist is a CliError naming the path", async () => {
    const path = join(dir, "no", "such", "dir.txt");
    const out = openOutput(path);
    const err = await (async () => {
      await out.write("x\n");
      await out.commit();
    })().catch((e: unknown) => e);
    expect(err).toMatchObject({
      exitCode: 2,
      message: `${path}: cannot write: no such file or directory`,
    });
  });
});
