import type { Event } from "@kaudit/api";
import { encodeEvent, validateEvent } from "@kaudit/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addAuditAnnotation, setImpersonatedUser, withAudit } from "./index";
import { fixedPolicy, listen, MemorySink, request } from "./test-helpers";

/** A sink that keeps the encoded line and the validation result, as a log backend would see them. */
class EncodingSink extends MemorySink {
  lines: string[] = [];
  invalid: unknown[] = [];
  override processEvents(events: readonly Event[]) {
    for (const e of events) {
      this.lines.push(encodeEvent(e));
      const v = validateEvent(JSON.parse(JSON.stringify(e)));
      if (!v.ok) this.invalid.push(v.issues);
    }
    return super.processEvents(events);
  }
}

const sink = new EncodingSink();
let srv: Awaited<ReturnType<typeof listen>>;
beforeAll(async () => {
  srv = await listen(
    withAudit(
      (req, res) => {
        setImpersonatedUser(req, { username: "bob", groups: ["ops"] });
        addAuditAnnotation(req, "z.example.com/b", "<&>");
        addAuditAnnotation(req, "a.example.com/a", "1");
        req.resume();
        req.on("end", () => {
          res.writeHead(409, { "Content-Type": "application/json" });
          res.end(
            JSON.stringify({
              kind: "Status",
              apiVersion: "v1",
              metadata: {},
              status: "Failure",
              message: "conflict <x>",
              reason: "AlreadyExists",
              code: 409,
            }),
          );
        });
      },
      {
        sink,
        policy: fixedPolicy("RequestResponse"),
        authenticate: () => ({ name: "alice", uid: "u1", groups: ["g"], extra: { k: ["v"] } }),
        clock: () => Date.UTC(2026, 10, 22, 10, 4, 5) + 0.5,
      },
    ),
  );
});
afterAll(() => srv.close());

describe("events encode like kube-apiserver's log backend", () => {
  it("captured bodies keep their bytes: key order and number spelling as sent", async () => {
    const body = '{"kind":"ConfigMap","metadata":{"name":"c"},"data":{"b":"1","10":"2"},"n":1.0}';
    const r = await request(srv.port, {
      method: "POST",
      path: "/api/v1/namespaces/d/configmaps",
      headers: { "Content-Type": "application/json", "Audit-ID": "raw-id" },
      body: `  ${body.replaceAll(",", ", ")}\n`,
    });
    await sink.final(r.headers["audit-id"] as string);
    const line = sink.lines.find((l) =>
      l.includes('"auditID":"raw-id","stage":"ResponseComplete"'),
    ) as string;
    expect(line).toContain(`"requestObject":${body},`);
  });

  it("validate against the v1 schema and encode in wire order", async () => {
    const r = await request(srv.port, {
      method: "POST",
      path: "/api/v1/namespaces/d/configmaps?dryRun=All",
      headers: {
        "Content-Type": "application/json",
        "User-Agent": "kubectl/v1.31.0",
        "Audit-ID": "fixed-id",
      },
      body: '{"kind":"ConfigMap","metadata":{"name":"c"}}',
    });
    await sink.final(r.headers["audit-id"] as string);
    expect(sink.invalid).toEqual([]);
    expect(sink.lines.filter((l) => l.includes('"auditID":"fixed-id"'))).toEqual([
      '{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"fixed-id","stage":"RequestReceived","requestURI":"/api/v1/namespaces/d/configmaps?dryRun=All","verb":"create","user":{"username":"alice","uid":"u1","groups":["g"],"extra":{"k":["v"]}},"sourceIPs":["127.0.0.1"],"userAgent":"kubectl/v1.31.0","objectRef":{"resource":"configmaps","namespace":"d","apiVersion":"v1"},"requestReceivedTimestamp":"2026-11-22T10:04:05.000500Z","stageTimestamp":"2026-11-22T10:04:05.000500Z"}',
      '{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"fixed-id","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/d/configmaps?dryRun=All","verb":"create","user":{"username":"alice","uid":"u1","groups":["g"],"extra":{"k":["v"]}},"impersonatedUser":{"username":"bob","groups":["ops"]},"sourceIPs":["127.0.0.1"],"userAgent":"kubectl/v1.31.0","objectRef":{"resource":"configmaps","namespace":"d","name":"c","apiVersion":"v1"},"responseStatus":{"metadata":{},"status":"Failure","message":"conflict \\u003cx\\u003e","reason":"AlreadyExists","code":409},"requestObject":{"kind":"ConfigMap","metadata":{"name":"c"}},"responseObject":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"conflict \\u003cx\\u003e","reason":"AlreadyExists","code":409},"requestReceivedTimestamp":"2026-11-22T10:04:05.000500Z","stageTimestamp":"2026-11-22T10:04:05.000500Z","annotations":{"a.example.com/a":"1","z.example.com/b":"\\u003c\\u0026\\u003e"}}',
    ]);
  });
});
