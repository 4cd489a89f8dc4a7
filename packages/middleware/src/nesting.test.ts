import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Event, Level } from "@kaudit/api";
import { createLogSink } from "@kaudit/sinks";
import { afterEach, describe, expect, it } from "vitest";
import {
  ANNOTATION_REQUEST_OBJECT_OMITTED,
  ANNOTATION_RESPONSE_OBJECT_OMITTED,
  logRequestObject,
  logResponseObject,
  withAudit,
} from "./index";
import { fixedPolicy, listen, request } from "./test-helpers";

// Issue 12 item 1: a body nested thousands deep must not crash encoding, and the request's
// ResponseComplete event must still reach the (real) log: the body is left out with the reason.

const dirs: string[] = [];
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await (closers.pop() as () => Promise<void>)();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const deepText = (n: number, arrays = false) =>
  arrays ? `${"[".repeat(n)}1${"]".repeat(n)}` : `${'{"a":'.repeat(n)}1${"}".repeat(n)}`;
function deepValue(n: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < n; i++) v = { a: v };
  return v;
}

/** Reads the body, then refuses the request as the demo refuses an anonymous create (403 Status). */
function forbidden(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  req.on("end", () => {
    res.writeHead(403, { "Content-Type": "application/json" });
    res.end(
      JSON.stringify({
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message: 'pods is forbidden: User "system:anonymous" cannot create resource "pods"',
        reason: "Forbidden",
        code: 403,
      }),
    );
  });
}

/** Echoes the body it read (so the response nests as deep as the request). */
function echo(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    res.writeHead(201, { "Content-Type": "application/json" });
    res.end(Buffer.concat(chunks));
  });
}

/** Runs one request through withAudit + createLogSink; returns the log's events. */
async function logged(
  level: Level,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  body: string,
  maxBodyDepth?: number,
): Promise<{ status: number; events: Event[]; lines: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), "kaudit-nesting-"));
  dirs.push(dir);
  const path = join(dir, "audit.log");
  const sink = createLogSink({ path, maxSize: 0 });
  const srv = await listen(withAudit(handler, { sink, policy: fixedPolicy(level), maxBodyDepth }));
  closers.push(srv.close);
  const r = await request(srv.port, {
    method: "POST",
    path: "/api/v1/namespaces/default/pods",
    headers: { "Content-Type": "application/json" },
    body,
  });
  // ResponseComplete is emitted once the response has gone out: wait for the second line.
  const until = Date.now() + 5_000;
  let lines: string[] = [];
  while (Date.now() < until) {
    await new Promise((res) => setTimeout(res, 20));
    lines = readFileSync(path, "utf8").split("\n").filter(Boolean);
    if (lines.length >= 2) break;
  }
  await sink.shutdown();
  return { status: r.status, lines, events: lines.map((l) => JSON.parse(l) as Event) };
}

describe("body capture nesting limit (issue 12 item 1)", () => {
  it.each([5_000, 6_000, 100_000])(
    "a request body nested %i deep is recorded as omitted; ResponseComplete is written",
    async (n) => {
      const { status, events } = await logged("RequestResponse", forbidden, deepText(n));
      expect(status).toBe(403);
      expect(events.map((e) => e.stage)).toEqual(["RequestReceived", "ResponseComplete"]);
      const rc = events[1] as Event;
      expect(rc.requestObject).toBeUndefined();
      expect(rc.annotations?.[ANNOTATION_REQUEST_OBJECT_OMITTED]).toBe(
        "body nests deeper than 1000 levels",
      );
      expect(rc.responseStatus).toMatchObject({ code: 403, reason: "Forbidden" });
      expect(rc.responseObject).toMatchObject({ kind: "Status", code: 403 });
    },
  );

  it("a response body nested 6,000 deep (arrays) is omitted too, at RequestResponse", async () => {
    const { events } = await logged("RequestResponse", echo, deepText(6_000, true));
    const rc = events[1] as Event;
    expect(rc.stage).toBe("ResponseComplete");
    expect(rc.responseStatus?.code).toBe(201);
    expect(rc.annotations).toEqual({
      [ANNOTATION_REQUEST_OBJECT_OMITTED]: "body nests deeper than 1000 levels",
      [ANNOTATION_RESPONSE_OBJECT_OMITTED]: "body nests deeper than 1000 levels",
    });
  });

  it("bodies at the limit are kept byte for byte; maxBodyDepth moves the limit", async () => {
    const atLimit = await logged("RequestResponse", echo, deepText(1_000));
    expect(atLimit.lines[1]).toContain(`"requestObject":${deepText(1_000)}`);
    expect(atLimit.lines[1]).toContain(`"responseObject":${deepText(1_000)}`);
    const narrowed = await logged("Request", echo, deepText(11), 10);
    expect(narrowed.events[1]?.annotations?.[ANNOTATION_REQUEST_OBJECT_OMITTED]).toBe(
      "body nests deeper than 10 levels",
    );
  });

  it("objects a handler logs explicitly are held to the same limit", async () => {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      logRequestObject(req, deepValue(100_000));
      logResponseObject(req, deepValue(5_000));
      req.resume();
      req.on("end", () => res.end());
    };
    const { events } = await logged("RequestResponse", handler, "{}");
    const rc = events[1] as Event;
    expect(rc.stage).toBe("ResponseComplete");
    expect(rc.requestObject).toBeUndefined();
    expect(rc.responseObject).toBeUndefined();
    expect(rc.annotations?.[ANNOTATION_REQUEST_OBJECT_OMITTED]).toBe(
      "body nests deeper than 1000 levels",
    );
    expect(rc.annotations?.[ANNOTATION_RESPONSE_OBJECT_OMITTED]).toBe(
      "body nests deeper than 1000 levels",
    );
  });
});
