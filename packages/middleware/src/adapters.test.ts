import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Level, RequestAttributes, Stage } from "@kaudit/api";
import express from "express";
import Fastify from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import {
  addAuditAnnotation,
  auditErrorHandler,
  auditMiddleware,
  fastifyAudit,
  getAuditID,
} from "./index";
import { fixedPolicy, MemorySink, openRaw, request, sleep } from "./test-helpers";

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await (closers.pop() as () => Promise<void>)();
});

const POD = { apiVersion: "v1", kind: "Pod", metadata: { name: "p", namespace: "d" } };
const levelFor = (attrs: RequestAttributes): Level =>
  attrs.path === "/none" ? "None" : attrs.path.startsWith("/body") ? "RequestResponse" : "Metadata";

/** The same routes on both frameworks. */
async function expressApp(sink: MemorySink): Promise<number> {
  const app = express();
  app.use(auditMiddleware({ sink, policy: fixedPolicy(levelFor) }));
  app.use(express.json());
  app.get("/api/v1/namespaces/d/pods/p", (req, res) => {
    addAuditAnnotation(req, "example.com/route", "pod");
    res.json(POD);
  });
  app.get("/api/v1/pods", async (_req, res) => {
    res.writeHead(200, { "Content-Type": "application/json" });
    res.write('{"type":"ADDED"}\n');
    await sleep(5);
    res.end();
  });
  app.get("/boom", () => {
    throw new Error("kaboom");
  });
  app.get("/api/v1/namespaces/d/pods/p/log", async (_req, res) => {
    res.writeHead(200);
    res.write("line\n");
    await sleep(5);
    throw new Error("log stream broke");
  });
  app.get("/teapot", () => {
    throw Object.assign(new Error("I'm a teapot"), { status: 418 });
  });
  app.get("/hang", () => {});
  app.get("/api/v1/watch/pods", () => {});
  app.get("/api/v1/namespaces/d/pods/p/exec", () => {
    throw new Error("exec failed");
  });
  app.get("/none", (req, res) => {
    res.send(`id=${getAuditID(req)}`);
  });
  app.post("/body/api/v1/namespaces/d/pods", (req, res) => {
    res.status(201).json({ echoed: req.body });
  });
  app.use(auditErrorHandler());
  const server: Server = await new Promise((r) => {
    const s = app.listen(0, "127.0.0.1", () => r(s));
  });
  closers.push(
    () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return (server.address() as AddressInfo).port;
}

async function fastifyApp(sink: MemorySink): Promise<number> {
  const app = Fastify();
  await app.register(fastifyAudit, { sink, policy: fixedPolicy(levelFor) });
  app.get("/api/v1/namespaces/d/pods/p", async (req) => {
    addAuditAnnotation(req, "example.com/route", "pod");
    return POD;
  });
  app.get("/api/v1/pods", async (_req, reply) => {
    reply.hijack();
    reply.raw.writeHead(200, { "Content-Type": "application/json" });
    reply.raw.write('{"type":"ADDED"}\n');
    await sleep(5);
    reply.raw.end();
  });
  app.get("/boom", async () => {
    throw new Error("kaboom");
  });
  app.get("/api/v1/namespaces/d/pods/p/log", async (_req, reply) => {
    reply.hijack();
    reply.raw.writeHead(200);
    reply.raw.write("line\n");
    await sleep(5);
    reply.raw.end();
  });
  app.get("/teapot", async () => {
    throw Object.assign(new Error("I'm a teapot"), { statusCode: 418 });
  });
  app.get("/hang", (_req, _reply) => {});
  app.get("/api/v1/watch/pods", (_req, _reply) => {});
  app.get("/api/v1/namespaces/d/pods/p/exec", async () => {
    throw new Error("exec failed");
  });
  app.get("/api/v1/namespaces/d/pods/q/log", async (_req, reply) => {
    reply.raw.writeHead(200);
    reply.raw.write("line\n");
    await sleep(5);
    throw new Error("log stream broke");
  });
  app.get("/none", async (req) => `id=${getAuditID(req)}`);
  app.post("/body/api/v1/namespaces/d/pods", async (req, reply) => {
    reply.code(201);
    return { echoed: req.body };
  });
  await app.listen({ port: 0, host: "127.0.0.1" });
  closers.push(() => app.close());
  return (app.server.address() as AddressInfo).port;
}

for (const [name, make] of [
  ["Express 5", expressApp],
  ["Fastify 5", fastifyApp],
] as const) {
  describe(`${name} adapter`, () => {
    const cases: {
      path: string;
      stages: Stage[];
      codes: (number | undefined)[];
      message?: string;
    }[] = [
      {
        path: "/api/v1/namespaces/d/pods/p",
        stages: ["RequestReceived", "ResponseComplete"],
        codes: [undefined, 200],
      },
      {
        path: "/api/v1/pods?watch=true",
        stages: ["RequestReceived", "ResponseStarted", "ResponseComplete"],
        codes: [undefined, 200, 200],
      },
      {
        path: "/boom",
        stages: ["RequestReceived", "Panic"],
        codes: [undefined, 500],
        message: "APIServer panic'd: kaboom",
      },
      {
        path: "/api/v1/namespaces/d/pods/p/exec",
        stages: ["RequestReceived", "Panic"],
        codes: [undefined, 500],
        message: "APIServer panic'd: exec failed",
      },
      { path: "/teapot", stages: ["RequestReceived", "ResponseComplete"], codes: [undefined, 418] },
      { path: "/nope", stages: ["RequestReceived", "ResponseComplete"], codes: [undefined, 404] },
    ];
    for (const c of cases) {
      it(`GET ${c.path} → ${c.stages.join(", ")}`, async () => {
        const sink = new MemorySink();
        const port = await make(sink);
        const r = await request(port, { path: c.path });
        const evs = await sink.final(r.headers["audit-id"] as string);
        expect(evs.map((e) => e.stage)).toEqual(c.stages);
        expect(evs.map((e) => e.responseStatus?.code)).toEqual(c.codes);
        if (c.message) expect(evs.at(-1)?.responseStatus?.message).toBe(c.message);
        if (c.message) expect(r.status).toBe(500);
        await sleep(20);
        expect(sink.of(r.headers["audit-id"] as string)).toHaveLength(c.stages.length);
      });
    }

    it("annotations from the route handler", async () => {
      const sink = new MemorySink();
      const port = await make(sink);
      const r = await request(port, { path: "/api/v1/namespaces/d/pods/p" });
      expect(JSON.parse(r.body)).toEqual(POD);
      const evs = await sink.final(r.headers["audit-id"] as string);
      expect(evs[1]?.annotations).toEqual({ "example.com/route": "pod" });
      expect(evs[1]?.objectRef).toEqual({
        resource: "pods",
        namespace: "d",
        name: "p",
        apiVersion: "v1",
      });
    });

    it("long-running, client goes away before anything was written ⇒ ResponseStarted synthesized", async () => {
      const sink = new MemorySink();
      const port = await make(sink);
      const sock = await openRaw(port, "GET /api/v1/watch/pods HTTP/1.1\r\nHost: x\r\n\r\n");
      const rr = await sink.waitFor((e) => e.stage === "RequestReceived");
      sock.destroy();
      const evs = await sink.final(rr.auditID);
      expect(evs.map((e) => [e.stage, e.responseStatus?.code])).toEqual([
        ["RequestReceived", undefined],
        ["ResponseStarted", 200],
        ["ResponseComplete", 200],
      ]);
      expect(evs[2]?.responseStatus?.message).toBe("Connection closed early");
    });

    it("client goes away before anything was written ⇒ Connection closed early", async () => {
      const sink = new MemorySink();
      const port = await make(sink);
      const sock = await openRaw(port, "GET /hang HTTP/1.1\r\nHost: x\r\n\r\n");
      const rr = await sink.waitFor((e) => e.stage === "RequestReceived");
      sock.destroy();
      const evs = await sink.final(rr.auditID);
      expect(evs.map((e) => e.stage)).toEqual(["RequestReceived", "ResponseComplete"]);
      expect(evs[1]?.responseStatus).toEqual({
        metadata: {},
        status: "Success",
        message: "Connection closed early",
        code: 200,
      });
    });

    it("level None: no events, Audit-Id echoed and visible to the handler", async () => {
      const sink = new MemorySink();
      const port = await make(sink);
      const r = await request(port, { path: "/none", headers: { "Audit-ID": "given-id" } });
      expect(r.headers["audit-id"]).toBe("given-id");
      expect(r.body).toBe("id=given-id");
      await sleep(20);
      expect(sink.events).toEqual([]);
    });

    it("sink refuses RequestReceived ⇒ kube's 500, route not run", async () => {
      const sink = new MemorySink();
      sink.result = false;
      const port = await make(sink);
      const r = await request(port, { path: "/api/v1/namespaces/d/pods/p" });
      expect(r.status).toBe(500);
      expect(r.body).toBe(
        'Internal Server Error: "/api/v1/namespaces/d/pods/p": failed to store audit event\n',
      );
      expect(r.headers["content-type"]).toBe("text/plain; charset=utf-8");
      await sleep(20);
      expect(sink.events.map((e) => e.stage)).toEqual(["RequestReceived"]);
      expect(sink.events[0]?.annotations).toBeUndefined();
    });

    it("JSON bodies are tee'd past the framework's body parser", async () => {
      const sink = new MemorySink();
      const port = await make(sink);
      const body = { apiVersion: "v1", kind: "Pod", metadata: { name: "new" } };
      const r = await request(port, {
        method: "POST",
        path: "/body/api/v1/namespaces/d/pods",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      expect(r.status).toBe(201);
      expect(JSON.parse(r.body)).toEqual({ echoed: body });
      const evs = await sink.final(r.headers["audit-id"] as string);
      expect(evs[1]?.requestObject).toEqual(body);
      expect(evs[1]?.responseObject).toEqual({ echoed: body });
      expect(evs[1]?.objectRef?.name).toBe("new");
      expect(evs[1]?.requestURI).toBe("/body/api/v1/namespaces/d/pods");
    });
  });
}

describe("Express: a long-running route that writes then fails", () => {
  it("ResponseStarted with the code written, then Panic", async () => {
    const sink = new MemorySink();
    const port = await expressApp(sink);
    const sock = await openRaw(
      port,
      "GET /api/v1/namespaces/d/pods/p/log HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    const rr = await sink.waitFor((e) => e.stage === "RequestReceived");
    const evs = await sink.final(rr.auditID);
    sock.destroy();
    expect(evs.map((e) => [e.stage, e.responseStatus?.code])).toEqual([
      ["RequestReceived", undefined],
      ["ResponseStarted", 200],
      ["Panic", 500],
    ]);
    expect(evs[2]?.responseStatus?.message).toBe("APIServer panic'd: log stream broke");
  });
});

describe("Fastify: a long-running route that writes then fails", () => {
  it("ResponseStarted with the code written, then Panic", async () => {
    const sink = new MemorySink();
    const port = await fastifyApp(sink);
    const sock = await openRaw(
      port,
      "GET /api/v1/namespaces/d/pods/q/log HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    const rr = await sink.waitFor((e) => e.stage === "RequestReceived");
    const evs = await sink.final(rr.auditID);
    sock.destroy();
    expect(evs.map((e) => [e.stage, e.responseStatus?.code])).toEqual([
      ["RequestReceived", undefined],
      ["ResponseStarted", 200],
      ["Panic", 500],
    ]);
  });
});

describe("Fastify: a hijacked long-running reply", () => {
  it("ResponseStarted at the first write, ResponseComplete at the end", async () => {
    const sink = new MemorySink();
    const port = await fastifyApp(sink);
    const r = await request(port, { path: "/api/v1/namespaces/d/pods/p/log" });
    expect(r.body).toBe("line\n");
    const evs = await sink.final(r.headers["audit-id"] as string);
    expect(evs.map((e) => [e.stage, e.responseStatus?.code])).toEqual([
      ["RequestReceived", undefined],
      ["ResponseStarted", 200],
      ["ResponseComplete", 200],
    ]);
  });
});

describe("Express: mounting details", () => {
  it("a body parser mounted before the middleware: the body is reported as missed, not lost silently", async () => {
    const sink = new MemorySink();
    const app = express();
    app.use(express.json());
    app.use(auditMiddleware({ sink, policy: fixedPolicy("Request") }));
    app.post("/api/v1/namespaces/d/configmaps", (req, res) => {
      res.status(201).json(req.body);
    });
    const server: Server = await new Promise((r) => {
      const s = app.listen(0, "127.0.0.1", () => r(s));
    });
    closers.push(() => new Promise((r) => server.close(() => r())));
    const r = await request((server.address() as AddressInfo).port, {
      method: "POST",
      path: "/api/v1/namespaces/d/configmaps",
      headers: { "Content-Type": "application/json" },
      body: '{"kind":"ConfigMap","metadata":{"name":"c"}}',
    });
    expect(r.status).toBe(201);
    const evs = await sink.final(r.headers["audit-id"] as string);
    expect(evs[1]?.requestObject).toBeUndefined();
    expect(evs[1]?.annotations).toEqual({
      "kaudit.dev/request-object-omitted": "body was read before the audit middleware saw it",
    });
  });

  it("mounted under a path prefix: requestURI and attributes use the original URL", async () => {
    const sink = new MemorySink();
    const app = express();
    const router = express.Router();
    router.use(auditMiddleware({ sink, policy: fixedPolicy("Metadata") }));
    router.get("/api/v1/namespaces/d/pods/p", (_req, res) => {
      res.json({});
    });
    app.use("/cluster-a", router);
    const server: Server = await new Promise((r) => {
      const s = app.listen(0, "127.0.0.1", () => r(s));
    });
    closers.push(() => new Promise((r) => server.close(() => r())));
    const r = await request((server.address() as AddressInfo).port, {
      path: "/cluster-a/api/v1/namespaces/d/pods/p",
    });
    const evs = await sink.final(r.headers["audit-id"] as string);
    expect(evs[1]?.requestURI).toBe("/cluster-a/api/v1/namespaces/d/pods/p");
    expect(evs[1]?.verb).toBe("get");
    expect(evs[1]?.objectRef).toBeUndefined();
  });
});
