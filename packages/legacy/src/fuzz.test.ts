import { type Event, validateEvent } from "@kaudit/api";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  isConvertedEventValid,
  type LegacyConversionResult,
  LegacyConverter,
  legacyToEvents,
} from "./convert";
import { LegacyParseError } from "./errors";
import { formatLegacyLine } from "./format";
import { goQuote, readGoQuoted } from "./go-quote";
import { parseLegacyLine } from "./parse";

// Any code point, lone surrogates included; plus the characters that matter most.
const codeUnit = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '"',
      "\\",
      "\n",
      "\r",
      "\t",
      "\x00",
      "\x7f",
      "\u00a0",
      "\u2028",
      "\ufeff",
      "\ufffd",
      "\ud800",
      "\udc00",
      "😀",
      "é",
      "<",
      " AUDIT: ",
    ),
  },
  {
    weight: 2,
    arbitrary: fc
      .integer({ min: 0, max: 0x10ffff })
      .map((cp) =>
        cp >= 0xd800 && cp <= 0xdfff ? String.fromCharCode(cp) : String.fromCodePoint(cp),
      ),
  },
);
const text = fc.string({ unit: codeUnit, maxLength: 30 });
const placeholderOr = (a: fc.Arbitrary<string>) =>
  fc.oneof(
    { weight: 5, arbitrary: a },
    {
      weight: 1,
      arbitrary: fc.constantFrom("<none>", "<self>", "<lookup>", "<unknown>", "<nil>", ""),
    },
  );

const microTime = fc
  .date({
    min: new Date("0001-01-01T00:00:01Z"),
    max: new Date("9999-12-31T23:59:59Z"),
    noInvalidDate: true,
  })
  .chain((d) =>
    fc
      .integer({ min: 0, max: 999 })
      .map((us) => `${d.toISOString().slice(0, 23)}${String(us).padStart(3, "0")}Z`),
  );

const userInfo = fc.record(
  { username: placeholderOr(text), groups: fc.array(placeholderOr(text), { maxLength: 4 }) },
  { requiredKeys: [] },
);

const eventArb: fc.Arbitrary<Event> = fc.record(
  {
    level: fc.constant("Metadata" as const),
    auditID: text,
    stage: fc.constantFrom(
      "RequestReceived",
      "ResponseStarted",
      "ResponseComplete",
      "Panic",
    ) as fc.Arbitrary<Event["stage"]>,
    requestURI: text,
    verb: text,
    user: userInfo,
    impersonatedUser: userInfo,
    sourceIPs: fc.array(placeholderOr(text), { maxLength: 3 }),
    userAgent: text,
    objectRef: fc.record({ namespace: placeholderOr(text), resource: text }, { requiredKeys: [] }),
    responseStatus: fc.record(
      { code: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }) },
      { requiredKeys: [] },
    ),
    requestReceivedTimestamp: fc.option(microTime, { nil: null }),
  },
  { requiredKeys: ["level", "auditID", "stage", "requestURI", "verb", "user"] },
);

/** What the G5 line carries of `e`, as parseLegacyLine reports it (placeholders read as absence). */
function expectedRecord(e: Event) {
  const username = e.user.username ?? "";
  const ip = e.sourceIPs?.[0];
  const imp = e.impersonatedUser;
  const ns = e.objectRef?.namespace;
  const want: Record<string, unknown> = {
    generation: "G5",
    kind: "stage",
    id: e.auditID,
    stage: e.stage,
    method: e.verb,
    userAgent: e.userAgent ?? "",
    uri: e.requestURI,
  };
  if (ip !== undefined && ip !== "<unknown>" && ip !== "<nil>") want.ip = ip;
  if (username !== "" && username !== "<none>") want.user = username;
  if (username !== "" && (e.user.groups?.length ?? 0) > 0) want.groups = e.user.groups;
  if (imp !== undefined && (imp.username ?? "") !== "<self>") want.as = imp.username ?? "";
  if (imp?.groups !== undefined) want.asgroups = imp.groups;
  if (ns !== undefined && ns !== "" && ns !== "<none>") want.namespace = ns;
  if (e.responseStatus !== undefined) want.response = e.responseStatus.code ?? 0;
  return want;
}

