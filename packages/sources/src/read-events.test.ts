import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { type Event, upgradeEvent } from "@kaudit/api";
import { describe, expect, it } from "vitest";
import { SourceReadError } from "./errors";
import { readEvents } from "./read-events";
import { collect, FIX, plain, stream } from "./test-helpers";

const fix = (p: string) => join(FIX, p);
const falco = readdirSync(fix("events/falco-trace-files")).map(
  (f) => `events/falco-trace-files/${f}`,
);

/** The reference: each line (or the whole file, for a pretty-printed document) JSON.parse'd and upgraded. */
function reference(path: string): Event[] {
  const text = readFileSync(fix(path), "utf8");
  const values: unknown[] = text.trimStart().startsWith("{\n")
    ? [JSON.parse(text)]
    : text
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => JSON.parse(l));
  const out: Event[] = [];
  for (const v of values) {
    const o = v as { kind?: string; apiVersion?: string; items?: unknown[] };
    if (o.kind === "EventList") {
      for (const item of o.items ?? []) out.push(upgradeEvent(item, { apiVersion: o.apiVersion! }));
    } else out.push(upgradeEvent(v));
  }
  return out;
}

describe("kube formats: every corpus file", () => {
  const table: [string, number, number][] = [
    ["events/audit2rbac-demo.v1.jsonl", 37, 0],
    ["events/rbac-tool-auditgen-01.v1.jsonl", 3, 0],
    ["events/rbac-tool-auditgen-02.v1.jsonl", 3, 0],
    ["events/k8s-docs/v1alpha1.k8s-1.7-docs.jsonl", 2, 0],
    ["events/k8s-docs/v1beta1.k8s-1.8-docs.jsonl", 2, 0],
    ["events/k8s-docs/v1alpha1.eventlist-webhook.k8s-1.7-docs.json", 1, 0],
    ["events/k8s-docs/v1beta1.eventlist-webhook.k8s-1.8-docs.json", 1, 0],
    ...falco.map((f): [string, number, number] =>
      f.endsWith("fal_01_003.json")
        ? [f, 0, 7]
        : [f, f.endsWith("create_configmap_sensitive_values.json") ? 6 : 1, 0],
    ),
  ];
  it.each(table)(
    "%s: %i events, %i problems, same as JSON.parse + upgradeEvent",
    async (path, n, p) => {
      const r = await collect(fix(path));
      expect(r.events.length).toBe(n);
      expect(r.problems.length).toBe(p);
      if (p === 0) expect(plain(r.events)).toEqual(plain(reference(path)));
      expect(r.counts.read).toBe(n);
      expect(r.counts.dropped).toBe(p);
      for (const s of r.sources) expect(s.format).toBe("kube");
    },
  );

  it("the 52 falco events, 51 valid, the invalid one with positions", async () => {
    let events = 0;
    const problems = [];
    for (const f of falco) {
      const r = await collect(fix(f));
      events += r.events.length;
      problems.push(...r.problems);
    }
    expect(events).toBe(51);
    expect(problems.every((p) => p.line === 1 && p.column !== undefined)).toBe(true);
    expect(problems.map((p) => p.path)).toContain("kind");
  });

  it.each([
    ["legacy/basic-audit.k8s-1.4-docs.log", 1, 200],
    ["legacy/basic-audit.k8s-1.6-docs.log", 1, 200],
    ["legacy/advanced-legacy.k8s-1.7-docs.log", 2, undefined],
    ["legacy/advanced-legacy.k8s-1.8-docs.log", 2, undefined],
    ["legacy/design-doc.k8s-1.6.missing-spaces.log", 1, 200],
    ["legacy/design-doc.k8s-1.7.missing-spaces.log", 2, undefined],
  ])("%s: %i events via @kaudit/legacy", async (path, n, code) => {
    const r = await collect(fix(path));
    expect(r.problems).toEqual([]);
    expect(r.events.length).toBe(n);
    for (const s of r.sources) expect(s.format).toBe("legacy");
    if (code !== undefined) expect(r.events[0]!.responseStatus?.code).toBe(code);
    else expect(r.events.at(-1)!.stage).toBe("ResponseComplete");
  });
});

const corpusEvents = async (): Promise<Event[]> =>
  (await collect(fix("events/audit2rbac-demo.v1.jsonl"))).events.concat(
    (await collect(fix("events/rbac-tool-auditgen-01.v1.jsonl"))).events,
    (await collect(fix("events/falco-trace-files/create_nginx_pod_privileged.json"))).events,
  );

