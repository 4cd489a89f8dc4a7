import type { IncomingMessage, ServerResponse } from "node:http";
import http from "node:http";
import type { Event, Level } from "@kaudit/api";
import { afterEach, describe, expect, it } from "vitest";
import type { AuditOptions } from "./index";
import {
  ANNOTATION_REQUEST_OBJECT_OMITTED,
  ANNOTATION_RESPONSE_OBJECT_OMITTED,
  logRequestObject,
  logResponseObject,
  withAudit,
} from "./index";
import { fixedPolicy, listen, MemorySink, openRaw, request, sleep } from "./test-helpers";

type Handler = (req: IncomingMessage, res: ServerResponse) => unknown;
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await (closers.pop() as () => Promise<void>)();
});

/** Reads the whole request body (as a handler would) and answers with what it read. */
const echoJSON: Handler = (req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks).toString();
    res.setHeader("Content-Type", "application/json");
    res.end(JSON.stringify({ kind: "Echo", got: body }));
  });
};

async function run(
  level: Level,
  req: Parameters<typeof request>[1],
  handler: Handler = echoJSON,
  options: Omit<Partial<AuditOptions>, "sink"> = {},
  decision: Parameters<typeof fixedPolicy>[1] = {},
) {
  const sink = new MemorySink();
  const srv = await listen(
    withAudit(handler, { sink, policy: fixedPolicy(level, decision), ...options }),
  );
  closers.push(srv.close);
  const r = await request(srv.port, req);
  const evs = await sink.final(r.headers["audit-id"] as string);
  return { r, evs, rr: evs[0] as Event, rc: evs[evs.length - 1] as Event };
}

const POD = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: {
    name: "web-1",
    namespace: "default",
    uid: "0b1c",
    resourceVersion: "42",
    managedFields: [{ manager: "kubectl", operation: "Update" }],
  },
  spec: { containers: [{ name: "c", image: "nginx<1.27>&more" }] },
};
const CREATE = {
  method: "POST",
  path: "/api/v1/namespaces/default/pods",
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify(POD),
};