describe("fuzz: format → parse", () => {
  it("parse(format(e)) preserves every field the format carries", () => {
    fc.assert(
      fc.property(eventArb, (e) => {
        const line = formatLegacyLine(e);
        expect(line).not.toMatch(/[\n\r]/);
        const { timestamp, ...rest } = parseLegacyLine(line);
        expect(rest).toEqual(expectedRecord(e));
        const rrt = e.requestReceivedTimestamp;
        if (rrt === null || rrt === undefined) expect(timestamp).toBe("0001-01-01T00:00:00Z");
        else
          expect(timestamp).toBe(
            `${rrt.slice(0, 19)}${`.${rrt.slice(20, 26)}`.replace(/\.?0+$/, "")}Z`,
          );
      }),
      { numRuns: 2000 },
    );
  });

  it("legacyToEvents(format(e)) gives back the event's carried fields and formats to the same line", async () => {
    await fc.assert(
      fc.asyncProperty(eventArb, async (e) => {
        // A value spelled like a placeholder (a user literally named "<none>") is read as
        // absence: the format cannot tell them apart (README, "lossy fields").
        fc.pre(!/"<(none|self|lookup|unknown|nil)>"/.test(JSON.stringify(e)));
        const line = formatLegacyLine(e);
        const out: LegacyConversionResult[] = [];
        for await (const r of legacyToEvents([line])) out.push(r);
        expect(out).toHaveLength(1);
        const back = (out[0] as { event: Event }).event;
        expect(back.auditID).toBe(e.auditID);
        expect(back.requestURI).toBe(e.requestURI);
        expect(back.requestReceivedTimestamp ?? null).toBe(e.requestReceivedTimestamp ?? null);
        // Formatting the converted event again is a fixed point (placeholder values aside).
        const again = formatLegacyLine(back);
        expect(parseLegacyLine(again)).toEqual(parseLegacyLine(line));
      }),
      { numRuns: 500 },
    );
  });

  it("goQuote output always decodes back to the input", () => {
    fc.assert(
      fc.property(fc.string({ unit: codeUnit, maxLength: 60 }), (s) => {
        const q = goQuote(s);
        expect(readGoQuoted(q, 0)).toEqual({ value: s, end: q.length });
      }),
      { numRuns: 3000 },
    );
  });
});

const anyText = fc.string({ unit: codeUnit, maxLength: 300 });

function onlyLegacyParseErrors(line: string) {
  try {
    parseLegacyLine(line);
  } catch (e) {
    if (!(e instanceof LegacyParseError)) throw e;
    expect(e.column).toBeGreaterThanOrEqual(1);
    expect(e.column).toBeLessThanOrEqual(line.length + 1);
  }
}

