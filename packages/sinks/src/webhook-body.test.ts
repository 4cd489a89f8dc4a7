import { readFileSync } from "node:fs";
import { decodeEvent, type Event, encodeEventList } from "@kaudit/api";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeEvent, eventListBody } from "./encode";
import { testEvent } from "./testing/events";
import { eventListBuffer } from "./webhook-body";

const corpus = ["audit2rbac-demo.v1.jsonl", "rbac-tool-auditgen-01.v1.jsonl"].flatMap((f) =>
  readFileSync(new URL(`./__fixtures__/events/${f}`, import.meta.url), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => decodeEvent(l)),
);

// Code units a UTF-8 writer can get wrong: multi-byte, astral (a surrogate pair), lone
// surrogates (written as U+FFFD), and the ones kube escapes.
const unit = fc.oneof(
  fc.constantFrom("é", "😀", "\ud800", "\udc00", "\u2028", "<", "&", '"', "\\", "\u0000", "\ufffd"),
  fc.string({ unit: "binary", maxLength: 3 }),
  fc.string({ maxLength: 8 }),
);
const text = fc.array(unit, { maxLength: 6 }).map((xs) => xs.join(""));
const event = fc
  .record({ username: text, uri: text, ua: text, reason: text, body: fc.option(text) })
  .map(
    ({ username, uri, ua, reason, body }): Event =>
      testEvent({
        user: { username, groups: [username, "system:authenticated"] },
        requestURI: uri,
        userAgent: ua,
        annotations: { "authorization.k8s.io/reason": reason },
        ...(body === null ? {} : { level: "Request", requestObject: { text: body, [body]: 1 } }),
      }),
  );

describe("eventListBuffer", () => {
  it("writes the corpus as kube's webhook body, byte for byte, in batches of every size", () => {
    expect(corpus.length).toBeGreaterThan(30);
    const lines = corpus.map(encodeEvent);
    for (const size of [0, 1, 2, 7, lines.length]) {
      for (let i = 0; i + size <= lines.length; i += Math.max(size, 1)) {
        const batch = lines.slice(i, i + size);
        const body = eventListBuffer(batch);
        expect(body.equals(Buffer.from(eventListBody(batch)))).toBe(true);
        expect(body.toString("utf8")).toBe(`${encodeEventList(corpus.slice(i, i + size))}\n`);
        if (size === 0) break;
      }
    }
  });

  it("is the empty EventList for no events", () => {
    expect(eventListBuffer([]).toString()).toBe(
      '{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[]}\n',
    );
  });

  it("matches Buffer.from(eventListBody(…)) on fuzzed events: multi-byte, astral, lone surrogates", () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 12 }), (events) => {
        const lines = events.map(encodeEvent);
        expect(eventListBuffer(lines).equals(Buffer.from(eventListBody(lines)))).toBe(true);
      }),
      { numRuns: 300, seed: 19 },
    );
  });

  it("writes a line without the Event prefix as it is, like encodedEventsToList", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(text, event.map(encodeEvent)), { maxLength: 8 }), (lines) => {
        expect(eventListBuffer(lines).equals(Buffer.from(eventListBody(lines)))).toBe(true);
      }),
      { numRuns: 300, seed: 19 },
    );
  });
});