describe("bodies by level (§6.3)", () => {
  it("Metadata: no bodies, but a create's objectRef is completed from the body after RequestReceived", async () => {
    const { r, rr, rc } = await run("Metadata", CREATE);
    expect(JSON.parse(r.body).got).toBe(CREATE.body);
    expect(rr.objectRef).toEqual({ resource: "pods", namespace: "default", apiVersion: "v1" });
    expect(rc.objectRef).toEqual({
      resource: "pods",
      namespace: "default",
      name: "web-1",
      uid: "0b1c",
      apiVersion: "v1",
      resourceVersion: "42",
    });
    expect(rc.requestObject).toBeUndefined();
    expect(rc.responseObject).toBeUndefined();
    expect(rc.responseStatus).toEqual({ metadata: {}, code: 200 });
  });

  it("Request: the JSON request body, no response body", async () => {
    const { r, rr, rc } = await run("Request", CREATE);
    expect(JSON.parse(r.body).got).toBe(CREATE.body);
    expect(rr.requestObject).toBeUndefined();
    expect(rc.requestObject).toEqual(POD);
    expect(rc.responseObject).toBeUndefined();
  });

  it("RequestResponse: both bodies, the client sees the same bytes", async () => {
    const { r, rc } = await run("RequestResponse", CREATE);
    expect(rc.requestObject).toEqual(POD);
    expect(rc.responseObject).toEqual(JSON.parse(r.body));
    expect(JSON.parse(r.body)).toEqual({ kind: "Echo", got: CREATE.body });
  });

  it("omitManagedFields strips managedFields from create bodies, never from the original", async () => {
    const { r, rc } = await run(
      "RequestResponse",
      CREATE,
      echoJSON,
      {},
      { omitManagedFields: true },
    );
    const stripped = structuredClone(POD) as Record<string, unknown> & {
      metadata: Record<string, unknown>;
    };
    delete stripped.metadata.managedFields;
    expect(rc.requestObject).toEqual(stripped);
    expect(JSON.parse(JSON.parse(r.body).got)).toEqual(POD);
  });

  it("patch bodies are recorded as sent (no managedFields stripping), arrays included", async () => {
    const patch = [{ op: "replace", path: "/metadata/managedFields", value: [] }];
    const { rc } = await run(
      "Request",
      {
        method: "PATCH",
        path: "/api/v1/namespaces/default/pods/web-1",
        headers: { "Content-Type": "application/json-patch+json" },
        body: JSON.stringify(patch),
      },
      echoJSON,
      {},
      { omitManagedFields: true },
    );
    expect(rc.requestObject).toEqual(patch);
  });

  it("a Status response is copied into responseStatus at every level; code is the one written", async () => {
    const status = {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: 'pods "x" not found',
      reason: "NotFound",
      details: { name: "x", kind: "pods" },
      code: 404,
    };
    for (const level of ["Metadata", "Request", "RequestResponse"] as const) {
      const { rc } = await run(level, { path: "/api/v1/namespaces/default/pods/x" }, (_q, res) => {
        res.writeHead(404, { "Content-Type": "application/json" });
        res.end(JSON.stringify(status));
      });
      expect(rc.responseStatus).toEqual({
        metadata: {},
        status: "Failure",
        message: 'pods "x" not found',
        reason: "NotFound",
        details: { name: "x", kind: "pods" },
        code: 404,
      });
      expect(rc.responseObject).toEqual(level === "RequestResponse" ? status : undefined);
    }
  });

  it("a successful delete answered with a Status is copied at Metadata", async () => {
    const { rc } = await run(
      "Metadata",
      { method: "DELETE", path: "/api/v1/namespaces/d/pods/x" },
      (_q, res) => {
        res.setHeader("Content-Type", "application/json");
        res.end(
          JSON.stringify({
            kind: "Status",
            apiVersion: "v1",
            metadata: {},
            status: "Success",
            details: { name: "x", kind: "pods", uid: "u" },
          }),
        );
      },
    );
    expect(rc.responseStatus).toEqual({
      metadata: {},
      status: "Success",
      details: { name: "x", kind: "pods", uid: "u" },
      code: 200,
    });
  });

  it("bodies over maxBodyBytes are left out with an annotation; handler and client unaffected", async () => {
    const big = { kind: "ConfigMap", data: { blob: "z".repeat(5000) } };
    const { r, rc } = await run(
      "RequestResponse",
      {
        method: "POST",
        path: "/api/v1/namespaces/d/configmaps",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(big),
      },
      echoJSON,
      { maxBodyBytes: 1000 },
    );
    expect(JSON.parse(JSON.parse(r.body).got)).toEqual(big);
    expect(rc.requestObject).toBeUndefined();
    expect(rc.responseObject).toBeUndefined();
    expect(rc.annotations).toEqual({
      [ANNOTATION_REQUEST_OBJECT_OMITTED]: "body larger than 1000 bytes",
      [ANNOTATION_RESPONSE_OBJECT_OMITTED]: "body larger than 1000 bytes",
    });
  });

  it("non-JSON and invalid JSON request bodies are left out with a reason", async () => {
    const yaml = await run("Request", {
      method: "POST",
      path: "/api/v1/namespaces/d/pods",
      headers: { "Content-Type": "application/yaml" },
      body: "kind: Pod\n",
    });
    expect(yaml.rc.requestObject).toBeUndefined();
    expect(yaml.rc.annotations?.[ANNOTATION_REQUEST_OBJECT_OMITTED]).toBe(
      'content type "application/yaml" is not JSON',
    );
    const bad = await run("Request", {
      method: "POST",
      path: "/api/v1/namespaces/d/pods",
      headers: { "Content-Type": "application/json" },
      body: "{nope",
    });
    expect(bad.rc.annotations?.[ANNOTATION_REQUEST_OBJECT_OMITTED]).toMatch(/^invalid JSON: /);
  });

  it("a chunked request body is assembled", async () => {
    const sink = new MemorySink();
    const srv = await listen(withAudit(echoJSON, { sink, policy: fixedPolicy("Request") }));
    closers.push(srv.close);
    const body = JSON.stringify(POD);
    const r = await new Promise<{ id: string; text: string }>((resolve, reject) => {
      const req = http.request(
        {
          host: "127.0.0.1",
          port: srv.port,
          method: "PUT",
          path: "/api/v1/namespaces/default/pods/web-1",
          headers: { "Content-Type": "application/json" },
          agent: false,
        },
        (res) => {
          let text = "";
          res.on("data", (d) => {
            text += d;
          });
          res.on("end", () => resolve({ id: res.headers["audit-id"] as string, text }));
        },
      );
      req.on("error", reject);
      (async () => {
        for (let i = 0; i < body.length; i += 40) {
          req.write(body.slice(i, i + 40));
          await sleep(1);
        }
        req.end();
      })();
    });
    expect(JSON.parse(r.text).got).toBe(body);
    const evs = await sink.final(r.id);
    expect(evs[1]?.requestObject).toEqual(POD);
  });

  it("explicit logRequestObject / logResponseObject win over captured bodies", async () => {
    const { rc } = await run("RequestResponse", CREATE, (req, res) => {
      logRequestObject(req, { kind: "Decoded", metadata: { name: "from-handler" } });
      logResponseObject(req, { kind: "Status", status: "Success", code: 201 });
      req.resume();
      req.on("end", () => {
        res.writeHead(201, { "Content-Type": "application/json" });
        res.end('{"kind":"Ignored"}');
      });
    });
    expect(rc.requestObject).toEqual({ kind: "Decoded", metadata: { name: "from-handler" } });
    expect(rc.objectRef?.name).toBe("from-handler");
    expect(rc.responseObject).toEqual({ kind: "Status", status: "Success", code: 201 });
    expect(rc.responseStatus).toEqual({ metadata: {}, status: "Success", code: 201 });
  });

  it("watch streams never get a responseObject", async () => {
    const { rc, evs } = await run(
      "RequestResponse",
      { path: "/api/v1/pods?watch=1" },
      async (_q, res) => {
        res.writeHead(200, { "Content-Type": "application/json" });
        res.write('{"type":"ADDED","object":{"kind":"Pod"}}\n');
        await sleep(2);
        res.end();
      },
    );
    expect(evs.map((e) => e.stage)).toEqual([
      "RequestReceived",
      "ResponseStarted",
      "ResponseComplete",
    ]);
    expect(rc.responseObject).toBeUndefined();
    expect(rc.annotations).toBeUndefined();
  });

  it("a body the handler never read is left out with a reason", async () => {
    const sink = new MemorySink();
    const srv = await listen(
      withAudit((_q, res) => res.end("early"), { sink, policy: fixedPolicy("Request") }),
    );
    closers.push(srv.close);
    const body = '{"kind":"Pod"}';
    const sock = await openRaw(
      srv.port,
      `POST /api/v1/namespaces/d/pods HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    const rr = await sink.waitFor((e) => e.stage === "RequestReceived");
    await sleep(20);
    sock.end(body);
    const evs = await sink.final(rr.auditID);
    sock.destroy();
    expect(evs[1]?.requestObject).toBeUndefined();
    expect(evs[1]?.annotations).toEqual({
      [ANNOTATION_REQUEST_OBJECT_OMITTED]: "body was not read completely by the handler",
    });
  });

  it("captureBodies: false records nothing automatically", async () => {
    const { rc } = await run("RequestResponse", CREATE, echoJSON, { captureBodies: false });
    expect(rc.requestObject).toBeUndefined();
    expect(rc.responseObject).toBeUndefined();
  });

  it("a streamed chunked JSON response is assembled at RequestResponse", async () => {
    const list = {
      kind: "PodList",
      items: Array.from({ length: 30 }, (_, i) => ({ metadata: { name: `p${i}` } })),
    };
    const text = JSON.stringify(list);
    const { r, rc } = await run("RequestResponse", { path: "/api/v1/pods" }, async (_q, res) => {
      res.setHeader("Content-Type", "application/json; charset=utf-8");
      for (let i = 0; i < text.length; i += 100) {
        res.write(i % 200 === 0 ? text.slice(i, i + 100) : Buffer.from(text.slice(i, i + 100)));
        await sleep(0);
      }
      res.end();
    });
    expect(r.headers["transfer-encoding"]).toBe("chunked");
    expect(r.body).toBe(text);
    expect(rc.responseObject).toEqual(list);
  });
});
