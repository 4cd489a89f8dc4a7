import { describe, expect, it } from "vitest";
import { isNotFound, retryTransient } from "./nats-connect";

// The shapes nats.js 2.29 rejects JetStream API calls with.
const notFound = Object.assign(new Error("stream not found"), {
  code: "404",
  api_error: { code: 404, err_code: 10059, description: "stream not found" },
});
const unavailable = Object.assign(new Error("JetStream system temporarily unavailable"), {
  code: "503",
  api_error: {
    code: 503,
    err_code: 10008,
    description: "JetStream system temporarily unavailable",
  },
});

describe("retryTransient", () => {
  it("calls again after a transient failure, saying the first one only", async () => {
    const said: string[] = [];
    let calls = 0;
    const v = await retryTransient(
      "stream KAUDIT",
      async () => {
        if (++calls < 3) throw unavailable;
        return "info";
      },
      (m) => said.push(m),
    );
    expect([v, calls]).toEqual(["info", 3]);
    expect(said).toEqual([
      "stream KAUDIT: JetStream system temporarily unavailable; trying again for up to 30 s",
    ]);
  });

  it("throws not-found at once, and the last failure once the time is up", async () => {
    let calls = 0;
    await expect(
      retryTransient("x", async () => {
        calls++;
        throw notFound;
      }),
    ).rejects.toBe(notFound);
    expect(calls).toBe(1);
    await expect(
      retryTransient("x", async () => Promise.reject(unavailable), undefined, 0),
    ).rejects.toBe(unavailable);
    expect([isNotFound(notFound), isNotFound(unavailable), isNotFound(undefined)]).toEqual([
      true,
      false,
      false,
    ]);
  });
});
