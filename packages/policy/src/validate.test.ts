import type { Policy, PolicyRule, Stage } from "@kaudit/api";
import { describe, expect, it } from "vitest";
import { dns1123SubdomainErrors, validatePolicy } from "./validate";

const DNS =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

const rule = (r: Partial<PolicyRule>): Policy => ({
  rules: [{ level: "Metadata", ...r } as PolicyRule],
});

// Spec §3, one row per check (pkg/apis/audit/validation/validation.go).
const cases: Array<[name: string, policy: Policy, messages: string[]]> = [
  ["valid rule", rule({}), []],
  ["level empty ⇒ Required", rule({ level: "" as "None" }), ["rules[0].level: Required value"]],
  ["level missing ⇒ Required", { rules: [{} as PolicyRule] }, ["rules[0].level: Required value"]],
  [
    "level wrong case ⇒ Unsupported",
    rule({ level: "metadata" as "None" }),
    [
      'rules[0].level: Unsupported value: "metadata": supported values: "None", "Metadata", "Request", "RequestResponse"',
    ],
  ],
  ...(["None", "Metadata", "Request", "RequestResponse"] as const).map(
    (level): [string, Policy, string[]] => [`level ${level} is valid`, rule({ level }), []],
  ),
  [
    "URL without leading /",
    rule({ nonResourceURLs: ["healthz"] }),
    [
      "rules[0].nonResourceURLs[0]: Invalid value: \"healthz\": non-resource URL rules must begin with a '/' character",
    ],
  ],
  [
    "empty URL",
    rule({ nonResourceURLs: [""] }),
    [
      "rules[0].nonResourceURLs[0]: Invalid value: \"\": non-resource URL rules must begin with a '/' character",
    ],
  ],
  [
    "* in the middle",
    rule({ nonResourceURLs: ["/logs/*/x"] }),
    [
      "rules[0].nonResourceURLs[0]: Invalid value: \"/logs/*/x\": non-resource URL wildcards '*' must be the final character of the rule",
    ],
  ],
  [
    "*x yields two errors",
    rule({ nonResourceURLs: ["*x"] }),
    [
      "rules[0].nonResourceURLs[0]: Invalid value: \"*x\": non-resource URL rules must begin with a '/' character",
      "rules[0].nonResourceURLs[0]: Invalid value: \"*x\": non-resource URL wildcards '*' must be the final character of the rule",
    ],
  ],
  ["/*, /healthz*, * are valid", rule({ nonResourceURLs: ["/*", "/healthz*", "*"] }), []],
  [
    "/logs/*/* and /logs/*.log invalid",
    rule({ nonResourceURLs: ["/ok", "/logs/*/*", "/logs/*.log"] }),
    [
      "rules[0].nonResourceURLs[1]: Invalid value: \"/logs/*/*\": non-resource URL wildcards '*' must be the final character of the rule",
      "rules[0].nonResourceURLs[2]: Invalid value: \"/logs/*.log\": non-resource URL wildcards '*' must be the final character of the rule",
    ],
  ],
  [
    'group "" and "*" valid',
    rule({ resources: [{ group: "" }, { group: "*" }, { group: "rbac.authorization.k8s.io" }] }),
    [],
  ],
  [
    "group with version ⇒ DNS-1123 (no index in the path)",
    rule({ resources: [{ group: "apps" }, { group: "rbac.authorization.k8s.io/v1beta1" }] }),
    [`rules[0].resources.group: Invalid value: "rbac.authorization.k8s.io/v1beta1": ${DNS}`],
  ],
  [
    "group upper case",
    rule({ resources: [{ group: "Apps" }] }),
    [`rules[0].resources.group: Invalid value: "Apps": ${DNS}`],
  ],
  [
    "group too long and invalid: both messages joined by ,",
    rule({ resources: [{ group: `${"a".repeat(251)}.-b` }] }),
    [
      `rules[0].resources.group: Invalid value: "${"a".repeat(251)}.-b": must be no more than 253 characters,${DNS}`,
    ],
  ],
  [
    "resourceNames without resources",
    rule({ resources: [{ group: "", resourceNames: ["a", "b"] }] }),
    [
      'rules[0].resources.resourceNames: Invalid value: ["a","b"]: using resourceNames requires at least one resource',
    ],
  ],
  [
    "resourceNames with resources",
    rule({ resources: [{ resources: ["pods"], resourceNames: ["a"] }] }),
    [],
  ],
  [
    "rule omitStages unknown",
    rule({ omitStages: ["RequestReceived", "requestreceived" as "Panic"] }),
    [
      'rules[0].omitStages[1]: Invalid value: "requestreceived": allowed stages are RequestReceived,ResponseStarted,ResponseComplete,Panic',
    ],
  ],
  [
    "policy omitStages unknown",
    { omitStages: ["Done" as "Panic"], rules: [] },
    [
      'omitStages[0]: Invalid value: "Done": allowed stages are RequestReceived,ResponseStarted,ResponseComplete,Panic',
    ],
  ],
  [
    "resources + nonResourceURLs",
    rule({ resources: [{ resources: ["pods"] }], nonResourceURLs: ["/logs*"] }),
    [
      'rules[0].nonResourceURLs: Invalid value: ["/logs*"]: rules cannot apply to both regular resources and non-resource URLs',
    ],
  ],
  [
    "namespaces + nonResourceURLs",
    rule({ namespaces: [""], nonResourceURLs: ["/a", "/b"] }),
    [
      'rules[0].nonResourceURLs: Invalid value: ["/a","/b"]: rules cannot apply to both regular resources and non-resource URLs',
    ],
  ],
  [
    "not validated: users, verbs, namespaces, resource strings, empty entry, duplicates",
    {
      rules: [
        {
          level: "None",
          users: [""],
          verbs: ["frobnicate"],
          namespaces: ["NOT_DNS"],
          resources: [{ resources: ["pods/*/x"] }, {}],
        },
        {
          level: "None",
          users: [""],
          verbs: ["frobnicate"],
          namespaces: ["NOT_DNS"],
          resources: [{ resources: ["pods/*/x"] }, {}],
        },
      ],
    },
    [],
  ],
  ["an empty policy passes ValidatePolicy", { rules: [] }, []],
  [
    "reference order: policy omitStages, then per rule level, URLs, resources, omitStages, mixing",
    {
      omitStages: ["X" as "Panic"],
      rules: [
        {
          level: "Everything" as "None",
          nonResourceURLs: ["x*y"],
          resources: [{ group: "A", resourceNames: ["n"] }],
          omitStages: ["Y" as "Panic"],
        },
        { level: "" as "None" },
      ],
    },
    [
      'omitStages[0]: Invalid value: "X": allowed stages are RequestReceived,ResponseStarted,ResponseComplete,Panic',
      'rules[0].level: Unsupported value: "Everything": supported values: "None", "Metadata", "Request", "RequestResponse"',
      "rules[0].nonResourceURLs[0]: Invalid value: \"x*y\": non-resource URL rules must begin with a '/' character",
      "rules[0].nonResourceURLs[0]: Invalid value: \"x*y\": non-resource URL wildcards '*' must be the final character of the rule",
      `rules[0].resources.group: Invalid value: "A": ${DNS}`,
      'rules[0].resources.resourceNames: Invalid value: ["n"]: using resourceNames requires at least one resource',
      'rules[0].omitStages[0]: Invalid value: "Y": allowed stages are RequestReceived,ResponseStarted,ResponseComplete,Panic',
      'rules[0].nonResourceURLs: Invalid value: ["x*y"]: rules cannot apply to both regular resources and non-resource URLs',
      "rules[1].level: Required value",
    ],
  ],
  [
    "values are Go-quoted",
    rule({ level: 'a"b\n' as "None" }),
    [
      'rules[0].level: Unsupported value: "a\\"b\\n": supported values: "None", "Metadata", "Request", "RequestResponse"',
    ],
  ],
];

