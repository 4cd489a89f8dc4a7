import { type IncomingMessage, METHODS, type ServerResponse } from "node:http";
import { attributesFromRequest, type Event, encodeEvent } from "@kaudit/api";
import { afterEach, describe, expect, it } from "vitest";
import type { AuditOptions } from "./index";
import {
  addAuditAnnotation,
  addAuditLatency,
  getAuditID,
  setImpersonatedUser,
  withAudit,
} from "./index";
import { fixedPolicy, listen, MemorySink, rawExchange, recovering, request } from "./test-helpers";

type Handler = (req: IncomingMessage, res: ServerResponse) => unknown;
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await (closers.pop() as () => Promise<void>)();
});

async function serve(handler: Handler, options: Partial<AuditOptions> & { sink: MemorySink }) {
  const srv = await listen(withAudit(handler, { policy: fixedPolicy("Metadata"), ...options }));
  closers.push(srv.close);
  return srv;
}

async function one(
  options: Omit<Partial<AuditOptions>, "sink"> = {},
  req: Parameters<typeof request>[1] = {},
  handler: Handler = (_q, s) => s.end("ok"),
) {
  const sink = new MemorySink();
  const srv = await serve(handler, { sink, ...options });
  const r = await request(srv.port, req);
  const evs = await sink.final(r.headers["audit-id"] as string, [
    "ResponseComplete",
    "Panic",
    "ResponseStarted",
  ]);
  return { r, evs, rr: evs[0] as Event, last: evs[evs.length - 1] as Event, sink };
}

