import { KauditError } from "@kaudit/api";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readEvents } from "./read-events";
import { stream } from "./test-helpers";

// Fuzz over readEvents (issue 12's fuzz suite, the readers' part): whatever the bytes, reading
// ends, only our own error types are thrown, no step takes more than 100 ms of CPU, and no
// `__proto__`/`constructor` key reaches a prototype. Bounded to about 10 s.

const pieces = [
  "{",
  "}",
  "[",
  "]",
  ",",
  ":",
  '"',
  "\\",
  "\n",
  "\r\n",
  "---\n",
  "- ",
  "items:\n",
  "  ",
  '"kind":"Event"',
  '"kind":"EventList"',
  '"apiVersion":"audit.k8s.io/v1beta1"',
  '"items":[',
  '"events":[',
  '"records":[',
  '"message":"{\\"auditID\\":\\"x\\"}[Truncated...]"',
  '"timestamp":1736935200123',
  '"protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","methodName":"io.k8s.core.v1.pods.get","resourceName":"core/v1/pods/x"}',
  '"category":"guard","properties":{"log":"x"}',
  '"__proto__":{"polluted":1}',
  '"constructor":{"prototype":{"polluted":1}}',
  "2017-02-28T15:02:12.592Z AUDIT: ",
  'id="x" stage="ResponseComplete" method="get" uri="/api" response="200"',
  "2025-01-15T10:00:00.123Z ",
  "&a ",
  "*a",
  "kind: Event\n",
  "null",
  "1e999",
  "\u0000",
  "\ufeff",
  "é",
];

const input = fc.oneof(
  fc.array(fc.constantFrom(...pieces), { maxLength: 60 }).map((p) => p.join("")),
  fc.string({ maxLength: 300 }),
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString("latin1")),
);

async function readAll(text: string, chunk: number, timed = true): Promise<void> {
  const it = readEvents(stream(text, chunk), { maxYamlBytes: 64 * 1024 })[Symbol.asyncIterator]();
  for (;;) {
    // CPU time, not wall time: on a shared machine a step can wait for a core longer than it works.
    const t = process.cpuUsage();
    const r = await it.next();
    const used = process.cpuUsage(t);
    if (timed) expect((used.user + used.system) / 1000).toBeLessThan(100);
    if (r.done) return;
  }
}

describe("readEvents fuzz", () => {
  it("ends, throws only its own errors, takes no step over 100 ms, pollutes no prototype", async () => {
    // Warm up (first YAML parse, JIT): the 100 ms bound is for the work, not for loading code.
    await readAll(
      '{"a":1}\nkind: Event\n---\n- a: 1\n2017-02-28T15:02:12.592Z AUDIT: id="x"\n',
      3,
      false,
    );
    const deadline = Date.now() + 10_000;
    await fc.assert(
      fc.asyncProperty(input, fc.integer({ min: 1, max: 64 }), async (text, chunk) => {
        if (Date.now() > deadline) return;
        try {
          await readAll(text, chunk);
        } catch (e) {
          if (!KauditError.isInstance(e)) throw e;
        }
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { numRuns: 2000, interruptAfterTimeLimit: 10_000 },
    );
  }, 30_000);

  it("deep nesting (100,000 brackets) on one line is a problem, not a crash", async () => {
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}\n{"kind":"Event"`;
    const r = readEvents(stream(deep, 4096));
    let problems = 0;
    for await (const x of r) if ("problem" in x) problems++;
    expect(problems).toBeGreaterThan(0);
  });
});
