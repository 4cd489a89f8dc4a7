import type { Event, PolicyDecision } from "@kaudit/api";
import { describe, expect, it } from "vitest";
import { applyDecision, stripManagedFields } from "./apply";
import { PolicyError } from "./errors";

const mf = [{ manager: "kubectl", operation: "Update" }];
const pod = { kind: "Pod", apiVersion: "v1", metadata: { name: "p", managedFields: mf }, spec: {} };

const event: Event = {
  kind: "Event",
  apiVersion: "audit.k8s.io/v1",
  level: "RequestResponse",
  auditID: "a",
  stage: "ResponseComplete",
  requestURI: "/api/v1/namespaces/d/pods",
  verb: "create",
  user: { username: "alice" },
  requestObject: pod,
  responseObject: pod,
  responseStatus: { metadata: {}, code: 201 },
};

const decision = (p: Partial<PolicyDecision>): PolicyDecision => ({
  level: "RequestResponse",
  omitStages: [],
  omitManagedFields: false,
  ruleIndex: 0,
  ...p,
});

describe("applyDecision (kube's EnforcePolicy)", () => {
  it.each([
    ["omitted stage ⇒ dropped", decision({ omitStages: ["ResponseComplete"] }), undefined],
    ["None ⇒ dropped", decision({ level: "None" }), undefined],
    [
      "Metadata ⇒ both bodies dropped",
      decision({ level: "Metadata" }),
      { level: "Metadata", req: false, resp: false },
    ],
    [
      "Request ⇒ response body dropped",
      decision({ level: "Request" }),
      { level: "Request", req: true, resp: false },
    ],
    [
      "RequestResponse ⇒ both kept",
      decision({}),
      { level: "RequestResponse", req: true, resp: true },
    ],
  ] as const)("%s", (_name, d, expected) => {
    const before = JSON.stringify(event);
    const out = applyDecision(event, d);
    expect(JSON.stringify(event)).toBe(before);
    if (expected === undefined) {
      expect(out).toBeUndefined();
      return;
    }
    expect(out).not.toBe(event);
    expect(out!.level).toBe(expected.level);
    expect("requestObject" in out!).toBe(expected.req);
    expect("responseObject" in out!).toBe(expected.resp);
    expect(out!.responseStatus).toEqual({ metadata: {}, code: 201 });
  });

  it("an omitted stage drops the event even when the level would keep it", () => {
    expect(
      applyDecision(
        { ...event, stage: "RequestReceived" },
        decision({ omitStages: ["RequestReceived"] }),
      ),
    ).toBeUndefined();
    expect(applyDecision(event, decision({ omitStages: ["RequestReceived"] }))).toBeDefined();
  });

  it("relabels the level upwards too (bodies that were not recorded stay absent)", () => {
    const meta: Event = { ...event, level: "Metadata" };
    delete meta.requestObject;
    delete meta.responseObject;
    const out = applyDecision(meta, decision({ level: "RequestResponse" }))!;
    expect(out.level).toBe("RequestResponse");
    expect(out.requestObject).toBeUndefined();
  });

  it("strips managedFields when asked, without touching the original", () => {
    const out = applyDecision(event, decision({ omitManagedFields: true }))!;
    expect(out.requestObject).toEqual({
      kind: "Pod",
      apiVersion: "v1",
      metadata: { name: "p" },
      spec: {},
    });
    expect(out.responseObject).toEqual({
      kind: "Pod",
      apiVersion: "v1",
      metadata: { name: "p" },
      spec: {},
    });
    expect(pod.metadata.managedFields).toBe(mf);
    expect(applyDecision(event, decision({}))!.requestObject).toEqual(pod);
  });

  it("an unknown level is an error (`level unknown: x`)", () => {
    expect(() => applyDecision(event, decision({ level: "Everything" as "None" }))).toThrow(
      PolicyError,
    );
    expect(() => applyDecision(event, decision({ level: "Everything" as "None" }))).toThrow(
      "level unknown: Everything",
    );
  });
});

describe("stripManagedFields", () => {
  it("removes metadata.managedFields from an object", () => {
    expect(stripManagedFields(pod)).toEqual({
      kind: "Pod",
      apiVersion: "v1",
      metadata: { name: "p" },
      spec: {},
    });
  });

  it("from every list item", () => {
    const list = {
      kind: "PodList",
      metadata: { resourceVersion: "1" },
      items: [pod, { metadata: { name: "q" } }],
    };
    const out = stripManagedFields(list);
    expect(out.items).toEqual([
      { kind: "Pod", apiVersion: "v1", metadata: { name: "p" }, spec: {} },
      { metadata: { name: "q" } },
    ]);
    expect(list.items[0]).toBe(pod);
  });

  it("from every Table row object", () => {
    const table = { kind: "Table", rows: [{ cells: ["p"], object: pod }, { cells: ["x"] }] };
    const out = stripManagedFields(table);
    expect(out.rows[0]!.object).toEqual({
      kind: "Pod",
      apiVersion: "v1",
      metadata: { name: "p" },
      spec: {},
    });
    expect(out.rows[1]).toEqual({ cells: ["x"] });
    expect(table.rows[0]!.object!.metadata.managedFields).toBe(mf);
  });

  it("leaves objects without metadata (a Status) and non-objects as they are", () => {
    const status = { kind: "Status", status: "Failure", code: 404 };
    expect(stripManagedFields(status)).toEqual(status);
    expect(stripManagedFields(null)).toBeNull();
    expect(stripManagedFields([1])).toEqual([1]);
  });
});