describe("fuzz: parse never throws anything but LegacyParseError", () => {
  it("on random text", () => {
    fc.assert(fc.property(anyText, onlyLegacyParseErrors), { numRuns: 3000 });
  });

  it("on random text after a valid prefix", () => {
    fc.assert(
      fc.property(anyText, (s) => onlyLegacyParseErrors(`2021-04-01T00:00:00Z AUDIT: id="x" ${s}`)),
      { numRuns: 3000 },
    );
  });

  it("on valid lines with bytes inserted, deleted or replaced", () => {
    const mutation = fc.tuple(
      eventArb,
      fc.array(fc.tuple(fc.nat(), fc.nat(3), text), { minLength: 1, maxLength: 4 }),
    );
    fc.assert(
      fc.property(mutation, ([e, edits]) => {
        let line = formatLegacyLine(e);
        for (const [at, del, ins] of edits) {
          const i = at % (line.length + 1);
          line = line.slice(0, i) + ins + line.slice(i + del);
        }
        onlyLegacyParseErrors(line);
      }),
      { numRuns: 3000 },
    );
  });

  it("legacyToEvents never throws and accounts for every non-blank line", async () => {
    const G3 =
      '2017-03-21T03:57:09Z AUDIT: id="a" ip="1" method="GET" user="u" groups="<none>" as="<self>" asgroups="<lookup>" namespace="<none>" uri="/api/v1/pods"';
    const RESP = '2017-03-21T03:57:10Z AUDIT: id="a" response="200"';
    const lineArb = fc.oneof(
      anyText,
      fc.constantFrom(G3, RESP, ""),
      eventArb.map(formatLegacyLine),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(lineArb, { maxLength: 30 }),
        fc.integer({ min: 1, max: 4 }),
        async (lines, maxPending) => {
          let events = 0;
          let errs = 0;
          for await (const r of legacyToEvents(lines, { maxPending })) {
            if ("event" in r) events++;
            else errs++;
          }
          const nonBlank = lines.filter((l) => l.trim().replace(/\ufeff/g, "") !== "").length;
          const responsesPaired = lines.filter((l) => l === RESP).length;
          // Every non-blank line is an event, an error, or a response merged into its request's event.
          expect(events + errs).toBeGreaterThanOrEqual(nonBlank - responsesPaired);
          expect(events).toBeLessThanOrEqual(nonBlank);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("fuzz: isConvertedEventValid never passes an event validateEvent refuses", () => {
  it("on formatted, mutated and re-timed lines of every generation", () => {
    const G3 =
      '2017-03-21T03:57:09Z AUDIT: id="a" ip="1" method="GET" user="u" groups="<none>" as="<self>" asgroups="<lookup>" namespace="<none>" uri="/api/v1/pods"';
    const RESP = '2017-03-21T03:57:10Z AUDIT: id="a" response="200"';
    // Times whose offset moves them out of the years 0000-9999, Go's zero time, ordinary ones.
    const when = fc.constantFrom(
      "0000-01-01T00:30:00+01:00",
      "0000-01-01T00:00:00Z",
      "0001-01-01T00:00:00Z",
      "9999-12-31T23:30:00-01:00",
      "9999-12-31T23:59:59.999999999Z",
      "2017-09-05T06:08:19.885328047-04:00",
    );
    const stage = fc.constantFrom("ResponseComplete", "Panic", "Bogus", "", "requestreceived");
    const retime = (line: string, t: string) => t + line.slice(line.indexOf(" "));
    const line = fc.oneof(
      fc
        .tuple(eventArb, when, stage)
        .map(([e, t, st]) =>
          retime(formatLegacyLine(e), t).replace(/stage="[^"]*"/, `stage="${st}"`),
        ),
      fc.tuple(when, when).map(([a, b]) => [retime(G3, a), retime(RESP, b)].join("\n")),
      fc
        .tuple(eventArb, fc.array(fc.tuple(fc.nat(), fc.nat(3), text), { maxLength: 3 }))
        .map(([e, edits]) => {
          let l = formatLegacyLine(e);
          for (const [at, del, ins] of edits) {
            const i = at % (l.length + 1);
            l = l.slice(0, i) + ins + l.slice(i + del);
          }
          return l;
        }),
    );
    let passed = 0;
    let refused = 0;
    fc.assert(
      fc.property(fc.array(line, { maxLength: 8 }), (lines) => {
        const c = new LegacyConverter();
        const out: LegacyConversionResult[] = [];
        for (const l of lines.join("\n").split("\n")) c.push(l, out);
        c.end(out);
        for (const r of out) {
          if (!("event" in r)) continue;
          const quick = isConvertedEventValid(r.event);
          const ok = validateEvent(r.event).ok;
          if (quick && !ok) expect.fail(`passed but invalid: ${JSON.stringify(r.event)}`);
          if (ok) passed++;
          else refused++;
        }
      }),
      { numRuns: 1500 },
    );
    // Both outcomes were common: the cases that matter were made.
    expect(passed).toBeGreaterThan(500);
    expect(refused).toBeGreaterThan(100);
  });
});
