import { encodeEventList } from "@kaudit/api";
import { describe, expect, it } from "vitest";
import { decodeEncoded, encodeEvent, eventListBody } from "./encode";
import { testEvent } from "./testing/events";

describe("webhook body", () => {
  it("is encodeEventList of the same events plus the encoder's newline", () => {
    const events = [
      testEvent(),
      testEvent({ level: "Request", requestObject: { a: 1.5, b: "<x>" } }),
    ];
    expect(eventListBody(events.map(encodeEvent))).toBe(`${encodeEventList(events)}\n`);
  });

  it("round-trips an encoded event, request body bytes included", () => {
    const line = encodeEvent(testEvent({ level: "Request", requestObject: { n: 1 } })).replace(
      '"requestObject":{"n":1}',
      '"requestObject":{"n":1.0,"big":12345678901234567890}',
    );
    expect(encodeEvent(decodeEncoded(line))).toBe(line);
  });
});