describe("validatePolicy (§3)", () => {
  it.each(cases)("%s", (_name, policy, messages) => {
    expect(validatePolicy(policy).map((i) => i.message)).toEqual(messages);
  });

  it("copes with wrongly typed values from JavaScript callers", () => {
    const policy = {
      rules: [{ level: 5, resources: [{ group: ["A"] }], nonResourceURLs: [3] }],
    } as unknown as Policy;
    expect(validatePolicy(policy).map((i) => i.path)).toEqual([
      "rules[0].level",
      "rules[0].nonResourceURLs[0]",
      "rules[0].resources.group",
      "rules[0].nonResourceURLs",
    ]);
  });

  it("each issue's path is the message's prefix", () => {
    for (const [, policy] of cases) {
      for (const issue of validatePolicy(policy))
        expect(issue.message.startsWith(`${issue.path}: `)).toBe(true);
    }
  });
});

describe("dns1123SubdomainErrors", () => {
  it.each([
    ["example.com", 0],
    ["a", 0],
    ["a-b.c-d", 0],
    ["-a", 1],
    ["a-", 1],
    ["a..b", 1],
    ["A", 1],
    ["a_b", 1],
    ["a".repeat(253), 0],
    ["a".repeat(254), 1],
  ] as const)("%s ⇒ %i messages", (value, n) => {
    expect(dns1123SubdomainErrors(value)).toHaveLength(n);
  });
});

