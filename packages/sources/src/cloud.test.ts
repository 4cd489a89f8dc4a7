import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import type { Event } from "@kaudit/api";
import { describe, expect, it } from "vitest";
import { parseAllDocuments, parse as parseYAML } from "yaml";
import { collect, FIX, plain, stream } from "./test-helpers";

const gkeFiles = [1, 2, 3].map((i) =>
  join(FIX, `cloud/gke/khi-container_recorder_test_1_${i}.logentry.yaml`),
);
const gkeEntries = () =>
  gkeFiles.map((f) => parseYAML(readFileSync(f, "utf8")) as Record<string, unknown>);

describe("GKE: Cloud Logging LogEntries with an AuditLog payload", () => {
  const NS = "1-2-deployment-update";
  const POD = "nginx-deployment-surge-8655b4b8c5-xf5f4";
  it.each([
    [
      1,
      {
        auditID: "85371f7c-2383-4041-96e8-dad63d2d1990",
        verb: "create",
        level: "RequestResponse",
        stage: "ResponseComplete",
        requestURI: `/api/v1/namespaces/${NS}/pods`,
        objectRef: { resource: "pods", namespace: NS, name: POD, apiVersion: "v1" },
        user: { username: "system:serviceaccount:kube-system:replicaset-controller" },
        sourceIPs: ["172.16.0.3"],
        responseStatus: { metadata: {}, code: 201 },
        requestReceivedTimestamp: "2024-01-01T01:00:00.000000Z",
        stageTimestamp: "2024-01-01T01:00:00.000000Z",
      },
      5,
    ],
    [
      2,
      {
        auditID: "c7842d26-11fe-446a-b985-b2b67ddbab09",
        verb: "patch",
        level: "Request",
        requestURI: `/api/v1/namespaces/${NS}/pods/${POD}/status`,
        objectRef: {
          resource: "pods",
          namespace: NS,
          name: POD,
          apiVersion: "v1",
          subresource: "status",
        },
        user: { username: "system:node:gke-sample-cluster-default-abcdefgh-abcd" },
        sourceIPs: ["10.146.0.7"],
        userAgent: "kubelet/v1.28.14 (linux/amd64) kubernetes/a4ef1a6",
        responseStatus: { metadata: {}, code: 200 },
      },
      2,
    ],
    [
      3,
      {
        auditID: "7bf65423-5d85-43a0-aaf7-30a2ce7475df",
        verb: "patch",
        level: "Request",
        requestURI: `/api/v1/namespaces/${NS}/pods/${POD}/status`,
        responseStatus: { metadata: {}, code: 200 },
      },
      2,
    ],
  ])(
    "fixture %i maps to the event the table in the README says",
    async (i, expected, annotations) => {
      const r = await collect(gkeFiles[i - 1]!);
      expect(r.problems).toEqual([]);
      expect(r.events).toHaveLength(1);
      const e = r.events[0]!;
      expect(e).toMatchObject(expected);
      expect(Object.keys(e.annotations ?? {})).toHaveLength(annotations);
      expect(e.annotations?.["authorization.k8s.io/decision"]).toBe("allow");
      expect(e.user.groups).toBeUndefined();
      expect((e.requestObject as Record<string, unknown>)["@type"]).toBeUndefined();
      expect(r.sources[0]).toMatchObject({ format: "gke", line: 15, id: expected.auditID });
    },
  );

  it("the same entries as a JSON array (gcloud --format=json), JSON lines and YAML documents give the same events", async () => {
    const entries = gkeEntries();
    const fromFiles: Event[] = [];
    for (const f of gkeFiles) fromFiles.push(...(await collect(f)).events);
    const inputs = [
      JSON.stringify(entries, null, 2),
      JSON.stringify(entries),
      entries.map((e) => JSON.stringify(e)).join("\n"),
      gkeFiles.map((f) => readFileSync(f, "utf8")).join("\n---\n"),
    ];
    for (const text of inputs) {
      const r = await collect(stream(text, 64));
      expect(r.problems).toEqual([]);
      expect(plain(r.events)).toEqual(plain(fromFiles));
    }
    expect(parseAllDocuments(inputs[3]!)).toHaveLength(3);
  });

  it.each([
    [
      "a Kubernetes Status in response gives its HTTP code",
      {
        response: {
          "@type": "core.k8s.io/v1.Status",
          kind: "Status",
          apiVersion: "v1",
          status: "Failure",
          message: 'pods "x" already exists',
          reason: "AlreadyExists",
          code: 409,
        },
        status: { code: 6 },
      },
      { code: 409, reason: "AlreadyExists", status: "Failure" },
    ],
    [
      "gRPC PERMISSION_DENIED is 403, never a success",
      { status: { code: 7, message: "forbidden" } },
      { code: 403, message: "forbidden" },
    ],
    ["gRPC NOT_FOUND is 404", { status: { code: 5 } }, { code: 404 }],
    ["gRPC UNAUTHENTICATED is 401", { status: { code: 16 } }, { code: 401 }],
    ["no status at all: no responseStatus", { status: undefined }, undefined],
  ])("%s", async (_name, payload, status) => {
    const entry = gkeEntries()[1]!;
    const p = { ...(entry.protoPayload as object), ...payload };
    const r = await collect(stream(JSON.stringify({ ...entry, protoPayload: p })));
    expect(r.problems).toEqual([]);
    if (status === undefined) expect(r.events[0]!.responseStatus).toBeUndefined();
    else expect(r.events[0]!.responseStatus).toMatchObject(status);
  });

  it("a non-resource request (io.k8s.get, resourceName readyz) has a path and no objectRef", async () => {
    const entry = gkeEntries()[2]!;
    const p = {
      ...(entry.protoPayload as object),
      methodName: "io.k8s.get",
      resourceName: "readyz",
      request: undefined,
    };
    const r = await collect(stream(JSON.stringify({ ...entry, protoPayload: p })));
    expect(r.events[0]).toMatchObject({ verb: "get", requestURI: "/readyz", level: "Metadata" });
    expect(r.events[0]!.objectRef).toBeUndefined();
  });

  it("a group resource, cluster scoped, gets /apis and its apiGroup", async () => {
    const entry = gkeEntries()[2]!;
    const p = {
      ...(entry.protoPayload as object),
      methodName: "io.k8s.authorization.rbac.v1.clusterroles.delete",
      resourceName: "rbac.authorization.k8s.io/v1/clusterroles/edit",
    };
    const r = await collect(stream(JSON.stringify({ ...entry, protoPayload: p })));
    expect(r.events[0]).toMatchObject({
      verb: "delete",
      requestURI: "/apis/rbac.authorization.k8s.io/v1/clusterroles/edit",
      objectRef: {
        resource: "clusterroles",
        name: "edit",
        apiGroup: "rbac.authorization.k8s.io",
        apiVersion: "v1",
      },
    });
  });

  it("a __proto__ label stays an annotation key and touches no prototype", async () => {
    const entry = gkeEntries()[2]!;
    const text = JSON.stringify(entry).replace('"labels":{', '"labels":{"__proto__":"x",');
    const r = await collect(stream(text));
    expect(Object.getPrototypeOf(r.events[0]!.annotations)).toBe(Object.prototype);
    expect(Object.keys(r.events[0]!.annotations!)).toContain("__proto__");
  });
});

