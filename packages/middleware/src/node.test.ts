import type { IncomingMessage, ServerResponse } from "node:http";
import type { Event, Stage } from "@kaudit/api";
import { afterEach, describe, expect, it } from "vitest";
import { withAudit } from "./index";
import {
  fixedPolicy,
  listen,
  MemorySink,
  openRaw,
  recovering,
  request,
  sleep,
} from "./test-helpers";

type Handler = (req: IncomingMessage, res: ServerResponse) => unknown;
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await (closers.pop() as () => Promise<void>)();
});

async function serve(
  handler: Handler,
  sink: MemorySink,
  level: Parameters<typeof fixedPolicy>[0] = "Metadata",
  extra = {},
) {
  const errors: unknown[] = [];
  const srv = await listen(
    recovering(withAudit(handler, { sink, policy: fixedPolicy(level, extra) }), errors),
  );
  closers.push(srv.close);
  return { ...srv, errors };
}

const WATCH = "/api/v1/namespaces/default/pods?watch=true";
const GET = "/api/v1/namespaces/default/pods/p1";

describe("withAudit: the §7.2 sequences over real sockets", () => {
  interface Case {
    name: string;
    path: string;
    handler: Handler;
    /** Cut the connection once RequestReceived arrived instead of waiting for the response. */
    abort?: boolean;
    stages: Stage[];
    codes: (number | undefined)[];
    /** responseStatus.message of the last event. */
    message?: string;
  }
  const cases: Case[] = [
    {
      name: "short-running, returns normally",
      path: GET,
      handler: (_q, s) => s.end("ok"),
      stages: ["RequestReceived", "ResponseComplete"],
      codes: [undefined, 200],
    },
    {
      name: "short-running, writes 404",
      path: GET,
      handler: (_q, s) => {
        s.statusCode = 404;
        s.end("nope");
      },
      stages: ["RequestReceived", "ResponseComplete"],
      codes: [undefined, 404],
    },
    {
      name: "short-running, panics before writing",
      path: GET,
      handler: () => {
        throw new Error("boom");
      },
      stages: ["RequestReceived", "Panic"],
      codes: [undefined, 500],
      message: "APIServer panic'd: boom",
    },
    {
      name: "short-running, async handler rejects after writing",
      path: GET,
      handler: async (_q, s) => {
        s.writeHead(201);
        s.write("partial");
        await sleep(5);
        throw new Error("late");
      },
      stages: ["RequestReceived", "Panic"],
      codes: [undefined, 500],
      message: "APIServer panic'd: late",
    },
    {
      name: "short-running, nothing written, client goes away",
      path: GET,
      handler: () => {},
      abort: true,
      stages: ["RequestReceived", "ResponseComplete"],
      codes: [undefined, 200],
      message: "Connection closed early",
    },
    {
      name: "long-running, returns normally",
      path: WATCH,
      handler: async (_q, s) => {
        s.writeHead(200, { "content-type": "application/json" });
        s.write('{"type":"ADDED","object":{}}\n');
        await sleep(5);
        s.end();
      },
      stages: ["RequestReceived", "ResponseStarted", "ResponseComplete"],
      codes: [undefined, 200, 200],
    },
    {
      name: "long-running, nothing written, client goes away (ResponseStarted synthesized)",
      path: WATCH,
      handler: () => {},
      abort: true,
      stages: ["RequestReceived", "ResponseStarted", "ResponseComplete"],
      codes: [undefined, 200, 200],
      message: "Connection closed early",
    },
    {
      name: "long-running, panics before writing",
      path: WATCH,
      handler: () => {
        throw new Error("watch failed");
      },
      stages: ["RequestReceived", "Panic"],
      codes: [undefined, 500],
      message: "APIServer panic'd: watch failed",
    },
    {
      name: "long-running, writes then panics",
      path: "/api/v1/namespaces/default/pods/p1/log",
      handler: async (_q, s) => {
        s.writeHead(202);
        s.write("line\n");
        await sleep(5);
        throw new Error("stream broke");
      },
      stages: ["RequestReceived", "ResponseStarted", "Panic"],
      codes: [undefined, 202, 500],
      message: "APIServer panic'd: stream broke",
    },
    {
      name: "long-running, flushHeaders starts the response",
      path: "/api/v1/namespaces/default/pods/p1/exec",
      handler: async (_q, s) => {
        s.statusCode = 200;
        s.flushHeaders();
        await sleep(5);
        s.end();
      },
      stages: ["RequestReceived", "ResponseStarted", "ResponseComplete"],
      codes: [undefined, 200, 200],
    },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const sink = new MemorySink();
      const srv = await serve(c.handler, sink);
      let id: string;
      if (c.abort) {
        const sock = await openRaw(srv.port, `GET ${c.path} HTTP/1.1\r\nHost: x\r\n\r\n`);
        const rr = await sink.waitFor((e) => e.stage === "RequestReceived");
        id = rr.auditID;
        sock.destroy();
      } else {
        const r = await request(srv.port, { path: c.path }).catch(() => undefined);
        id =
          (r?.headers["audit-id"] as string) ??
          (await sink.waitFor((e) => e.stage === "RequestReceived")).auditID;
      }
      const evs = await sink.final(id);
      expect(evs.map((e) => e.stage)).toEqual(c.stages);
      expect(evs.map((e) => e.responseStatus?.code)).toEqual(c.codes);
      const last = evs[evs.length - 1] as Event;
      if (c.message) expect(last.responseStatus?.message).toBe(c.message);
      if (c.stages.includes("Panic")) {
        expect(last.responseStatus).toEqual({
          metadata: {},
          status: "Failure",
          message: c.message,
          reason: "InternalError",
          code: 500,
        });
        expect(srv.errors).toHaveLength(1);
      }
      if (c.message === "Connection closed early")
        expect(last.responseStatus?.status).toBe("Success");
      // Nothing further arrives for this request.
      await sleep(20);
      expect(sink.of(id)).toHaveLength(c.stages.length);
    });
  }

  it("level None: no events, handler called, Audit-Id still echoed", async () => {
    const sink = new MemorySink();
    const srv = await serve((_q, s) => s.end("plain"), sink, "None");
    const r = await request(srv.port, { path: GET });
    expect(r.body).toBe("plain");
    expect(r.headers["audit-id"]).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    await sleep(20);
    expect(sink.events).toEqual([]);
  });

  for (const mode of ["sync", "async"] as const) {
    it(`sink refuses RequestReceived (${mode}): handler not called, kube's 500`, async () => {
      const sink = new MemorySink();
      sink.result = false;
      sink.async = mode === "async";
      let called = false;
      const srv = await serve((_q, s) => {
        called = true;
        s.end("should not run");
      }, sink);
      const r = await request(srv.port, { path: '/api/v1/pods?labelSelector=a<b&x="y"' });
      expect(called).toBe(false);
      expect(r.status).toBe(500);
      expect(r.headers["content-type"]).toBe("text/plain; charset=utf-8");
      expect(r.headers["x-content-type-options"]).toBe("nosniff");
      expect(r.body).toBe(
        'Internal Server Error: "/api/v1/pods?labelSelector=a&lt;b&amp;x=\\"y\\"": failed to store audit event\n',
      );
      const id = r.headers["audit-id"] as string;
      await sleep(20);
      expect(sink.stages(id)).toEqual(["RequestReceived"]);
    });
  }

  it("an awaited (blocking) sink delays the handler until RequestReceived is stored", async () => {
    const sink = new MemorySink();
    sink.async = true;
    const order: string[] = [];
    const orig = sink.processEvents.bind(sink);
    sink.processEvents = (evs) => {
      order.push(`sink:${evs[0]?.stage}`);
      return orig(evs);
    };
    const srv = await serve((_q, s) => {
      order.push("handler");
      s.end();
    }, sink);
    const r = await request(srv.port, { path: GET });
    await sink.final(r.headers["audit-id"] as string);
    expect(order).toEqual(["sink:RequestReceived", "handler", "sink:ResponseComplete"]);
  });

  it("omitStages drops exactly the omitted stages", async () => {
    const sink = new MemorySink();
    const srv = await serve(
      async (_q, s) => {
        s.write("x");
        await sleep(2);
        s.end();
      },
      sink,
      "Metadata",
      { omitStages: ["RequestReceived", "ResponseStarted"] },
    );
    const r = await request(srv.port, { path: WATCH });
    const evs = await sink.final(r.headers["audit-id"] as string);
    expect(evs.map((e) => e.stage)).toEqual(["ResponseComplete"]);
  });

  it("an omitted RequestReceived counts as stored even when the sink would refuse", async () => {
    const sink = new MemorySink();
    sink.result = false;
    const srv = await serve((_q, s) => s.end("served"), sink, "Metadata", {
      omitStages: ["RequestReceived"],
    });
    const r = await request(srv.port, { path: GET });
    expect(r.status).toBe(200);
    expect(r.body).toBe("served");
  });

  it("returns the handler unchanged without a sink or a policy", () => {
    const h = (_q: IncomingMessage, s: ServerResponse) => s.end();
    expect(withAudit(h, { sink: undefined, policy: fixedPolicy("Metadata") })).toBe(h);
    expect(withAudit(h, { sink: new MemorySink(), policy: null })).toBe(h);
  });

  it("concurrent requests keep their events apart", async () => {
    const sink = new MemorySink();
    const srv = await serve(async (req, s) => {
      const n = Number(new URL(req.url ?? "/", "http://x").searchParams.get("n"));
      await sleep((n * 7) % 13);
      s.statusCode = 200 + n;
      s.end(String(n));
    }, sink);
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, n) =>
        request(srv.port, { path: `/api/v1/namespaces/ns${n}/pods/p${n}?n=${n}` }),
      ),
    );
    const ids = new Set(replies.map((r) => r.headers["audit-id"]));
    expect(ids.size).toBe(20);
    for (const [n, r] of replies.entries()) {
      const evs = await sink.final(r.headers["audit-id"] as string);
      expect(evs.map((e) => e.stage)).toEqual(["RequestReceived", "ResponseComplete"]);
      for (const e of evs) {
        expect(e.objectRef?.namespace).toBe(`ns${n}`);
        expect(e.requestURI).toBe(`/api/v1/namespaces/ns${n}/pods/p${n}?n=${n}`);
      }
      expect(evs[1]?.responseStatus?.code).toBe(200 + n);
    }
  });
});