describe("a line decides only for itself (issue 12 item 5)", () => {
  it("a JSON log whose first event has `User-Agent: x AUDIT: y` is read fully", async () => {
    const events = await corpusEvents();
    const first = { ...events[0]!, userAgent: "x AUDIT: y" };
    const text = [first, ...events.slice(1)].map((e) => JSON.stringify(e)).join("\n");
    const r = await collect(stream(text, 1000));
    expect(r.problems).toEqual([]);
    expect(r.events.length).toBe(events.length);
    expect(r.events[0]!.userAgent).toBe("x AUDIT: y");
  });

  it("legacy lines, JSON lines and a broken line in one file each read as what they are", async () => {
    const legacy = readFileSync(fix("legacy/advanced-legacy.k8s-1.8-docs.log"), "utf8")
      .trim()
      .split("\n");
    const json = readFileSync(fix("events/rbac-tool-auditgen-01.v1.jsonl"), "utf8")
      .trim()
      .split("\n");
    const text = [json[0], legacy[0], "not an audit line", json[1], legacy[1], json[2]].join("\n");
    const r = await collect(stream(text));
    expect(r.events.map((e) => e.auditID)).toEqual([
      JSON.parse(json[0]!).auditID,
      r.events[1]!.auditID,
      JSON.parse(json[1]!).auditID,
      r.events[1]!.auditID,
      JSON.parse(json[2]!).auditID,
    ]);
    expect(r.sources.map((s) => [s.format, s.line])).toEqual([
      ["kube", 1],
      ["legacy", 2],
      ["kube", 4],
      ["legacy", 5],
      ["kube", 6],
    ]);
    expect(r.events.slice(1, 4).map((e) => e.stage)).toEqual([
      "RequestReceived",
      "ResponseComplete",
      "ResponseComplete",
    ]);
    expect(r.problems).toEqual([
      expect.objectContaining({
        line: 3,
        column: 1,
        message: expect.stringContaining("not a JSON line"),
      }),
    ]);
  });

  it("a legacy line taken into a cut-off JSON line's problem does not shift later legacy line numbers", async () => {
    const g5 = readFileSync(fix("legacy/advanced-legacy.k8s-1.8-docs.log"), "utf8").split("\n")[0]!;
    const text = [g5, '{"kind":"Event","auditID":', g5, "nope", "2017-09-05T06:08:19Z AUDIT: id=x"];
    const r = await collect(stream(text.join("\n")));
    expect(r.sources.map((s) => s.line)).toEqual([1]);
    // Before: the converter counted only the lines pushed to it, and said 4 for line 5.
    expect(r.problems.map((p) => [p.line, p.column])).toEqual([
      [3, 14],
      [4, 1],
      [5, 32],
    ]);
  });

  it("a line cut off in the middle is one problem; the lines after it are read", async () => {
    const events = await corpusEvents();
    const lines = events.slice(0, 6).map((e) => JSON.stringify(e));
    const cut = [
      lines[0],
      lines[1]!.slice(0, 200),
      lines[2],
      lines[3]!.slice(0, lines[3]!.indexOf('"user"')),
      lines[4],
      "{",
      lines[5],
    ];
    const r = await collect(stream(cut.join("\n")));
    expect(r.events.map((e) => e.auditID)).toEqual([0, 2, 4, 5].map((i) => events[i]!.auditID));
    expect(r.problems.map((p) => [p.line, p.column !== undefined])).toEqual([
      [2, true],
      [4, true],
      [6, true],
    ]);
    expect(r.counts.dropped).toBe(3);
  });

  it("invalid JSON gets its line and column, and never quotes the input", async () => {
    const r = await collect(stream('{"kind":"Event","auditID":"x","secret":hunter2}\n'));
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatchObject({ line: 1, column: 40 });
    expect(r.problems[0]!.message).not.toContain("hunter2");
  });
});

