import type { IncomingMessage, ServerResponse } from "node:http";
import net from "node:net";
import { encodeEvent, type UserInfo } from "@kaudit/api";
import { afterEach, describe, expect, it } from "vitest";
import type { AuditOptions } from "./index";
import { withAudit } from "./index";
import { fixedPolicy, listen, MemorySink, rawExchange, recovering, sleep } from "./test-helpers";

// Issue 20 items 4 and 5 (middleware parts). Node hands header values over as latin1 (one char
// per byte); kube-apiserver keeps the bytes and its JSON encoder writes them as UTF-8, each
// invalid byte as the escape \ufffd. The lines below are compared as encodeEvent writes them.

type Handler = (req: IncomingMessage, res: ServerResponse) => unknown;
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await (closers.pop() as () => Promise<void>)();
});

const utf8 = (s: string) => Buffer.from(s, "utf8").toString("latin1");
const bytes = (...b: number[]) => Buffer.from(b).toString("latin1");

async function server(
  handler: Handler = (_q, s) => s.end("{}"),
  options: Partial<AuditOptions> = {},
) {
  const sink = new MemorySink();
  const calls: UserInfo[] = [];
  // recovering: the server's own panic recovery, which gets what a failing handler throws.
  const srv = await listen(
    recovering(
      withAudit(handler, {
        sink,
        policy: fixedPolicy("Metadata"),
        authorizeImpersonation: (_req, requested) => {
          calls.push(requested);
          return true;
        },
        ...options,
      }),
    ),
  );
  closers.push(srv.close);
  return { sink, calls, port: srv.port };
}

/** One raw GET with extra header lines (latin1 text = the bytes sent); the final event and its line. */
async function exchange(headerLines: string, handler?: Handler) {
  const s = await server(handler);
  const reply = await rawExchange(
    s.port,
    `GET /api/v1/namespaces/default/pods HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${headerLines}\r\n`,
  );
  const rc = await s.sink.waitFor((e) => e.stage === "ResponseComplete");
  return { ...s, reply, rc, line: encodeEvent(rc) };
}

describe("header bytes are recorded as kube writes them (issue 20 item 4)", () => {
  it("UTF-8 impersonation headers and Audit-ID are read as UTF-8, not latin1", async () => {
    const { rc, line } = await exchange(
      `Impersonate-User: ${utf8("jöhn")}\r\nImpersonate-Group: ${utf8("grüppe")}\r\n` +
        `Impersonate-Uid: ${utf8("ü-1")}\r\nImpersonate-Extra-Scope: ${utf8("naïve")}\r\n` +
        `Audit-ID: ${utf8("äudit-1")}\r\n`,
    );
    expect(rc.impersonatedUser).toEqual({
      username: "jöhn",
      uid: "ü-1",
      groups: ["grüppe"],
      extra: { scope: ["naïve"] },
    });
    expect(rc.auditID).toBe("äudit-1");
    expect(line).toContain('"auditID":"äudit-1"');
    expect(line).toContain(
      '"impersonatedUser":{"username":"jöhn","uid":"ü-1","groups":["grüppe"],"extra":{"scope":["naïve"]}}',
    );
  });

  it("invalid UTF-8 becomes one \\ufffd escape per byte, as Go's encoder writes it", async () => {
    const { line, rc } = await exchange(
      `Impersonate-User: a${bytes(0xff)}b${bytes(0xe2, 0x82)}c\r\n` +
        `User-Agent: kubectl/${bytes(0xc3)}(linux)\r\nAudit-ID: id-${bytes(0xed, 0xa0, 0x80)}\r\n`,
    );
    expect(line).toContain('"username":"a\\ufffdb\\ufffd\\ufffdc"');
    expect(line).toContain('"userAgent":"kubectl/\\ufffd(linux)"');
    expect(line).toContain('"auditID":"id-\\ufffd\\ufffd\\ufffd"');
    // Whoever reads the line gets U+FFFD.
    expect(JSON.parse(line).impersonatedUser.username).toBe("a\ufffdb\ufffd\ufffdc");
    expect(rc.userAgent).toMatch(/^kubectl\/.\(linux\)$/);
  });

  it("Impersonate-Extra keys are percent-decoded as Go's PathUnescape does (bytes, then UTF-8)", async () => {
    const { rc, line } = await exchange(
      "Impersonate-User: u\r\nImpersonate-Extra-%C3%A9t%C3%A9: a\r\n" +
        "Impersonate-Extra-Bad%FF: b\r\nImpersonate-Extra-Malformed%ZZ: c\r\n",
    );
    expect(Object.keys(rc.impersonatedUser?.extra ?? {}).sort()).toEqual(
      ["bad\udcff", "malformed%zz", "été"].sort(),
    );
    expect(line).toContain('"bad\\ufffd":["b"]');
  });

  it("X-Forwarded-For is trimmed of Unicode spaces in its UTF-8 reading, as Go's TrimSpace does", async () => {
    // NBSP and NEL as UTF-8 are spaces to Go; a lone 0xA0 byte is not (JS's trim would take it).
    const trimmed = await exchange(
      `X-Forwarded-For: ${utf8("\u00a0 10.0.0.1\u0085")}, ${bytes(0xa0)}10.0.0.2\r\n`,
    );
    expect(trimmed.rc.sourceIPs).toEqual(["10.0.0.1", "127.0.0.1"]);
  });
});

