import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse as parseYAML } from "yaml";
import { upgradeEvent, upgradePolicy } from "./upgrade";
import { pointerToPath, validateEvent, validateEventList, validatePolicySchema } from "./validate";

const dir = fileURLToPath(new URL("./__fixtures__/", import.meta.url));

/** Every event in a corpus file: JSON lines, one (pretty) JSON object, or an EventList. */
function corpusEvents(file: string): { where: string; value: unknown; listVersion?: string }[] {
  const text = fs.readFileSync(file, "utf8");
  const name = path.relative(dir, file);
  const trimmed = text.trim();
  let whole: unknown;
  try {
    whole = JSON.parse(trimmed);
  } catch {
    return trimmed.split("\n").map((l, i) => ({ where: `${name}:${i + 1}`, value: JSON.parse(l) }));
  }
  const list = whole as { kind?: string; apiVersion?: string; items?: unknown[] };
  if (list.kind === "EventList") {
    return (list.items ?? []).map((item, i) => ({
      where: `${name} items[${i}]`,
      value: item,
      listVersion: list.apiVersion,
    }));
  }
  return [{ where: name, value: whole }];
}

const eventFiles = fs
  .readdirSync(path.join(dir, "events"), { recursive: true, encoding: "utf8" })
  .filter((f) => /\.jsonl?$/.test(f))
  .map((f) => path.join(dir, "events", f));

const all = eventFiles.flatMap(corpusEvents);
const valid = all.filter((e) => !e.where.includes("fal_01_003"));

describe("corpus events validate after upgradeEvent", () => {
  it("finds the corpus's 100 events, one of them invalid", () => {
    expect(all).toHaveLength(101 - 1 + 1 - 1 + 1); // 100 valid + the {"kind": 0} fixture
    expect(valid).toHaveLength(100);
  });

  it.each(valid.map((e) => [e.where, e] as const))("%s", (_where, e) => {
    const result = validateEvent(upgradeEvent(e.value, { apiVersion: e.listVersion }));
    if (!result.ok) expect.fail(JSON.stringify(result.issues));
    expect(result.ok).toBe(true);
  });

  it('rejects falco-trace-files/fal_01_003.json ({"kind": 0}) with paths and messages', () => {
    const [bad] = all.filter((e) => e.where.includes("fal_01_003"));
    const result = validateEvent(upgradeEvent(bad!.value));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues).toContainEqual({
      path: "kind",
      message: 'Unsupported value: 0: supported values: "Event"',
    });
    expect(result.issues).toContainEqual({ path: "level", message: "Required value" });
    expect(result.issues).toContainEqual({ path: "auditID", message: "Required value" });
  });
});

describe("validator messages and paths", () => {
  const base = {
    level: "Metadata",
    auditID: "x",
    stage: "ResponseComplete",
    requestURI: "/",
    verb: "get",
    user: {},
  };
  it.each([
    [
      { ...base, level: "metadata" },
      "level",
      'Unsupported value: "metadata": supported values: "None", "Metadata", "Request", "RequestResponse"',
    ],
    [
      { ...base, user: { groups: ["a", 1] } },
      "user.groups[1]",
      "Invalid value: 1: must be of type string",
    ],
    [{ ...base, timestamp: "2017-01-01T00:00:00Z" }, "timestamp", "unknown field"],
    [
      { ...base, responseStatus: { code: "200" } },
      "responseStatus.code",
      'Invalid value: "200": must be of type number',
    ],
    [
      { ...base, stageTimestamp: "yesterday" },
      "stageTimestamp",
      expect.stringContaining('Invalid value: "yesterday"'),
    ],
  ])("%j → %s", (value, path, message) => {
    const r = validateEvent(value);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues).toContainEqual({ path, message });
  });

  it("reports EventList item paths", () => {
    const r = validateEventList({ kind: "EventList", items: [base, { ...base, verb: 3 }] });
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.issues).toEqual([
        { path: "items[1].verb", message: "Invalid value: 3: must be of type string" },
      ]);
  });

  it("refuses timestamps of the right shape that name no real time, as kube's decoder does", () => {
    // The schema's pattern accepts them; Go's time.Parse does not (micro-time.test.ts has its table).
    expect(validateEvent({ ...base, requestReceivedTimestamp: "2017-02-30T10:00:00Z" })).toEqual({
      ok: false,
      issues: [
        {
          path: "requestReceivedTimestamp",
          message: 'Invalid value: "2017-02-30T10:00:00Z": day out of range',
        },
      ],
    });
    // with a schema error too (the slow path): both are reported
    const r = validateEvent({ ...base, verb: 3, stageTimestamp: "2017-01-01T24:00:00.000000Z" });
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.issues).toEqual([
        { path: "verb", message: "Invalid value: 3: must be of type string" },
        {
          path: "stageTimestamp",
          message: 'Invalid value: "2017-01-01T24:00:00.000000Z": hour out of range',
        },
      ]);
    const list = validateEventList({
      kind: "EventList",
      items: [base, { ...base, stageTimestamp: "2016-12-31T23:59:60Z" }],
    });
    expect(list.ok).toBe(false);
    if (!list.ok)
      expect(list.issues).toEqual([
        {
          path: "items[1].stageTimestamp",
          message: 'Invalid value: "2016-12-31T23:59:60Z": second out of range',
        },
      ]);
    expect(validateEvent({ ...base, stageTimestamp: "2016-02-29T10:00:00+24:00" }).ok).toBe(true);
  });

  it("converts JSON pointers", () => {
    expect(pointerToPath("/rules/3/level")).toBe("rules[3].level");
    expect(pointerToPath("/annotations/a~1b")).toBe("annotations.a/b");
    expect(pointerToPath("")).toBe("");
  });
});

describe("corpus policies validate against the Policy schema", () => {
  const files = fs.readdirSync(path.join(dir, "policies")).filter((f) => f.endsWith(".yaml"));
  it("has the nine corpus policies", () => expect(files).toHaveLength(9));
  it.each(files)("%s", (f) => {
    const doc = upgradePolicy(parseYAML(fs.readFileSync(path.join(dir, "policies", f), "utf8")));
    const r = validatePolicySchema(doc);
    // The OpenShift AllRequestBodies profile has the real `resource:` typo: shape-wise an unknown field.
    if (f === "openshift-allrequestbodies.yaml") {
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.issues.map((i) => i.message)).toEqual(["unknown field"]);
      return;
    }
    if (!r.ok) expect.fail(JSON.stringify(r.issues));
  });

  it("rejects a rule with a bad level with its path", () => {
    const r = validatePolicySchema({
      apiVersion: "audit.k8s.io/v1",
      kind: "Policy",
      rules: [{ level: "Metadata" }, { level: 3 }],
    });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues[0]!.path).toBe("rules[1].level");
  });
});
