import fs from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { headOfGzip } from "./file-identity";

const dir = fs.mkdtempSync(path.join(tmpdir(), "kaudit-identity-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("headOfGzip", () => {
  // A backup's head is how a follower knows it again (an empty head made a restart read the
  // backup from the start). Only a prefix of the file is read, and it must still give the head.
  it("gives the first bytes of a large gzip'd backup, and of one cut short", async () => {
    let text = "";
    for (let i = 0; text.length < 2_000_000; i++)
      text += `{"auditID":"${i.toString(36)}-${Math.random().toString(36)}","stage":"ResponseComplete"}\n`;
    const file = path.join(dir, "audit-2026-11-22T10-04-05.123.log.gz");
    fs.writeFileSync(file, gzipSync(text));
    expect(fs.statSync(file).size).toBeGreaterThan(64 * 1024); // only a prefix is read
    const want = Buffer.from(text).subarray(0, 1024);
    for (let round = 0; round < 20; round++) {
      const heads = await Promise.all([1, 2, 3, 4].map(() => headOfGzip(file, 1024)));
      for (const head of heads) expect(head.equals(want)).toBe(true);
    }
    // a file cut short (compression still writing it) gives what is there
    const cut = path.join(dir, "audit-2026-11-22T10-04-06.123.log.gz");
    fs.writeFileSync(cut, fs.readFileSync(file).subarray(0, 3000));
    const partial = await headOfGzip(cut, 1024);
    expect(partial.equals(want)).toBe(true);
  });
});
