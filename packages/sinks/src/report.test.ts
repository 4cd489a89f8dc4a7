import { describe, expect, it, vi } from "vitest";
import { buffered } from "./buffered";
import { testEvent } from "./testing/events";
import { MemorySink } from "./testing/memory-sink";

describe("reports nobody listens to", () => {
  it("go to stderr in kube-apiserver's words, with the impacted events as legacy lines", async () => {
    const write = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      const s = buffered(new MemorySink(), { throttleEnable: false });
      await s.shutdown();
      const e = testEvent();
      s.processEvents([e]);
      expect(write).toHaveBeenCalledTimes(1);
      const text = String(write.mock.calls[0]![0]);
      expect(text).toMatch(
        /^Error in audit plugin 'buffered' affecting 1 audit events: audit backend shut down\nImpacted events:\n2026-11-22T10:04:05\.123456Z AUDIT: id="/,
      );
      expect(text).toContain(`id="${e.auditID}" stage="ResponseComplete"`);
      expect(text.endsWith("\n")).toBe(true);
    } finally {
      write.mockRestore();
    }
  });
});