describe("documents", () => {
  it("a pretty-printed EventList, then JSON lines, then a YAML EventList, in one stream", async () => {
    const events = await corpusEvents();
    const pretty = JSON.stringify(
      { kind: "EventList", apiVersion: "audit.k8s.io/v1", metadata: {}, items: events.slice(0, 3) },
      null,
      2,
    );
    const lines = events
      .slice(3, 5)
      .map((e) => JSON.stringify(e))
      .join("\n");
    const { stringify } = await import("yaml");
    const yaml = `---\n${stringify({ apiVersion: "audit.k8s.io/v1", items: events.slice(5, 8), kind: "EventList" })}`;
    const r = await collect(stream(`${pretty}\n${lines}\n${yaml}`, 33));
    expect(r.problems).toEqual([]);
    expect(plain(r.events)).toEqual(plain(events.slice(0, 8)));
    expect(r.sources[1]).toMatchObject({ record: "items[1]", line: expect.any(Number) });
    expect(r.sources[5]).toMatchObject({ record: "items[0]" });
  });

  it("a problem inside a streamed list item points at the item's field", async () => {
    const events = await corpusEvents();
    const bad = { ...events[1]!, verb: 42 };
    const text = JSON.stringify(
      { kind: "EventList", apiVersion: "audit.k8s.io/v1", items: [events[0], bad, events[2]] },
      null,
      2,
    );
    const r = await collect(stream(text));
    expect(r.events).toHaveLength(2);
    expect(r.problems).toHaveLength(1);
    const lines = text.split("\n");
    const at = lines.findIndex((l) => l.includes('"verb": 42')) + 1;
    expect(r.problems[0]).toMatchObject({ path: "items[1].verb", line: at });
  });

  it("an unfinished document is a problem at its start", async () => {
    const r = await collect(stream('{\n  "kind": "EventList",\n  "items": [\n'));
    expect(r.problems).toEqual([
      expect.objectContaining({
        line: 1,
        column: 1,
        message: expect.stringContaining("incomplete JSON"),
      }),
    ]);
  });

  it("a Policy is not taken for events", async () => {
    const r = await collect(
      stream("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n"),
    );
    expect(r.events).toEqual([]);
    expect(r.problems[0]).toMatchObject({
      line: 2,
      path: "kind",
      message: expect.stringContaining("Policy"),
    });
  });

  it("YAML aliases are bounded by the size they expand to, not only their count", async () => {
    const long = "x".repeat(100_000);
    const refs = Array.from({ length: 60 }, () => "*a").join(", ");
    const text = `kind: Event\nauditID: &a "${long}"\nannotations: { k: [${refs}] }\n`;
    const r = await collect(stream(text), { maxYamlBytes: 4 * 1024 * 1024 });
    expect(r.events).toEqual([]);
    expect(r.problems[0]!.message).toMatch(
      /expands to more than \d+ characters through YAML aliases/,
    );
  });
});

describe("gzip", () => {
  it("by magic bytes, concatenated members, crossing chunk edges", async () => {
    const text = readFileSync(fix("events/audit2rbac-demo.v1.jsonl"));
    const half = text.indexOf("\n", text.length / 2) + 1;
    const gz = Buffer.concat([gzipSync(text.subarray(0, half)), gzipSync(text.subarray(half))]);
    const r = await collect(stream(gz, 100));
    expect(r.problems).toEqual([]);
    expect(r.events).toHaveLength(37);
  });

  it("decompress: false reads gzip's magic bytes as text (bytes a reader already gunzipped)", async () => {
    const gz = gzipSync(readFileSync(fix("events/audit2rbac-demo.v1.jsonl")));
    const r = await collect(stream(gz, 100), { decompress: false });
    expect(r.events).toEqual([]);
    expect(r.problems[0]).toMatchObject({ line: 1, message: expect.stringMatching(/not UTF-8/) });
  });

  it("truncated gzip data throws a SourceReadError of kind gzip", async () => {
    const gz = gzipSync(readFileSync(fix("events/audit2rbac-demo.v1.jsonl")));
    const err = await collect(stream(gz.subarray(0, gz.length - 20))).catch((e: unknown) => e);
    expect(SourceReadError.isInstance(err)).toBe(true);
    expect((err as SourceReadError).kind).toBe("gzip");
  });

  it("a missing file throws a SourceReadError of kind open", async () => {
    const err = await collect(fix("nope.jsonl")).catch((e: unknown) => e);
    expect((err as SourceReadError).kind).toBe("open");
    expect((err as Error).message).toContain("no such file or directory");
  });
});

