import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  decodeEvent,
  decodeEventList,
  type Event,
  encodeEvent,
  upgradeEvent,
  validateEvent,
} from "@kaudit/api";
import { formatLegacyLine, legacyToEvents } from "@kaudit/legacy";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIX, kaudit } from "./helpers";

// Issue 19 goal 1: `kaudit convert --to json` writes exactly @kaudit/api's encodeEvent of the
// events, whatever path the reader takes to them. The expected bytes are built here from the
// public pieces one by one — decodeEvent / decodeEventList, upgradeEvent, legacyToEvents,
// validateEvent, encodeEvent — not from @kaudit/sources' reader, which convert itself uses.

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "kaudit-convert-exact-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** What convert must write for one decoded kube object, or why it must refuse it. */
function expectKube(value: unknown, listVersion?: string): { line: string } | { problem: true } {
  const kind = (value as { kind?: unknown }).kind;
  if (kind !== undefined && kind !== "Event") return { problem: true };
  const event = upgradeEvent(value, listVersion === undefined ? {} : { apiVersion: listVersion });
  if (!validateEvent(event).ok) return { problem: true };
  return { line: encodeEvent(event) };
}

function expectLegacy(events: Event[]): string[] {
  return events.map((e) => {
    if (!validateEvent(e).ok) throw new Error("a corpus legacy event is invalid");
    return encodeEvent(e);
  });
}

async function legacyEvents(lines: string[]): Promise<(Event | undefined)[]> {
  const out: (Event | undefined)[] = [];
  for await (const r of legacyToEvents(lines)) out.push("event" in r ? r.event : undefined);
  return out;
}

/** convert's stdout lines and the line numbers of the problems it reported. */
async function convert(
  file: string,
  args: string[] = [],
): Promise<{ lines: string[]; problemLines: number[] }> {
  const out = join(tmp, "out.jsonl");
  const r = await kaudit(["convert", ...args, file, "-o", out]);
  const text = await readFile(out, "utf8").catch(() => "");
  const problemLines = [...r.stderr.matchAll(/^[^\n]*?:(\d+):\d+: /gm)].map((m) => Number(m[1]));
  return { lines: text === "" ? [] : text.slice(0, -1).split("\n"), problemLines };
}