describe("impersonation and body fidelity gaps (issue 20 item 5)", () => {
  it("an empty Impersonate-User is absent: no impersonation, the hook is not asked", async () => {
    const { rc, calls } = await exchange("Impersonate-User: \r\n");
    expect(rc.impersonatedUser).toBeUndefined();
    expect(rc.responseStatus?.code).toBe(200);
    expect(calls).toEqual([]);
  });

  it("groups without a user get kube's 500 'without impersonating a user', recorded at ResponseComplete", async () => {
    let called = false;
    const { rc, reply, calls } = await exchange(
      "Impersonate-User: \r\nImpersonate-Group: g1\r\n",
      (_q, s) => {
        called = true;
        s.end();
      },
    );
    expect(called).toBe(false);
    expect(calls).toEqual([]);
    expect(reply).toMatch(/^HTTP\/1.1 500 /);
    expect(reply).toContain(
      'Internal Server Error: "/api/v1/namespaces/default/pods": requested [{Group  g1    }] without impersonating a user',
    );
    expect(rc.responseStatus).toEqual({ metadata: {}, code: 500 });
    expect(rc.impersonatedUser).toBeUndefined();
  });

  it("Impersonate-Extra-__proto__ is kept as a key and touches no prototype", async () => {
    const { rc, line } = await exchange(
      "Impersonate-User: u\r\nImpersonate-Extra-__proto__: x\r\nImpersonate-Extra-constructor: y\r\n",
    );
    expect(Object.hasOwn(rc.impersonatedUser?.extra ?? {}, "__proto__")).toBe(true);
    expect(line).toContain('"extra":{"__proto__":["x"],"constructor":["y"]}');
    expect(Object.getPrototypeOf(rc.impersonatedUser?.extra)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  /** Sends the head and half of a declared body, then disconnects. */
  async function cutOff(handler: Handler) {
    const s = await server(handler, { policy: fixedPolicy("Request") });
    const sock = net.connect(s.port, "127.0.0.1");
    await new Promise((r) => sock.once("connect", r));
    sock.write(
      'POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"kind":',
    );
    await sleep(100);
    sock.destroy();
    const final = await s.sink.waitFor(
      (e) => e.stage === "ResponseComplete" || e.stage === "Panic",
    );
    await sleep(20);
    return { final, stages: s.sink.events.map((e) => e.stage) };
  }

  it("a client that disconnects while sending its body: kube's body-read failure, not a Panic", async () => {
    // A handler that reads the body and fails with the stream's error (what the demo did).
    const { final, stages } = await cutOff(async (req) => {
      for await (const _ of req) {
        /* read */
      }
    });
    expect(stages).toEqual(["RequestReceived", "ResponseComplete"]);
    expect(final.responseStatus).toEqual({
      metadata: {},
      status: "Failure",
      message: "unexpected EOF",
      code: 500,
    });
    expect(final.requestObject).toBeUndefined();
  });

  it("…also when the handler just waits for a body that never ends", async () => {
    const { final, stages } = await cutOff((req, res) => {
      req.on("end", () => res.end());
      req.resume();
    });
    expect(stages).toEqual(["RequestReceived", "ResponseComplete"]);
    expect(final.responseStatus).toMatchObject({ message: "unexpected EOF", code: 500 });
  });
});