/** Corpus events of every version, read by the plain reader: what wrapping and reading back must give. */
async function corpus(): Promise<{ events: Event[]; lines: string[] }> {
  const files = [
    "events/audit2rbac-demo.v1.jsonl",
    "events/rbac-tool-auditgen-01.v1.jsonl",
    "events/k8s-docs/v1beta1.k8s-1.8-docs.jsonl",
    "events/falco-trace-files/exec_pod.json",
  ];
  const events: Event[] = [];
  const lines: string[] = [];
  for (const f of files) {
    const text = readFileSync(join(FIX, f), "utf8");
    lines.push(...text.split("\n").filter((l) => l.trim() !== ""));
    events.push(...(await collect(join(FIX, f))).events);
  }
  return { events, lines };
}

const T0 = Date.parse("2025-01-15T10:00:00.123Z");
const eksEvent = (message: string, i: number) => ({
  logStreamName: "kube-apiserver-audit-0f1e2d3c",
  timestamp: T0 + i,
  message,
  ingestionTime: T0 + i + 1000,
  eventId: `3871234567890123456789012345678901234567890123456789${i}`,
});

describe("EKS: CloudWatch Logs", () => {
  it("filter-log-events pages (one, many, pretty or as JSON lines), get-log-events, S3 export lines (gzip'd) give the corpus events back", async () => {
    const { events, lines } = await corpus();
    const page = (from: number, to: number) => ({
      events: lines.slice(from, to).map((m, k) => eksEvent(m, from + k)),
      searchedLogStreams: [],
      nextToken: "Bxyz",
    });
    const half = Math.floor(lines.length / 2);
    const getLogEvents = {
      events: lines.map((message, i) => ({ timestamp: T0 + i, message, ingestionTime: T0 })),
      nextForwardToken: "f/1",
      nextBackwardToken: "b/1",
    };
    const s3 = lines.map((m, i) => `${new Date(T0 + i).toISOString()} ${m}`).join("\n");
    const inputs: [string, string | Buffer][] = [
      ["one page", JSON.stringify(page(0, lines.length))],
      [
        "pages concatenated, pretty",
        `${JSON.stringify(page(0, half), null, 2)}\n${JSON.stringify(page(half, lines.length), null, 2)}\n`,
      ],
      [
        "pages as JSON lines",
        `${JSON.stringify(page(0, half))}\n${JSON.stringify(page(half, lines.length))}\n`,
      ],
      ["log events as JSON lines", lines.map((m, i) => JSON.stringify(eksEvent(m, i))).join("\n")],
      ["get-log-events", JSON.stringify(getLogEvents, null, 4)],
      ["S3 export, gzip", gzipSync(s3)],
    ];
    for (const [name, input] of inputs) {
      const r = await collect(stream(input, 512));
      expect(r.problems, name).toEqual([]);
      expect(plain(r.events), name).toEqual(plain(events));
      expect(
        r.sources.every((s) => s.format === "eks"),
        name,
      ).toBe(true);
    }
  });

  it("a message cut with [Truncated...] is a problem naming the auditID; the rest is read", async () => {
    const { lines } = await corpus();
    const cut = `${lines[1]!.slice(0, 300)}[Truncated...]`;
    const page = { events: [eksEvent(lines[0]!, 0), eksEvent(cut, 1), eksEvent(lines[2]!, 2)] };
    const r = await collect(stream(JSON.stringify(page, null, 2)));
    expect(r.events).toHaveLength(2);
    expect(r.problems).toHaveLength(1);
    const id = JSON.parse(lines[1]!).auditID as string;
    expect(r.problems[0]!.message).toContain(`auditID ${id}`);
    expect(r.problems[0]).toMatchObject({ path: "events[1].message", line: expect.any(Number) });
    expect(r.counts.dropped).toBe(1);
  });
});