describe("kaudit convert --to json writes encodeEvent's bytes", () => {
  it.each([
    "v1alpha1.k8s-1.7-docs.jsonl",
    "audit2rbac-demo.v1.jsonl",
    "rbac-tool-auditgen-01.v1.jsonl",
    "rbac-tool-auditgen-02.v1.jsonl",
    "create_nginx_pod_privileged.json",
    "create_secret.json",
    "exec_pod.json",
    "fal_01_003.json",
  ])("corpus JSON lines: %s", async (name) => {
    const lines = (await readFile(join(FIX, name), "utf8")).split("\n").filter((l) => l !== "");
    const want = lines.map((l) => expectKube(decodeEvent(l)));
    const got = await convert(join(FIX, name));
    expect(got.lines).toEqual(want.flatMap((w) => ("line" in w ? [w.line] : [])));
    expect(got.problemLines.length > 0).toBe(want.some((w) => "problem" in w));
  });

  it("corpus EventList document: v1beta1.eventlist-webhook.k8s-1.8-docs.json", async () => {
    const name = "v1beta1.eventlist-webhook.k8s-1.8-docs.json";
    const list = decodeEventList(await readFile(join(FIX, name), "utf8"));
    const want = list.items.map((e) => expectKube(e, list.apiVersion));
    const got = await convert(join(FIX, name));
    expect(got.lines).toEqual(want.map((w) => ("line" in w ? w.line : "")));
    expect(got.problemLines).toEqual([]);
  });

  it.each(["basic-audit.k8s-1.6-docs.log", "advanced-legacy.k8s-1.7-docs.log"])(
    "corpus legacy lines: %s",
    async (name) => {
      const lines = (await readFile(join(FIX, name), "utf8")).split("\n");
      const events = (await legacyEvents(lines)).filter((e): e is Event => e !== undefined);
      expect(events.length).toBeGreaterThan(0);
      const got = await convert(join(FIX, name));
      expect(got.lines).toEqual(expectLegacy(events));
      expect(got.problemLines).toEqual([]);
    },
  );

  it("fuzzed JSON and legacy lines, valid and not: the same bytes, the same lines refused", async () => {
    // Seeds: every JSON line of the corpus (v1alpha1, v1beta1, v1).
    const seeds: Record<string, unknown>[] = [];
    for (const name of [
      "v1alpha1.k8s-1.7-docs.jsonl",
      "audit2rbac-demo.v1.jsonl",
      "rbac-tool-auditgen-01.v1.jsonl",
      "create_nginx_pod_privileged.json",
      "create_configmap_sensitive_values.json",
    ]) {
      for (const l of (await readFile(join(FIX, name), "utf8")).split("\n"))
        if (l.startsWith("{")) seeds.push(JSON.parse(l) as Record<string, unknown>);
    }
    // Strings where the writers differ: HTML characters, U+2028/2029, controls, lone surrogates, non-ASCII.
    const text = fc.oneof(
      fc.string({ unit: "binary", maxLength: 12 }),
      fc.constantFrom("<a&b>", "\u2028\u2029", "\ud800", "x\udc00y", "\u0000\u001f", "é日本", ""),
    );
    const time = fc.oneof(
      fc.constantFrom(
        "2017-07-12T11:02:43Z",
        "2018-10-25T14:09:12.123456Z",
        "2018-10-25T14:09:12.1234567891+02:00",
        "2018-10-25T14:09:12.5-11:30",
        "not a time",
        "",
      ),
      fc.constant(null),
    );
    const field = fc.constantFrom(
      "apiVersion",
      "auditID",
      "stage",
      "level",
      "verb",
      "requestURI",
      "userAgent",
      "user",
      "sourceIPs",
      "annotations",
      "requestObject",
      "responseObject",
      "requestReceivedTimestamp",
      "stageTimestamp",
      "timestamp",
      "metadata",
      "objectRef",
      "responseStatus",
      "unknownField",
    );
    const value = fc.oneof(
      text,
      time,
      fc.constantFrom(
        "audit.k8s.io/v1alpha1",
        "audit.k8s.io/v1beta1",
        "audit.k8s.io/v1",
        "RequestResponse",
        "ResponseComplete",
      ),
      fc.record({ username: text, groups: fc.array(text, { maxLength: 3 }) }),
      fc.dictionary(text, text, { maxKeys: 3 }),
      fc.jsonValue({ maxDepth: 3 }),
      fc.constant(undefined),
    );
    const jsonLine = fc
      .tuple(fc.constantFrom(...seeds), fc.array(fc.tuple(field, value), { maxLength: 3 }))
      .map(([seed, changes]) => {
        const e: Record<string, unknown> = structuredClone(seed);
        for (const [k, v] of changes) {
          if (v === undefined) delete e[k];
          else e[k] = v;
        }
        return JSON.stringify(e);
      });
    const legacyEvent = fc.record({
      kind: fc.constant("Event" as const),
      apiVersion: fc.constant("audit.k8s.io/v1"),
      level: fc.constant("Metadata" as const),
      auditID: text,
      stage: fc.constantFrom("ResponseComplete", "RequestReceived", "Panic", "Bogus", ""),
      requestURI: fc.constantFrom("/api/v1/namespaces/default/pods", "/healthz", "/apis/x?y=<z>"),
      verb: fc.constantFrom("get", "list", "create", "watch"),
      user: fc.record({ username: text, groups: fc.array(text, { maxLength: 2 }) }),
      sourceIPs: fc.array(fc.constantFrom("10.0.0.1", "::1"), { minLength: 1, maxLength: 1 }),
      userAgent: text,
      responseStatus: fc.record({ metadata: fc.constant({}), code: fc.constantFrom(200, 403) }),
      requestReceivedTimestamp: fc.constantFrom(
        "2026-11-22T10:04:05.123456Z",
        "2017-09-05T06:08:19.885328047-04:00",
      ),
      stageTimestamp: fc.constant(null),
    }) as fc.Arbitrary<Event>;
    const legacyLine = legacyEvent.map((e) => formatLegacyLine(e));
    const lines = fc.sample(fc.oneof(jsonLine, legacyLine), {
      numRuns: 1500,
      ...(process.env.CI ? { seed: 20261201 } : {}),
    });
    const file = join(tmp, "fuzz.log");
    await writeFile(file, `${lines.join("\n")}\n`);

    const want: string[] = [];
    const refused: number[] = [];
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i]!;
      let w: { line: string } | { problem: true };
      if (l.startsWith("{")) w = expectKube(decodeEvent(l));
      else {
        // G5 lines stand alone: one event per line.
        const [e] = await legacyEvents([l]);
        w = e !== undefined && validateEvent(e).ok ? { line: encodeEvent(e) } : { problem: true };
      }
      if ("line" in w) want.push(w.line);
      else refused.push(i + 1);
    }
    // Both kinds of outcome must be common, or this would test little.
    expect(want.length).toBeGreaterThan(lines.length / 4);
    expect(refused.length).toBeGreaterThan(lines.length / 20);

    const got = await convert(file);
    const gotRefused = [...new Set(got.problemLines)];
    const onlyOurs = refused.filter((n) => !gotRefused.includes(n)).slice(0, 3);
    if (onlyOurs.length > 0)
      expect.fail(
        `convert wrote lines expected to be refused: ${onlyOurs.map((n) => `${n}: ${lines[n - 1]}`).join("\n")}`,
      );
    expect(got.lines.length).toBe(want.length);
    for (let i = 0; i < want.length; i++) {
      if (got.lines[i] !== want[i]) expect.fail(`output line ${i + 1} differs`);
    }
    expect([...new Set(got.problemLines)]).toEqual(refused);

    // On worker threads, cut into ~1 KB pieces (problems fall on the pieces' edges): the same.
    const parallel = await convert(file, ["--jobs", "2", "--piece-bytes", "1024"]);
    expect(parallel.problemLines).toEqual(got.problemLines);
    expect(parallel.lines.length).toBe(got.lines.length);
    for (let i = 0; i < got.lines.length; i++) {
      if (parallel.lines[i] !== got.lines[i]) expect.fail(`--jobs 2: output line ${i + 1} differs`);
    }
  });
});
