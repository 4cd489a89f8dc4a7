import http, { type IncomingMessage } from "node:http";
import net from "node:net";
import type { Duplex } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { withAudit } from "./index";
import { fixedPolicy, listen, MemorySink, rawExchange, request, sleep } from "./test-helpers";

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await (closers.pop() as () => Promise<void>)();
});

describe("HTTP edges over real sockets", () => {
  it("HEAD: audited as get, no body recorded", async () => {
    const sink = new MemorySink();
    const srv = await listen(
      withAudit(
        (_q, res) => {
          res.setHeader("Content-Type", "application/json");
          res.end('{"kind":"Pod"}');
        },
        { sink, policy: fixedPolicy("RequestResponse") },
      ),
    );
    closers.push(srv.close);
    const r = await request(srv.port, { method: "HEAD", path: "/api/v1/namespaces/d/pods/p" });
    expect(r.body).toBe("");
    const evs = await sink.final(r.headers["audit-id"] as string);
    expect(evs.map((e) => [e.stage, e.verb, e.responseStatus?.code])).toEqual([
      ["RequestReceived", "get", undefined],
      ["ResponseComplete", "get", 200],
    ]);
    expect(evs[1]?.responseObject).toBeUndefined();
  });

  it("Expect: 100-continue: the interim 100 is not the response code; the body is captured", async () => {
    const sink = new MemorySink();
    const srv = await listen(
      withAudit(
        (req, res) => {
          let body = "";
          req.on("data", (d) => {
            body += d;
          });
          req.on("end", () => {
            res.writeHead(201, { "Content-Type": "application/json" });
            res.end(body);
          });
        },
        { sink, policy: fixedPolicy("RequestResponse") },
      ),
    );
    closers.push(srv.close);
    const body = '{"kind":"ConfigMap","metadata":{"name":"c"}}';
    const sock = net.connect(srv.port, "127.0.0.1");
    let got = "";
    const done = new Promise<void>((resolve) => {
      sock.on("data", (d) => {
        got += d.toString();
        if (got.includes("100 Continue") && !got.includes("201")) sock.write(body);
        if (got.includes(body) && got.endsWith("0\r\n\r\n")) resolve();
      });
    });
    sock.write(
      `POST /api/v1/namespaces/d/configmaps HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`,
    );
    await done;
    sock.destroy();
    expect(got.startsWith("HTTP/1.1 100 Continue\r\n")).toBe(true);
    const id = /\r\nAudit-Id: ([^\r]+)/.exec(got)?.[1] as string;
    const evs = await sink.final(id);
    expect(evs[1]?.responseStatus?.code).toBe(201);
    expect(evs[1]?.requestObject).toEqual(JSON.parse(body));
    expect(evs[1]?.responseObject).toEqual(JSON.parse(body));
  });

  it("keep-alive: requests on one connection are audited separately", async () => {
    const sink = new MemorySink();
    const srv = await listen(
      withAudit((req, res) => res.end(req.url), { sink, policy: fixedPolicy("Metadata") }),
    );
    closers.push(srv.close);
    const raw = await rawExchange(
      srv.port,
      "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    const ids = [...raw.matchAll(/\r\nAudit-Id: ([^\r]+)/g)].map((m) => m[1] as string);
    expect(ids).toHaveLength(2);
    expect(ids[0]).not.toBe(ids[1]);
    expect((await sink.final(ids[0] as string)).map((e) => e.requestURI)).toEqual(["/a", "/a"]);
    expect((await sink.final(ids[1] as string)).map((e) => e.requestURI)).toEqual(["/b", "/b"]);
  });

  describe("upgrades", () => {
    async function upgradeServer(
      handler: (req: IncomingMessage, socket: Duplex, head: Buffer) => void,
      sink: MemorySink,
    ) {
      const server = http.createServer((_q, res) => res.end());
      server.on("upgrade", withAudit(handler, { sink, policy: fixedPolicy("Metadata") }));
      const srv = await listen(server);
      closers.push(srv.close);
      return srv;
    }
    const accept = (_req: IncomingMessage, socket: Duplex) => {
      socket.write(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n",
      );
      socket.on("data", (d: Buffer) => {
        if (d.toString() === "bye") socket.end();
        else socket.write(d);
      });
    };

    async function talk(port: number, path: string): Promise<string> {
      const sock = net.connect(port, "127.0.0.1");
      let got = "";
      return await new Promise((resolve) => {
        sock.on("data", (d) => {
          got += d.toString();
          if (got.endsWith("\r\n\r\n")) sock.write("ping");
          else if (got.endsWith("ping")) sock.write("bye");
        });
        sock.on("close", () => resolve(got));
        sock.write(
          `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n`,
        );
      });
    }

    it("long-running upgrade (exec): ResponseStarted 101 at the switch, ResponseComplete at close; Audit-Id added", async () => {
      const sink = new MemorySink();
      const srv = await upgradeServer(accept, sink);
      const got = await talk(srv.port, "/api/v1/namespaces/d/pods/p/exec?command=sh");
      expect(got.startsWith("HTTP/1.1 101 Switching Protocols\r\nAudit-Id: ")).toBe(true);
      expect(got.endsWith("ping")).toBe(true);
      const id = /\r\nAudit-Id: ([^\r]+)/.exec(got)?.[1] as string;
      const evs = await sink.final(id);
      expect(evs.map((e) => [e.stage, e.responseStatus?.code])).toEqual([
        ["RequestReceived", undefined],
        ["ResponseStarted", 101],
        ["ResponseComplete", 101],
      ]);
      expect(evs[0]?.objectRef).toEqual({
        resource: "pods",
        namespace: "d",
        name: "p",
        apiVersion: "v1",
        subresource: "exec",
      });
    });

    it("short-running upgrade: no ResponseStarted", async () => {
      const sink = new MemorySink();
      const srv = await upgradeServer(accept, sink);
      const got = await talk(srv.port, "/ws");
      const id = /\r\nAudit-Id: ([^\r]+)/.exec(got)?.[1] as string;
      expect((await sink.final(id)).map((e) => [e.stage, e.responseStatus?.code])).toEqual([
        ["RequestReceived", undefined],
        ["ResponseComplete", 101],
      ]);
    });

    it("a refused upgrade records the code written", async () => {
      const sink = new MemorySink();
      const srv = await upgradeServer((_q, socket) => {
        socket.end("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
      }, sink);
      const got = await rawExchange(
        srv.port,
        "GET /api/v1/namespaces/d/pods/p/attach HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n",
      );
      expect(got).toMatch(/^HTTP\/1\.1 403 Forbidden\r\nAudit-Id: /);
      const id = /\r\nAudit-Id: ([^\r]+)/.exec(got)?.[1] as string;
      expect((await sink.final(id)).map((e) => [e.stage, e.responseStatus?.code])).toEqual([
        ["RequestReceived", undefined],
        ["ResponseStarted", 403],
        ["ResponseComplete", 403],
      ]);
    });

    it("sink failure on an upgrade: kube's 500 on the raw socket, handler not called", async () => {
      const sink = new MemorySink();
      sink.result = false;
      let called = false;
      const srv = await upgradeServer(() => {
        called = true;
      }, sink);
      const got = await rawExchange(
        srv.port,
        "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n",
      );
      expect(called).toBe(false);
      expect(got).toMatch(/^HTTP\/1\.1 500 Internal Server Error\r\n/);
      expect(
        got.endsWith('\r\n\r\nInternal Server Error: "/ws": failed to store audit event\n'),
      ).toBe(true);
      await sleep(10);
      expect(sink.events.map((e) => e.stage)).toEqual(["RequestReceived"]);
    });
  });
});
