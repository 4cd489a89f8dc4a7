import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createPolicyEvaluator, parsePolicy } from "@kaudit/policy";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withAudit } from "./index";
import { listen, MemorySink, request, sleep } from "./test-helpers";

// The kubernetes.io documentation example policy, evaluated by @kaudit/policy.
const policy = createPolicyEvaluator(
  parsePolicy(
    readFileSync(
      new URL("./__fixtures__/k8s-website-example-policy.yaml", import.meta.url),
      "utf8",
    ),
  ),
);
const sink = new MemorySink();
let srv: Awaited<ReturnType<typeof listen>>;

const handler = (req: IncomingMessage, res: ServerResponse) => {
  req.resume();
  req.on("end", () => {
    res.setHeader("Content-Type", "application/json");
    res.end(JSON.stringify({ kind: "Thing", metadata: { name: "x" } }));
  });
};

beforeAll(async () => {
  srv = await listen(
    withAudit(handler, {
      sink,
      policy,
      authenticate: (req) =>
        req.headers.authorization === "Bearer alice"
          ? { name: "alice", groups: ["system:authenticated"] }
          : undefined,
    }),
  );
});
afterAll(() => srv.close());

describe("with the documentation example policy", () => {
  const cases: {
    name: string;
    method?: string;
    path: string;
    user?: boolean;
    body?: string;
    level?: string;
    stages: string[];
    requestObject?: boolean;
    responseObject?: boolean;
  }[] = [
    {
      name: "pods at RequestResponse, RequestReceived omitted policy-wide",
      path: "/api/v1/namespaces/d/pods/p",
      level: "RequestResponse",
      stages: ["ResponseComplete"],
      responseObject: true,
    },
    {
      name: "pods/log: Metadata, long-running",
      path: "/api/v1/namespaces/d/pods/p/log",
      level: "Metadata",
      stages: ["ResponseStarted", "ResponseComplete"],
    },
    {
      name: "controller-leader configmap: None",
      path: "/api/v1/namespaces/d/configmaps/controller-leader",
      stages: [],
    },
    {
      name: "kube-system configmap update at Request",
      method: "PUT",
      path: "/api/v1/namespaces/kube-system/configmaps/c",
      body: '{"kind":"ConfigMap","metadata":{"name":"c"}}',
      level: "Request",
      stages: ["ResponseComplete"],
      requestObject: true,
    },
    { name: "/version by an authenticated user: None", path: "/version", user: true, stages: [] },
    {
      name: "/version unauthenticated: catch-all Metadata",
      path: "/version",
      level: "Metadata",
      stages: ["ResponseComplete"],
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const r = await request(srv.port, {
        method: c.method ?? "GET",
        path: c.path,
        headers: {
          ...(c.user ? { Authorization: "Bearer alice" } : {}),
          ...(c.body ? { "Content-Type": "application/json" } : {}),
        },
        ...(c.body ? { body: c.body } : {}),
      });
      const id = r.headers["audit-id"] as string;
      if (c.stages.length === 0) {
        await sleep(20);
        expect(sink.of(id)).toEqual([]);
        return;
      }
      const evs = await sink.final(id);
      expect(evs.map((e) => e.stage)).toEqual(c.stages);
      for (const e of evs) expect(e.level).toBe(c.level);
      const last = evs.at(-1);
      expect(last?.requestObject !== undefined).toBe(c.requestObject ?? false);
      expect(last?.responseObject !== undefined).toBe(c.responseObject ?? false);
    });
  }
});