describe("event fields (§6.2)", () => {
  it("Audit-ID from the request is used verbatim and echoed", async () => {
    const { r, evs } = await one({}, { headers: { "Audit-ID": "not a uuid, trusted as is" } });
    expect(r.headers["audit-id"]).toBe("not a uuid, trusted as is");
    for (const e of evs) expect(e.auditID).toBe("not a uuid, trusted as is");
  });

  it("a new lower-case UUIDv4 when the request has none; the raw header is Audit-Id", async () => {
    const sink = new MemorySink();
    const srv = await serve((_q, s) => s.end(), { sink });
    const raw = await rawExchange(
      srv.port,
      "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    const m = /\r\nAudit-Id: ([^\r]+)\r\n/.exec(raw);
    expect(m?.[1]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const evs = await sink.final(m?.[1] as string);
    expect(evs).toHaveLength(2);
  });

  it("the first of repeated Audit-ID headers wins", async () => {
    const sink = new MemorySink();
    const srv = await serve((_q, s) => s.end(), { sink });
    const raw = await rawExchange(
      srv.port,
      "GET / HTTP/1.1\r\nHost: x\r\nAudit-ID: first\r\nAudit-ID: second\r\nConnection: close\r\n\r\n",
    );
    expect(raw).toMatch(/\r\nAudit-Id: first\r\n/);
  });

  // The header is added when the head is written (into a copy of a writeHead headers object
  // when it is the response's only headers): every way a handler writes its head must end with
  // exactly one Audit-Id, the handler's own where it sets one, and the other headers unchanged.
  const FROZEN = Object.freeze({ "X-A": "1" });
  const heads: [string, Handler, string | undefined, Record<string, string>][] = [
    [
      "writeHead(code, object)",
      (_q, s) => s.writeHead(200, { "X-A": "1" }).end("ok"),
      undefined,
      { "x-a": "1" },
    ],
    [
      "writeHead(code, reason, object)",
      (_q, s) => s.writeHead(202, "Fine", { "X-A": "1" }).end(),
      undefined,
      { "x-a": "1" },
    ],
    ["writeHead(code) only", (_q, s) => s.writeHead(200).end("ok"), undefined, {}],
    ["end() with implicit headers", (_q, s) => s.end("ok"), undefined, {}],
    [
      "setHeader then writeHead(object)",
      (_q, s) => {
        s.setHeader("X-B", "2");
        s.writeHead(200, { "X-A": "1" }).end();
      },
      undefined,
      { "x-a": "1", "x-b": "2" },
    ],
    [
      "writeHead(code, flat array)",
      (_q, s) => s.writeHead(200, ["X-A", "1"]).end(),
      undefined,
      { "x-a": "1" },
    ],
    [
      "handler's AUDIT-ID in the writeHead object",
      (_q, s) => s.writeHead(200, { "AUDIT-ID": "mine", "X-A": "1" }).end(),
      "mine",
      { "x-a": "1" },
    ],
    [
      "handler's Audit-Id via setHeader",
      (_q, s) => {
        s.setHeader("Audit-Id", "mine");
        s.end();
      },
      "mine",
      {},
    ],
    [
      "a shared, frozen headers object",
      (_q, s) => s.writeHead(200, FROZEN).end(),
      undefined,
      { "x-a": "1" },
    ],
  ];
  for (const [name, handler, own, others] of heads) {
    it(`Audit-Id on the head: ${name}`, async () => {
      const sink = new MemorySink();
      const srv = await serve(handler, { sink });
      const raw = await rawExchange(
        srv.port,
        "GET / HTTP/1.1\r\nHost: x\r\nAudit-ID: given\r\nConnection: close\r\n\r\n",
      );
      const head = raw.slice(0, raw.indexOf("\r\n\r\n"));
      const ids = [...head.matchAll(/\r\naudit-id: ([^\r]*)/gi)].map((m) => m[1]);
      expect(ids).toEqual([own ?? "given"]);
      for (const [k, v] of Object.entries(others))
        expect(head.toLowerCase()).toContain(`\r\n${k}: ${v}`);
      expect(Object.keys(FROZEN)).toEqual(["X-A"]);
      await sink.final("given");
    });
  }

  it("getAuditID works at level None too", async () => {
    let seen: string | undefined;
    const sink = new MemorySink();
    const srv = await listen(
      withAudit(
        (req, res) => {
          seen = getAuditID(req);
          res.end();
        },
        { sink, policy: fixedPolicy("None") },
      ),
    );
    closers.push(srv.close);
    const r = await request(srv.port, { headers: { "Audit-ID": "abc" } });
    expect(seen).toBe("abc");
    expect(r.headers["audit-id"]).toBe("abc");
  });

  it("timestamps: MicroTime, stageTimestamp == requestReceivedTimestamp on RequestReceived", async () => {
    let now = Date.UTC(2026, 10, 22, 10, 4, 5) + 123.456;
    const { evs } = await one({ clock: () => now }, { path: "/api/v1/pods" }, (_q, s) => {
      now += 1.5;
      s.end();
    });
    expect(evs[0]?.requestReceivedTimestamp).toBe("2026-11-22T10:04:05.123456Z");
    expect(evs[0]?.stageTimestamp).toBe("2026-11-22T10:04:05.123456Z");
    expect(evs[1]?.requestReceivedTimestamp).toBe("2026-11-22T10:04:05.123456Z");
    expect(evs[1]?.stageTimestamp).toBe("2026-11-22T10:04:05.124956Z");
  });

  it("real clock timestamps have exactly six fractional digits", async () => {
    const { evs } = await one();
    for (const e of evs) {
      expect(e.requestReceivedTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      expect(e.stageTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    }
    expect(
      evs[1]?.stageTimestamp && evs[1].stageTimestamp >= (evs[0]?.stageTimestamp as string),
    ).toBe(true);
  });

  describe("requestURI, verb, objectRef", () => {
    const cases: { method?: string; path: string; verb: string; objectRef?: Event["objectRef"] }[] =
      [
        { path: "/healthz?verbose=1", verb: "get" },
        { method: "POST", path: "/apis", verb: "post" },
        {
          path: "/api/v1/namespaces/default/pods/p1",
          verb: "get",
          objectRef: { resource: "pods", namespace: "default", name: "p1", apiVersion: "v1" },
        },
        {
          path: "/api/v1/pods?limit=5",
          verb: "list",
          objectRef: { resource: "pods", apiVersion: "v1" },
        },
        {
          path: "/api/v1/watch/namespaces/kube-system/configmaps",
          verb: "watch",
          objectRef: { resource: "configmaps", namespace: "kube-system", apiVersion: "v1" },
        },
        {
          method: "POST",
          path: "/apis/apps/v1/namespaces/ns/deployments",
          verb: "create",
          objectRef: {
            resource: "deployments",
            namespace: "ns",
            apiGroup: "apps",
            apiVersion: "v1",
          },
        },
        {
          method: "PUT",
          path: "/apis/apps/v1/namespaces/ns/deployments/d/scale",
          verb: "update",
          objectRef: {
            resource: "deployments",
            namespace: "ns",
            name: "d",
            apiGroup: "apps",
            apiVersion: "v1",
            subresource: "scale",
          },
        },
        {
          method: "DELETE",
          path: "/api/v1/namespaces/ns/pods",
          verb: "deletecollection",
          objectRef: { resource: "pods", namespace: "ns", apiVersion: "v1" },
        },
        {
          path: "/api/v1/namespaces/foo",
          verb: "get",
          objectRef: { resource: "namespaces", namespace: "foo", name: "foo", apiVersion: "v1" },
        },
      ];
    for (const c of cases) {
      it(`${c.method ?? "GET"} ${c.path}`, async () => {
        const { evs } = await one({}, { method: c.method ?? "GET", path: c.path });
        for (const e of evs) {
          expect(e.requestURI).toBe(c.path);
          expect(e.verb).toBe(c.verb);
          expect(e.objectRef).toEqual(c.objectRef);
        }
      });
    }
  });

  it("RequestInfo cached per method and URL: one server, one URL, many methods (more than it caches)", async () => {
    // The cache is keyed by method, then URL: the same URL under each method must give that
    // method's verb, also for methods past the ones with a cache of their own.
    const sink = new MemorySink();
    const srv = await serve((_q, s) => s.end(), { sink });
    const path = "/api/v1/namespaces/ns/pods/p";
    const methods = ["GET", "DELETE", "PUT", "PATCH", "GET", "DELETE"];
    for (const m of METHODS) if (m !== "CONNECT" && m !== "PRI") methods.push(m, "GET");
    for (const method of methods) {
      const r = await request(srv.port, { method, path });
      const evs = await sink.final(r.headers["audit-id"] as string);
      const want = attributesFromRequest({ method, url: path }).verb;
      for (const e of evs) expect([method, e.verb]).toEqual([method, want]);
    }
  });

  describe("sourceIPs over a real socket", () => {
    const cases: { name: string; headers: Record<string, string>; want: string[] }[] = [
      { name: "peer only", headers: {}, want: ["127.0.0.1"] },
      {
        name: "X-Forwarded-For chain",
        headers: { "X-Forwarded-For": "10.0.0.1, 2001:DB8::1" },
        want: ["10.0.0.1", "2001:db8::1", "127.0.0.1"],
      },
      {
        name: "X-Forwarded-For ending in the peer",
        headers: { "X-Forwarded-For": "10.0.0.1, 127.0.0.1" },
        want: ["10.0.0.1", "127.0.0.1"],
      },
      {
        name: "X-Real-Ip",
        headers: { "X-Real-Ip": "::ffff:192.168.0.9" },
        want: ["192.168.0.9", "127.0.0.1"],
      },
      {
        name: "X-Real-Ip already forwarded",
        headers: { "X-Forwarded-For": "192.168.0.9", "X-Real-Ip": "192.168.0.9" },
        want: ["192.168.0.9", "127.0.0.1"],
      },
      {
        name: "garbage skipped",
        headers: { "X-Forwarded-For": "unknown, 10.0.0.300, 10.0.0.3" },
        want: ["10.0.0.3", "127.0.0.1"],
      },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const { evs } = await one({}, { headers: c.headers });
        for (const e of evs) expect(e.sourceIPs).toEqual(c.want);
      });
    }
    it("only the first X-Forwarded-For header counts (Go Header.Get)", async () => {
      const sink = new MemorySink();
      const srv = await serve((_q, s) => s.end(), { sink });
      const raw = await rawExchange(
        srv.port,
        "GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 2.2.2.2\r\nConnection: close\r\n\r\n",
      );
      const id = /\r\nAudit-Id: ([^\r]+)/.exec(raw)?.[1] as string;
      const evs = await sink.final(id);
      expect(evs[0]?.sourceIPs).toEqual(["1.1.1.1", "127.0.0.1"]);
    });
  });

  describe("userAgent", () => {
    it("kept as sent up to 1024 bytes", async () => {
      const ua = "k".repeat(1024);
      const { evs } = await one({}, { headers: { "User-Agent": ua } });
      expect(evs[0]?.userAgent).toBe(ua);
    });
    it("truncated at 1024 bytes with ...TRUNCATED", async () => {
      const ua = `kubectl/v1.31 ${"x".repeat(2000)}`;
      const { evs } = await one({}, { headers: { "User-Agent": ua } });
      for (const e of evs) expect(e.userAgent).toBe(`${ua.slice(0, 1024)}...TRUNCATED`);
    });
    it("counts bytes, not characters: a cut UTF-8 sequence becomes U+FFFD", async () => {
      const sink = new MemorySink();
      const srv = await serve((_q, s) => s.end(), { sink });
      // 1023 ASCII bytes, then "é" (2 bytes): the limit falls inside it.
      const head = Buffer.concat([
        Buffer.from(
          `GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nUser-Agent: ${"a".repeat(1023)}`,
        ),
        Buffer.from("é tail", "utf8"),
        Buffer.from("\r\n\r\n"),
      ]);
      const raw = await rawExchange(srv.port, head.toString("latin1"));
      const id = /\r\nAudit-Id: ([^\r]+)/.exec(raw)?.[1] as string;
      const evs = await sink.final(id);
      // Go's encoder writes the cut byte as the escape \ufffd; readers see U+FFFD.
      const line = encodeEvent(evs[0] as Event);
      expect(line).toContain(`"userAgent":"${"a".repeat(1023)}\\ufffd...TRUNCATED"`);
      expect(JSON.parse(line).userAgent).toBe(`${"a".repeat(1023)}\ufffd...TRUNCATED`);
    });
    it("UTF-8 user agents are read as UTF-8", async () => {
      const sink = new MemorySink();
      const srv = await serve((_q, s) => s.end(), { sink });
      const head = Buffer.concat([
        Buffer.from("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nUser-Agent: "),
        Buffer.from("café/1.0"),
        Buffer.from("\r\n\r\n"),
      ]);
      const raw = await rawExchange(srv.port, head.toString("latin1"));
      const id = /\r\nAudit-Id: ([^\r]+)/.exec(raw)?.[1] as string;
      expect((await sink.final(id))[0]?.userAgent).toBe("café/1.0");
    });
    it("absent without the header", async () => {
      const sink = new MemorySink();
      const srv = await serve((_q, s) => s.end(), { sink });
      const raw = await rawExchange(
        srv.port,
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      );
      const id = /\r\nAudit-Id: ([^\r]+)/.exec(raw)?.[1] as string;
      expect("userAgent" in JSON.parse(JSON.stringify((await sink.final(id))[0]))).toBe(false);
    });
  });

  describe("user and impersonation", () => {
    const alice = {
      name: "alice",
      uid: "u-1",
      groups: ["dev", "system:authenticated"],
      extra: { scopes: ["a", "b"] },
    };

    it("user from authenticate, passed to the policy", async () => {
      const policy = fixedPolicy("Metadata");
      const { evs } = await one({ authenticate: () => alice, policy }, { path: "/api/v1/pods" });
      for (const e of evs)
        expect(e.user).toEqual({
          username: "alice",
          uid: "u-1",
          groups: ["dev", "system:authenticated"],
          extra: { scopes: ["a", "b"] },
        });
      expect(policy.seen[0]?.user?.name).toBe("alice");
    });

    it("the same URL with and without a user: attributes never carry another request's user", async () => {
      const sink = new MemorySink();
      const policy = fixedPolicy("Metadata");
      const srv = await serve((_q, s) => s.end(), {
        sink,
        policy,
        authenticate: (req) => (req.headers.authorization ? alice : undefined),
      });
      await request(srv.port, { path: "/api/v1/pods", headers: { Authorization: "Bearer a" } });
      await request(srv.port, { path: "/api/v1/pods" });
      await request(srv.port, { path: "/api/v1/pods", headers: { Authorization: "Bearer a" } });
      expect(policy.seen.map((a) => a.user?.name)).toEqual(["alice", undefined, "alice"]);
      expect(policy.seen.map((a) => [a.verb, a.resource])).toEqual([
        ["list", "pods"],
        ["list", "pods"],
        ["list", "pods"],
      ]);
      expect(policy.seen[0]).not.toBe(policy.seen[2]);
    });

    it("async authenticate; no user ⇒ user {}", async () => {
      const { evs } = await one({ authenticate: async () => undefined });
      for (const e of evs) expect(e.user).toEqual({});
    });

    it("Impersonate-* headers once authorised: absent on RequestReceived, present after", async () => {
      const { evs } = await one(
        {
          authenticate: () => alice,
          authorizeImpersonation: (_req, requested, user) =>
            user?.name === "alice" && requested.username === "bob",
        },
        {
          headers: {
            "Impersonate-User": "bob",
            "Impersonate-Group": "ops",
            "Impersonate-Extra-Reason": "oncall",
          },
        },
      );
      expect(evs[0]?.impersonatedUser).toBeUndefined();
      expect(evs[1]?.impersonatedUser).toEqual({
        username: "bob",
        groups: ["ops"],
        extra: { reason: ["oncall"] },
      });
      expect(evs[1]?.user.username).toBe("alice");
    });

    it("impersonation refused ⇒ 403, handler not called, ResponseComplete 403 without impersonatedUser", async () => {
      let called = false;
      const { r, evs } = await one(
        { authenticate: () => alice, authorizeImpersonation: async () => false },
        { headers: { "Impersonate-User": "root" } },
        (_q, s) => {
          called = true;
          s.end();
        },
      );
      expect(called).toBe(false);
      expect(r.status).toBe(403);
      expect(JSON.parse(r.body).message).toBe(
        'users "root" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope',
      );
      expect(evs.map((e) => [e.stage, e.responseStatus?.code])).toEqual([
        ["RequestReceived", undefined],
        ["ResponseComplete", 403],
      ]);
      expect(evs[1]?.impersonatedUser).toBeUndefined();
    });

    for (const mode of ["sync", "async"] as const) {
      it(`an impersonation hook that fails (${mode}) is a Panic, the error passed on`, async () => {
        const sink = new MemorySink();
        const errors: unknown[] = [];
        const boom = new Error("authorizer down");
        const srv = await listen(
          recovering(
            withAudit((_q, s) => s.end(), {
              sink,
              policy: fixedPolicy("Metadata"),
              authorizeImpersonation:
                mode === "sync"
                  ? () => {
                      throw boom;
                    }
                  : async () => Promise.reject(boom),
            }),
            errors,
          ),
        );
        closers.push(srv.close);
        const r = await request(srv.port, { headers: { "Impersonate-User": "bob" } });
        expect(r.status).toBe(500);
        const evs = await sink.final(r.headers["audit-id"] as string);
        expect(evs.map((e) => [e.stage, e.responseStatus?.message])).toEqual([
          ["RequestReceived", undefined],
          ["Panic", "APIServer panic'd: authorizer down"],
        ]);
        expect(errors).toEqual([boom]);
      });
    }

    it("without an authorisation hook the headers are not trusted", async () => {
      const { evs } = await one({}, { headers: { "Impersonate-User": "bob" } });
      expect(evs[1]?.impersonatedUser).toBeUndefined();
    });

    it("setImpersonatedUser from a hook before the handler: not on RequestReceived", async () => {
      const { evs } = await one({
        authenticate: (req) => {
          setImpersonatedUser(req, { username: "carol", groups: ["x"] });
          return alice;
        },
      });
      expect(evs[0]?.impersonatedUser).toBeUndefined();
      expect(evs[1]?.impersonatedUser).toEqual({ username: "carol", groups: ["x"] });
    });
  });

  describe("annotations", () => {
    it("first value wins; added before and after RequestReceived", async () => {
      const { evs } = await one(
        {
          authenticate: (req) => {
            addAuditAnnotation(req, "early.example.com/a", "1");
            return undefined;
          },
        },
        {},
        (req, res) => {
          addAuditAnnotation(req, "early.example.com/a", "2");
          addAuditAnnotation(req, "authorization.k8s.io/decision", "allow");
          addAuditAnnotation(req, "authorization.k8s.io/decision", "forbid");
          res.end();
        },
      );
      expect(evs[0]?.annotations).toEqual({ "early.example.com/a": "1" });
      expect(evs[1]?.annotations).toEqual({
        "early.example.com/a": "1",
        "authorization.k8s.io/decision": "allow",
      });
    });

    it("no annotations key when none were added", async () => {
      const { evs } = await one();
      for (const e of evs) expect(JSON.parse(JSON.stringify(e)).annotations).toBeUndefined();
    });
  });

  describe("latency annotations", () => {
    it("over 500 ms: total and tracked layers in Go duration format", async () => {
      let now = 1_700_000_000_000.125;
      const { evs } = await one({ clock: () => now }, {}, (req, res) => {
        addAuditLatency(req, "etcd", 250.5);
        now += 612.5;
        res.end("x");
      });
      const a = evs[1]?.annotations ?? {};
      expect(a["apiserver.latency.k8s.io/total"]).toBe("612.5ms");
      expect(a["apiserver.latency.k8s.io/etcd"]).toBe("250.5ms");
      expect(a["apiserver.latency.k8s.io/response-write"]).toMatch(/^\d+(\.\d+)?(ns|µs|ms)$/);
      expect(evs[0]?.annotations).toBeUndefined();
    });

    it("exactly 500 ms: none", async () => {
      let now = 1_700_000_000_000.125;
      const { evs } = await one({ clock: () => now }, {}, (_req, res) => {
        now += 500;
        res.end("x");
      });
      expect(evs[1]?.annotations).toBeUndefined();
    });

    it("minutes are written the Go way", async () => {
      let now = 1_700_000_000_000;
      const { evs } = await one({ clock: () => now }, {}, (_req, res) => {
        now += 62_500;
        res.end();
      });
      expect(evs[1]?.annotations?.["apiserver.latency.k8s.io/total"]).toBe("1m2.5s");
    });
  });
});

describe("failed authentication (§7.3)", () => {
  const cases: {
    name: string;
    headers?: Record<string, string>;
    path?: string;
    message: string;
  }[] = [
    { name: "no credentials", message: "Authentication failed, no credentials provided" },
    {
      name: "basic",
      headers: { Authorization: `Basic ${Buffer.from("u:p").toString("base64")}` },
      message: "Authentication failed, attempted: basic",
    },
    {
      name: "bearer (any case)",
      headers: { Authorization: "BEARER abc" },
      message: "Authentication failed, attempted: bearer",
    },
    {
      name: "access_token",
      path: "/api/v1/pods?access_token=xyz",
      message: "Authentication failed, attempted: access_token",
    },
    {
      name: "bearer and access_token",
      headers: { Authorization: "Bearer t" },
      path: "/api?access_token=x",
      message: "Authentication failed, attempted: bearer, access_token",
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const sink = new MemorySink();
      let called = false;
      const srv = await serve(
        (_q, s) => {
          called = true;
          s.end();
        },
        {
          sink,
          authenticate: () => {
            throw new Error("bad token");
          },
        },
      );
      const r = await request(srv.port, {
        path: c.path ?? "/api/v1/pods",
        headers: c.headers ?? {},
      });
      expect(called).toBe(false);
      expect(r.status).toBe(401);
      expect(JSON.parse(r.body)).toMatchObject({
        kind: "Status",
        status: "Failure",
        reason: "Unauthorized",
        code: 401,
      });
      const id = r.headers["audit-id"] as string;
      await sink.waitFor((e) => e.auditID === id);
      await new Promise((res) => setTimeout(res, 20));
      const evs = sink.of(id);
      expect(evs).toHaveLength(1);
      expect(evs[0]?.stage).toBe("ResponseStarted");
      expect(evs[0]?.user).toEqual({});
      expect(evs[0]?.responseStatus).toEqual({ metadata: {}, message: c.message, code: 401 });
    });
  }

  it("the policy is evaluated without a user; None ⇒ no event; omitted ResponseStarted ⇒ no event", async () => {
    for (const [level, omit] of [
      ["None", []],
      ["Metadata", ["ResponseStarted"]],
    ] as const) {
      const sink = new MemorySink();
      const policy = fixedPolicy(level, { omitStages: [...omit] });
      const srv = await serve((_q, s) => s.end(), {
        sink,
        policy,
        authenticate: async () => Promise.reject(new Error("no")),
      });
      const r = await request(srv.port, { headers: { Authorization: "Bearer x" } });
      expect(r.status).toBe(401);
      await new Promise((res) => setTimeout(res, 20));
      expect(sink.events).toEqual([]);
      expect(policy.seen[0]?.user).toBeUndefined();
    }
  });
});

describe("options are checked up front", () => {
  it("every bad field is named", async () => {
    const { AuditOptionsError } = await import("./index");
    let err: unknown;
    try {
      withAudit((_q, s) => s.end(), {
        sink: {} as never,
        policy: { evaluate: "no" } as never,
        maxBodyBytes: -1,
        authenticate: 5 as never,
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AuditOptionsError);
    expect((err as InstanceType<typeof AuditOptionsError>).issues).toEqual([
      {
        path: "options.sink",
        message: "expected a Sink with processEvents(events), got an object",
      },
      {
        path: "options.policy",
        message: "expected a PolicyEvaluator with evaluate(attrs), got an object",
      },
      { path: "options.authenticate", message: "expected a function, got number 5" },
      {
        path: "options.maxBodyBytes",
        message: "expected a non-negative number of bytes, got number -1",
      },
    ]);
    expect((err as Error).message).toBe(
      "invalid audit options: options.sink: expected a Sink with processEvents(events), got an object; options.policy: expected a PolicyEvaluator with evaluate(attrs), got an object; options.authenticate: expected a function, got number 5; options.maxBodyBytes: expected a non-negative number of bytes, got number -1",
    );
  });
});
