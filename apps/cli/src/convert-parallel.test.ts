import { readFileSync } from "node:fs";
import { decodeEvent } from "@kaudit/api";
import { formatLegacyLine } from "@kaudit/legacy";
import type { Problem } from "@kaudit/sources";
import { describe, expect, it } from "vitest";
import { random } from "../test/random";
import { convertInPieces, cutPoint, type PieceConverter } from "./convert-parallel";
import { convertPiece, type PieceRequest, type PieceResult } from "./convert-piece";

// convertInPieces with the pieces converted in this thread (the worker runs the same
// convertPiece): its output, problems and counts must be those of reading the whole input in
// one go, whatever the piece size, with problems on the pieces' first and last lines, and with
// pieces that end inside something the next lines continue.

const fixture = (name: string) =>
  readFileSync(new URL(`../test/__fixtures__/${name}`, import.meta.url), "utf8");
const lines = (text: string) => text.split("\n").filter((l) => l !== "");

const v1 = lines(fixture("audit2rbac-demo.v1.jsonl"));
const legacy = v1.map((l) => formatLegacyLine(decodeEvent(l)));
const old = [
  ...lines(fixture("v1alpha1.k8s-1.7-docs.jsonl")),
  ...lines(fixture("create_nginx_pod_privileged.json")),
];
// (A JSON line cut short is not among them: it may begin a multi-line document, so a piece that
// ends with one is read on in order — the test of that below.)
const broken = [
  "nope",
  "2017-09-05T06:08:19Z AUDIT: id=unquoted",
  '{"kind":"Event","apiVersion":"audit.k8s.io/v1","stage":"Bogus"}',
];

/** Corpus JSON lines (v1, v1alpha1, v1beta1) and legacy G5 lines, one in five broken. */
function mixed(n: number, seed: number): string {
  const rnd = random(seed);
  const pick = (xs: string[]) => xs[Math.floor(rnd() * xs.length)]!;
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = rnd();
    out.push(r < 0.2 ? pick(broken) : r < 0.5 ? pick(legacy) : r < 0.8 ? pick(v1) : pick(old));
  }
  return `${out.join("\n")}\n`;
}