describe("AKS: diagnostic settings", () => {
  const record = (log: unknown, category = "kube-audit") => ({
    time: "2025-01-15T10:00:00.1250000Z",
    resourceId:
      "/SUBSCRIPTIONS/0/RESOURCEGROUPS/RG1/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/AKS1",
    category,
    operationName: "Microsoft.ContainerService/managedClusters/diagnosticLogs/Read",
    properties: {
      pod: "kube-apiserver-6d8f9c7b5-x2x9q",
      stream: "stdout",
      containerID: "4f3e",
      log,
    },
  });

  it("records bodies (Event Hub) and PT1H.json lines, log as string or object, give the corpus events back", async () => {
    const { events, lines } = await corpus();
    const inputs: [string, string][] = [
      ["records body, log as strings", JSON.stringify({ records: lines.map((l) => record(l)) })],
      [
        "records body pretty, log as objects",
        JSON.stringify(
          { records: lines.map((l) => record(JSON.parse(l), "kube-audit-admin")) },
          null,
          2,
        ),
      ],
      [
        "PT1H.json lines",
        lines.map((l, i) => JSON.stringify(record(i % 2 ? l : JSON.parse(l)))).join("\n"),
      ],
    ];
    for (const [name, text] of inputs) {
      const r = await collect(stream(text, 300));
      expect(r.problems, name).toEqual([]);
      expect(plain(r.events), name).toEqual(plain(events));
      expect(
        r.sources.every((s) => s.format === "aks"),
        name,
      ).toBe(true);
    }
  });

  it("records of other categories are skipped and counted", async () => {
    const { lines } = await corpus();
    const body = {
      records: [
        record(lines[0]),
        record("I0115 10:00:00.1 1 controller.go:1] started", "kube-apiserver"),
        record("guard log", "guard"),
        record(lines[1]),
      ],
    };
    const r = await collect(stream(JSON.stringify(body)));
    expect(r.problems).toEqual([]);
    expect(r.events).toHaveLength(2);
    expect(r.counts).toMatchObject({ skipped: 2, skippedBy: { "aks-category": 2 }, dropped: 0 });
  });

  it("a log that is not an event is a problem at its record", async () => {
    const text = JSON.stringify({ records: [record("{not json")] }, null, 2);
    const r = await collect(stream(text));
    const line = text.split("\n").findIndex((l) => l.includes('"log":')) + 1;
    expect(r.problems).toEqual([
      expect.objectContaining({ path: "records[0].properties.log", line }),
    ]);
  });
});
