import { readFileSync } from "node:fs";
import type { Event } from "@kaudit/api";
import { describe, expect, it } from "vitest";
import { LegacyFormatError } from "./errors";
import { formatLegacyLine } from "./format";

const events = (name: string): Event[] =>
  readFileSync(new URL(`./__fixtures__/events/${name}`, import.meta.url), "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Event);

const rbac1 = events("rbac-tool-auditgen-01.v1.jsonl");
const rbac2 = events("rbac-tool-auditgen-02.v1.jsonl");
const demo = events("audit2rbac-demo.v1.jsonl");

// Expected lines derived by hand from spec §8.3 (format.go EventString), field by field.
const CORPUS: [name: string, event: Event, line: string][] = [
  [
    "rbac-tool 01 #1: create pod, user-agent, uid not in the format",
    rbac1[0]!,
    '2020-04-08T16:32:36.125094Z AUDIT: id="c38408b4-23f7-4942-bcd7-d9019ae2e8ea" stage="ResponseComplete" ip="98.207.36.92" method="create" user="admin" groups="\\"system:masters\\",\\"system:authenticated\\"" as="<self>" asgroups="<lookup>" user-agent="kubectl/v1.17.4 (darwin/amd64) kubernetes/8d8aa39" namespace="ns1" uri="/api/v1/namespaces/ns1/pods" response="201"',
  ],
  [
    "rbac-tool 02 #2: objectRef.namespace (not the uri's) is written",
    rbac2[1]!,
    '2020-04-08T16:32:36.399597Z AUDIT: id="1a7c78f0-bc92-44ff-bb50-87f61241db73" stage="ResponseComplete" ip="98.207.36.92" method="create" user="diana" groups="\\"system:authenticated\\"" as="<self>" asgroups="<lookup>" user-agent="kubectl/v1.17.4 (darwin/amd64) kubernetes/8d8aa39" namespace="alcide" uri="/api/v1/namespaces/ns2/configmaps" response="201"',
  ],
  [
    "audit2rbac #1: impersonation, 403, no requestReceivedTimestamp → Go zero time",
    demo[0]!,
    '0001-01-01T00:00:00Z AUDIT: id="033d17af-082d-4b24-aa22-627752e83d71" stage="ResponseComplete" ip="::1" method="list" user="system:admin" groups="\\"system:masters\\",\\"system:authenticated\\"" as="bob" asgroups="\\"system:authenticated\\"" user-agent="" namespace="default" uri="/api/v1/namespaces/default/pods" response="403"',
  ],
  [
    "audit2rbac #10: non-resource URL → namespace <none>",
    demo[9]!,
    '0001-01-01T00:00:00Z AUDIT: id="eed8aa73-fedf-46b2-88f6-92019cf5e06e" stage="ResponseComplete" ip="::1" method="get" user="system:admin" groups="\\"system:masters\\",\\"system:authenticated\\"" as="bob" asgroups="\\"system:authenticated\\"" user-agent="" namespace="<none>" uri="/api" response="200"',
  ],
];

describe("formatLegacyLine on corpus events", () => {
  it("uses the timestamps the fixtures really hold", () => {
    expect(rbac2[1]!.requestReceivedTimestamp).toBe("2020-04-08T16:32:36.399597Z");
  });
  it.each(CORPUS)("%s", (_name, event, line) => {
    expect(formatLegacyLine(event)).toBe(line);
  });
});

const base: Event = {
  level: "Metadata",
  auditID: "id-1",
  stage: "ResponseComplete",
  requestURI: "/healthz",
  verb: "get",
  user: {},
  requestReceivedTimestamp: "2021-04-01T10:20:30.123000Z",
};
const TAIL = 'namespace="<none>" uri="/healthz" response="<deferred>"';

const SYNTHETIC: [name: string, event: Event, line: string][] = [
  [
    "everything absent: every placeholder, trailing zeros trimmed",
    base,
    `2021-04-01T10:20:30.123Z AUDIT: id="id-1" stage="ResponseComplete" ip="<unknown>" method="get" user="<none>" groups="<none>" as="<self>" asgroups="<lookup>" user-agent="" ${TAIL}`,
  ],
  [
    "whole-second timestamp has no fraction; groups without username stay <none>",
    { ...base, requestReceivedTimestamp: "2021-04-01T10:20:30.000000Z", user: { groups: ["g"] } },
    `2021-04-01T10:20:30Z AUDIT: id="id-1" stage="ResponseComplete" ip="<unknown>" method="get" user="<none>" groups="<none>" as="<self>" asgroups="<lookup>" user-agent="" ${TAIL}`,
  ],
  [
    "offset timestamp converted to UTC; nanoseconds kept",
    { ...base, requestReceivedTimestamp: "2017-09-05T06:08:19.885328047-04:00" },
    `2017-09-05T10:08:19.885328047Z AUDIT: id="id-1" stage="ResponseComplete" ip="<unknown>" method="get" user="<none>" groups="<none>" as="<self>" asgroups="<lookup>" user-agent="" ${TAIL}`,
  ],
  [
    'impersonated user with nil groups → <lookup>, empty groups → "", empty name → ""',
    { ...base, user: { username: "u", groups: [] }, impersonatedUser: { groups: [] } },
    `2021-04-01T10:20:30.123Z AUDIT: id="id-1" stage="ResponseComplete" ip="<unknown>" method="get" user="u" groups="<none>" as="" asgroups="" user-agent="" ${TAIL}`,
  ],
  [
    "impersonated user without groups",
    { ...base, impersonatedUser: { username: "jane" } },
    `2021-04-01T10:20:30.123Z AUDIT: id="id-1" stage="ResponseComplete" ip="<unknown>" method="get" user="<none>" groups="<none>" as="jane" asgroups="<lookup>" user-agent="" ${TAIL}`,
  ],
  [
    "responseStatus without code → 0; first source IP only; empty namespace → <none>",
    {
      ...base,
      sourceIPs: ["10.0.0.1", "10.0.0.2"],
      responseStatus: { metadata: {} },
      objectRef: { resource: "nodes", namespace: "" },
    },
    '2021-04-01T10:20:30.123Z AUDIT: id="id-1" stage="ResponseComplete" ip="10.0.0.1" method="get" user="<none>" groups="<none>" as="<self>" asgroups="<lookup>" user-agent="" namespace="<none>" uri="/healthz" response="0"',
  ],
  [
    "quoting: quotes, newline and a forged AUDIT: line stay on one line",
    {
      ...base,
      requestURI: '/x?q="\n2021-01-01T00:00:00Z AUDIT: id="forged"',
      user: { username: 'ev"il\\', groups: ['a"b', "c,d"] },
      userAgent: "curl/8\t\u200b\u00e9",
    },
    '2021-04-01T10:20:30.123Z AUDIT: id="id-1" stage="ResponseComplete" ip="<unknown>" method="get" user="ev\\"il\\\\" groups="\\"a\\\\\\"b\\",\\"c,d\\"" as="<self>" asgroups="<lookup>" user-agent="curl/8\\t\\u200b\u00e9" namespace="<none>" uri="/x?q=\\"\\n2021-01-01T00:00:00Z AUDIT: id=\\"forged\\"" response="<deferred>"',
  ],
  [
    "null requestReceivedTimestamp → Go zero time; empty stage",
    { ...base, requestReceivedTimestamp: null, stage: "" as Event["stage"] },
    `0001-01-01T00:00:00Z AUDIT: id="id-1" stage="" ip="<unknown>" method="get" user="<none>" groups="<none>" as="<self>" asgroups="<lookup>" user-agent="" ${TAIL}`,
  ],
];

describe("formatLegacyLine: placeholders, timestamps, quoting", () => {
  it.each(SYNTHETIC)("%s", (_name, event, line) => {
    const out = formatLegacyLine(event);
    expect(out).toBe(line);
    expect(out).not.toMatch(/[\n\r]/);
  });

  it("rejects a timestamp that is not RFC 3339", () => {
    expect(() => formatLegacyLine({ ...base, requestReceivedTimestamp: "yesterday" })).toThrow(
      LegacyFormatError,
    );
  });
});