async function* chunks(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

interface Run {
  out: Buffer;
  problems: Problem[];
  events: number;
  totals: { read: number; dropped: number; skipped: number };
  pieces: { firstLine: number; lines: number }[];
  inOrderFrom: number[];
}

const NAME = "in.log";

/** Replays a piece's parts into a run's output and problems. */
function replay(r: PieceResult, run: Run, strict: boolean): boolean {
  let from = 0;
  for (const p of r.parts) {
    if (typeof p === "number") {
      run.out = Buffer.concat([run.out, r.out.subarray(from, p)]);
      from = p;
    } else {
      run.problems.push(p);
      if (strict) return true;
    }
  }
  return false;
}

async function inPieces(input: Buffer, pieceBytes: number, strict = false): Promise<Run> {
  const run: Run = {
    out: Buffer.alloc(0),
    problems: [],
    events: 0,
    totals: { read: 0, dropped: 0, skipped: 0 },
    pieces: [],
    inOrderFrom: [],
  };
  const pool: PieceConverter = {
    size: 2,
    convert: (p: PieceRequest) => {
      run.pieces.push({
        firstLine: p.firstLine,
        lines: Buffer.from(p.bytes).toString("utf8").split("\n").length - 1,
      });
      return convertPiece(p);
    },
  };
  run.totals = await convertInPieces(
    {
      name: NAME,
      to: "json",
      strict,
      bytes: chunks(input, 1000),
      pieceBytes,
      startBytes: pieceBytes * 4,
      pool: () => pool,
    },
    {
      write: async (b) => {
        run.out = Buffer.concat([run.out, b]);
      },
      problem: async (p) => {
        run.problems.push(p);
        return strict;
      },
      wrote: (n) => {
        run.events += n;
      },
      // Reading on in order: the same reader over the rest, in one piece that ends the input.
      inOrder: async (bytes, firstLine) => {
        run.inOrderFrom.push(firstLine);
        const parts: Buffer[] = [];
        for await (const b of bytes) parts.push(Buffer.from(b));
        const r = await convertPiece({
          name: NAME,
          bytes: Buffer.concat(parts),
          firstLine,
          to: "json",
          strict,
        });
        if (!replay(r, run, strict)) run.events += r.events;
        return r;
      },
    },
  );
  return run;
}

/** The reference: the whole input read as one piece from line 1. */
async function whole(input: Buffer, strict = false) {
  const r = await convertPiece({ name: NAME, bytes: input, firstLine: 1, to: "json", strict });
  const run = { out: Buffer.alloc(0), problems: [] as Problem[] } as Run;
  replay(r, run, strict);
  return { out: run.out, problems: run.problems, events: r.events, totals: r };
}

describe("convertInPieces: the output of reading the whole input in one go", () => {
  it.each([600, 1500, 5000])(
    "mixed corpus lines, one in five broken, pieces of ~%i bytes",
    async (pieceBytes) => {
      const input = Buffer.from(mixed(800, pieceBytes));
      const want = await whole(input);
      const got = await inPieces(input, pieceBytes);
      expect(got.inOrderFrom).toEqual([]);
      expect(got.pieces.length).toBeGreaterThan(input.length / pieceBytes / 2);
      expect(got.out.equals(want.out)).toBe(true);
      expect(got.problems).toEqual(want.problems);
      expect(got.events).toBe(want.events);
      expect(got.totals).toEqual({
        read: want.totals.read,
        dropped: want.totals.dropped,
        skipped: want.totals.skipped,
      });
      // Problems on the first and on the last line of pieces (edges of the cut) were covered.
      const problemLines = new Set(got.problems.map((p) => p.line));
      expect(got.pieces.some((p) => problemLines.has(p.firstLine))).toBe(true);
      expect(got.pieces.some((p) => problemLines.has(p.firstLine + p.lines - 1))).toBe(true);
      // The pieces cover every line once, in order.
      for (let i = 1; i < got.pieces.length; i++) {
        const prev = got.pieces[i - 1]!;
        expect(got.pieces[i]!.firstLine).toBe(prev.firstLine + prev.lines);
      }
    },
  );

  it("a piece that ends inside a document or a waiting legacy request: read on in order from it", async () => {
    const head = mixed(200, 7);
    const basic = fixture("basic-audit.k8s-1.6-docs.log"); // request and response lines apart
    const list = fixture("v1beta1.eventlist-webhook.k8s-1.8-docs.json"); // a pretty-printed EventList
    const cut = '{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":\n';
    const input = Buffer.from(`${head}${basic}${list}${head}${cut}${head}`);
    const want = await whole(input);
    for (const pieceBytes of [300, 700]) {
      const got = await inPieces(input, pieceBytes);
      expect(got.out.equals(want.out)).toBe(true);
      expect(got.problems.map((p) => p.line)).toEqual(want.problems.map((p) => p.line));
      expect(got.problems).toEqual(want.problems);
      expect(got.events).toBe(want.events);
      // Cut into pieces up to the legacy request lines, in order from there on.
      expect(got.inOrderFrom).toHaveLength(1);
      expect(got.inOrderFrom[0]!).toBeGreaterThan(1);
      expect(got.inOrderFrom[0]!).toBeLessThanOrEqual(lines(head).length + 1);
    }
  });

  it("--strict: the first problem by line order, the lines before it, nothing after", async () => {
    const input = Buffer.from(mixed(400, 3));
    const want = await whole(input, true);
    expect(want.problems).toHaveLength(1);
    for (const pieceBytes of [500, 2000]) {
      const got = await inPieces(input, pieceBytes, true);
      expect(got.problems).toEqual(want.problems);
      expect(got.out.equals(want.out)).toBe(true);
    }
  });

  it("a small input starts no worker", async () => {
    const input = Buffer.from(mixed(20, 1));
    const got = await inPieces(input, input.length);
    expect(got.pieces).toEqual([]);
    expect(got.inOrderFrom).toEqual([1]);
    expect(got.out.equals((await whole(input)).out)).toBe(true);
  });
});

describe("cutPoint", () => {
  it("cuts after a newline near the target, never before a BOM or 0x1f, -1 without one", () => {
    const b = (s: string) => Buffer.from(s, "latin1");
    expect(cutPoint(b("aa\nbb\ncc\ndd"), 4)).toBe(3);
    expect(cutPoint(b("aa\nbb\ncc\ndd"), 6)).toBe(6);
    expect(cutPoint(b("aa\n\xef\xbb\xbfb\ncc"), 4)).toBe(8);
    expect(cutPoint(b("aa\n\x1fb\ncc"), 3)).toBe(6);
    expect(cutPoint(b("aaaa\n"), 2)).toBe(-1); // the next line's first byte is not known yet
    expect(cutPoint(b("aaaaaa"), 2)).toBe(-1);
  });
});