describe("batches(): the same results in arrays", () => {
  // Every corpus file plus a stream mixing legacy lines, JSON lines, a multi-line document,
  // YAML and broken lines over several chunks: batches() must give exactly what iterating the
  // reader gives, in the same order, with the same counts.
  const mixed = () => {
    let text = "";
    for (const f of [
      "legacy/basic-audit.k8s-1.6-docs.log",
      "legacy/advanced-legacy.k8s-1.7-docs.log",
      "events/audit2rbac-demo.v1.jsonl",
      "events/k8s-docs/v1beta1.eventlist-webhook.k8s-1.8-docs.json",
      "events/falco-trace-files/fal_01_003.json",
    ]) {
      const t = readFileSync(fix(f), "utf8");
      text += `${t.endsWith("\n") ? t : `${t}\n`}not a record\n`;
    }
    return text.repeat(30);
  };
  const inputs: [string, () => Parameters<typeof readEvents>[0]][] = [
    ...["events/audit2rbac-demo.v1.jsonl", "legacy/basic-audit.k8s-1.4-docs.log", ...falco].map(
      (f): [string, () => string] => [f, () => fix(f)],
    ),
    ["a mixed stream over many chunks", () => stream(mixed(), 4096)],
  ];
  it.each(inputs)("%s", async (_name, input) => {
    for (const strict of [false, true]) {
      const one = readEvents(input(), { strict });
      const items: unknown[] = [];
      for await (const r of one) items.push(r);
      const many = readEvents(input(), { strict });
      const batched: unknown[] = [];
      let arrays = 0;
      for await (const b of many.batches()) {
        expect(b.length).toBeGreaterThan(0);
        batched.push(...b);
        arrays++;
      }
      expect(batched).toEqual(items);
      expect(many.counts).toEqual(one.counts);
      expect(arrays).toBeLessThanOrEqual(Math.max(1, items.length));
      if (strict && one.counts.dropped > 0) {
        expect(one.counts.dropped).toBe(1);
        expect("problem" in (batched[batched.length - 1] as object)).toBe(true);
      }
    }
  });

  it("a reader is iterated once, either way", async () => {
    const r = readEvents(fix("events/audit2rbac-demo.v1.jsonl"));
    for await (const _ of r.batches());
    expect(() => r.batches()).toThrow(/only once/);
    expect(() => r[Symbol.asyncIterator]()).toThrow(/only once/);
  });
});

describe("counters and options", () => {
  it("strict stops after the first problem", async () => {
    const r = await collect(stream('{"a":\n{"kind":"Event"}\nnope\n'), { strict: true });
    expect(r.problems).toHaveLength(1);
  });

  it("format makes records of other formats problems", async () => {
    const r = await collect(fix("events/audit2rbac-demo.v1.jsonl"), { format: "gke" });
    expect(r.events).toEqual([]);
    expect(r.problems).toHaveLength(37);
    expect(r.problems[0]!.message).toContain("expected a GKE");
  });

  it("an unknown format is refused", () => {
    expect(() => readEvents("x", { format: "splunk" as never })).toThrow(/format must be one of/);
  });

  it("firstLine: a piece cut where openAtEnd is false reads as inside the whole input", async () => {
    // Legacy basic-audit lines (request and response lines apart), JSON lines, broken lines, a
    // pretty-printed EventList and a YAML document: every cut after a line is tried.
    const basic = readFileSync(fix("legacy/basic-audit.k8s-1.6-docs.log"), "utf8").trim();
    const json = readFileSync(fix("events/rbac-tool-auditgen-01.v1.jsonl"), "utf8").trim();
    const events = await corpusEvents();
    const pretty = JSON.stringify({ kind: "EventList", items: events.slice(0, 2) }, null, 2);
    const { stringify } = await import("yaml");
    const yaml = `---\n${stringify({ kind: "EventList", items: events.slice(2, 3) })}`;
    const text = [basic, json, "nope", pretty, json, "{", yaml].join("\n");
    const lines = text.split("\n");
    const whole = await collect(stream(text, 4096));
    expect(whole.problems.length).toBeGreaterThan(1);
    let open = 0;
    let cuts = 0;
    for (let cut = 1; cut < lines.length; cut++) {
      const a = await collect(stream(`${lines.slice(0, cut).join("\n")}\n`, 4096));
      if (a.counts.openAtEnd) {
        open++;
        continue;
      }
      const b = await collect(stream(lines.slice(cut).join("\n"), 4096), { firstLine: cut + 1 });
      cuts++;
      expect(plain([...a.events, ...b.events])).toEqual(plain(whole.events));
      expect([...a.sources, ...b.sources]).toEqual(whole.sources);
      expect([...a.problems, ...b.problems]).toEqual(whole.problems);
      expect(a.counts.lines + b.counts.lines).toBe(whole.counts.lines);
    }
    // Inside the basic-audit requests, the pretty document and the YAML one: open.
    expect(open).toBeGreaterThan(10);
    expect(cuts).toBeGreaterThan(5);
    expect(() => readEvents("x", { firstLine: 0 })).toThrow(/firstLine must be a positive integer/);
  });

  it("emits end with the counts", async () => {
    const reader = readEvents(fix("events/rbac-tool-auditgen-02.v1.jsonl"));
    let ended: unknown;
    reader.on("end", (c) => {
      ended = c;
    });
    for await (const _ of reader);
    expect(ended).toMatchObject({ lines: 3, read: 3, dropped: 0, skipped: 0, duplicated: 0 });
  });
});