// The cases of kubernetes/apiserver pkg/apis/audit/validation/validation_test.go, as data.
describe("validation_test.go TestValidatePolicy", () => {
  const validRules: PolicyRule[] = [
    { level: "Metadata" },
    { level: "None", userGroups: ["system:serviceaccounts", "system:nodes"] },
    {
      level: "RequestResponse",
      verbs: ["get"],
      resources: [{ group: "rbac.authorization.k8s.io", resources: ["roles", "rolebindings"] }],
      namespaces: ["kube-system"],
    },
    {
      level: "Metadata",
      userGroups: ["developers"],
      nonResourceURLs: ["/logs*", "/healthz*", "/metrics", "*"],
    },
    { level: "Metadata", omitStages: ["RequestReceived"] },
  ];
  const valid: Policy[] = [
    ...validRules.map((r) => ({ rules: [r] })),
    { rules: [] },
    { omitStages: ["RequestReceived"], rules: [] },
    { rules: validRules },
  ];
  const invalidRules = [
    {},
    { verbs: ["get"], resources: [{ resources: ["secrets"] }], namespaces: ["kube-system"] },
    { level: "FooBar" },
    { level: "Metadata", namespaces: ["default"], nonResourceURLs: ["/logs*"] },
    { level: "Metadata", resources: [{ resources: ["secrets"] }], nonResourceURLs: ["/logs*"] },
    {
      level: "Metadata",
      resources: [{ group: "rbac.authorization.k8s.io/v1beta1", resources: ["roles"] }],
    },
    { level: "Metadata", nonResourceURLs: ["logs", "/healthz*"] },
    { level: "Metadata", nonResourceURLs: ["", "/healthz*"] },
    { level: "Metadata", nonResourceURLs: ["/logs/*/*", "/metrics"] },
    { level: "Metadata", nonResourceURLs: ["/logs/*.log", "/metrics"] },
    {
      level: "Metadata",
      verbs: ["get"],
      resources: [{ resourceNames: ["leader"] }],
      namespaces: ["kube-system"],
    },
    { level: "Metadata", omitStages: ["foo"] },
  ] as unknown as PolicyRule[];
  const invalid: Policy[] = [
    ...invalidRules.map((r) => ({ rules: [r] })),
    { rules: [...validRules, {} as PolicyRule] },
    { omitStages: ["foo" as Stage], rules: [{ level: "Metadata" }] },
  ];

  it.each(valid.map((p, i) => [i, p] as const))("valid case %i", (_i, policy) => {
    expect(validatePolicy(policy)).toEqual([]);
  });
  it.each(invalid.map((p, i) => [i, p] as const))("invalid case %i", (_i, policy) => {
    expect(validatePolicy(policy).length).toBeGreaterThan(0);
  });
});
