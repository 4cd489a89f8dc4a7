import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadRules, type RulesSource } from "./index";

const FIX = join(import.meta.dirname, "__fixtures__");
const TRACES = join(FIX, "falco-trace-files");
const FALCO_RULES = join(FIX, "k8s_audit_rules.yaml");

/** The events of a trace file (one JSON document, or JSON lines). */
function traceEvents(name: string): unknown[] {
  const text = readFileSync(join(TRACES, name), "utf8").trim();
  try {
    return [JSON.parse(text)];
  } catch {
    return text.split("\n").map((l) => JSON.parse(l));
  }
}

/** Counts of rules fired over a trace file (unreadable events counted under "!unreadable"). */
function fire(sources: (string | RulesSource)[], trace: string): Record<string, number> {
  const rules = loadRules(sources);
  const counts: Record<string, number> = {};
  for (const ev of traceEvents(trace)) {
    try {
      for (const a of rules.evaluate(ev)) counts[a.rule] = (counts[a.rule] ?? 0) + 1;
    } catch {
      counts["!unreadable"] = (counts["!unreadable"] ?? 0) + 1;
    }
  }
  return counts;
}

// Overlays like the ones Falco's tests loaded after the rules file (rewritten here).
const overlay = (name: string, text: string): RulesSource => ({ name, text });
const ALLOW_NS_FOO = overlay(
  "allow-ns-foo.yaml",
  "- list: allowed_namespaces\n  items: [foo]\n  append: true\n",
);
const ALLOW_SOME_USER = overlay(
  "allow-some-user.yaml",
  "- list: allowed_k8s_users\n  items: [some-user]\n  override:\n    items: append\n",
);
const NO_ACTIVITY = overlay(
  "no-activity.yaml",
  "- macro: consider_activity_events\n  condition: (not jevt.rawtime exists)\n",
);
const ONLY_APACHE = overlay(
  "only-apache.yaml",
  "- macro: allowed_k8s_containers\n  condition: (ka.req.pod.containers.image.repository in (apache))\n",
);
const ONLY_NGINX = overlay(
  "only-nginx.yaml",
  "- macro: allowed_k8s_containers\n  condition: (ka.req.pod.containers.image.repository in (nginx))\n",
);
const TRUST_NGINX = overlay(
  "trust-nginx.yaml",
  [
    "- list: k8s_audit_sensitive_mount_images",
    "  items: [nginx]",
    "  append: true",
    "- list: k8s_audit_privileged_images",
    "  items: [nginx]",
    "  override: { items: append }",
    "- list: k8s_audit_hostnetwork_images",
    "  items: [nginx]",
    "  append: true",
    "",
  ].join("\n"),
);

type Case = [
  name: string,
  trace: string,
  overlays: RulesSource[],
  expect: Record<string, number> | "nothing",
];

// Falco's test table (test/falco_k8s_audit_tests.yaml): "nothing" = detect: False.
const CASES: Case[] = [
  [
    "user outside allowed set",
    "some-user_creates_namespace_foo.json",
    [ALLOW_NS_FOO],
    { "Disallowed K8s User": 1 },
  ],
  [
    "user in allowed set",
    "some-user_creates_namespace_foo.json",
    [ALLOW_NS_FOO, ALLOW_SOME_USER, NO_ACTIVITY],
    "nothing",
  ],
  [
    "create disallowed pod",
    "create_nginx_pod_unprivileged.json",
    [ONLY_APACHE],
    { "Create Disallowed Pod": 1 },
  ],
  ["create allowed pod", "create_nginx_pod_unprivileged.json", [ONLY_NGINX], "nothing"],
  ["privileged pod", "create_nginx_pod_privileged.json", [], { "Create Privileged Pod": 1 }],
  [
    "privileged 2nd container, no securityContext on the 1st",
    "create_nginx_pod_no_secctx_1st_container_privileged_2nd_container.json",
    [],
    { "Create Privileged Pod": 1 },
  ],
  [
    "privileged 2nd container",
    "create_nginx_pod_privileged_2nd_container.json",
    [],
    { "Create Privileged Pod": 1 },
  ],
  ["privileged trusted pod", "create_nginx_pod_privileged.json", [TRUST_NGINX], "nothing"],
  ["unprivileged pod", "create_nginx_pod_unprivileged.json", [], "nothing"],
  ["unprivileged trusted pod", "create_nginx_pod_unprivileged.json", [TRUST_NGINX], "nothing"],
  [
    "sensitive mount",
    "create_nginx_pod_sensitive_mount.json",
    [],
    { "Create Sensitive Mount Pod": 1 },
  ],
  [
    "sensitive mount 2nd container",
    "create_nginx_pod_sensitive_mount_2nd_container.json",
    [],
    { "Create Sensitive Mount Pod": 1 },
  ],
  ["sensitive mount trusted", "create_nginx_pod_sensitive_mount.json", [TRUST_NGINX], "nothing"],
  ["unsensitive mount", "create_nginx_pod_unsensitive_mount.json", [], "nothing"],
  [
    "unsensitive mount trusted",
    "create_nginx_pod_unsensitive_mount.json",
    [TRUST_NGINX],
    "nothing",
  ],
  ["hostNetwork pod", "create_nginx_pod_hostnetwork.json", [], { "Create HostNetwork Pod": 1 }],
  ["hostNetwork trusted pod", "create_nginx_pod_hostnetwork.json", [TRUST_NGINX], "nothing"],
  ["no hostNetwork", "create_nginx_pod_nohostnetwork.json", [], "nothing"],
  ["no hostNetwork trusted", "create_nginx_pod_nohostnetwork.json", [TRUST_NGINX], "nothing"],
  [
    "NodePort service",
    "create_nginx_service_nodeport.json",
    [NO_ACTIVITY],
    { "Create NodePort Service": 1 },
  ],
  ["service without NodePort", "create_nginx_service_nonodeport.json", [NO_ACTIVITY], "nothing"],
  [
    "configmap with credentials",
    "create_configmap_sensitive_values.json",
    [NO_ACTIVITY],
    { "Create/Modify Configmap With Private Credentials": 6 },
  ],
  [
    "configmap without credentials",
    "create_configmap_no_sensitive_values.json",
    [NO_ACTIVITY],
    "nothing",
  ],
  [
    "anonymous user",
    "anonymous_creates_namespace_foo.json",
    [],
    { "Anonymous Request Allowed": 1 },
  ],
  ["pod exec", "exec_pod.json", [], { "Attach/Exec Pod": 1 }],
  ["pod attach", "attach_pod.json", [], { "Attach/Exec Pod": 1 }],
  [
    "namespace outside allowed set",
    "some-user_creates_namespace_foo.json",
    [ALLOW_SOME_USER],
    { "Create Disallowed Namespace": 1 },
  ],
  [
    "namespace in allowed set",
    "minikube_creates_namespace_foo.json",
    [ALLOW_NS_FOO, NO_ACTIVITY],
    "nothing",
  ],
  [
    "pod in kube-system",
    "create_pod_kube_system_namespace.json",
    [],
    { "Pod Created in Kube Namespace": 1 },
  ],
  [
    "pod in kube-public",
    "create_pod_kube_public_namespace.json",
    [],
    { "Pod Created in Kube Namespace": 1 },
  ],
  [
    "serviceaccount in kube-system",
    "create_serviceaccount_kube_system_namespace.json",
    [],
    { "Service Account Created in Kube Namespace": 1 },
  ],
  [
    "serviceaccount in kube-public",
    "create_serviceaccount_kube_public_namespace.json",
    [],
    { "Service Account Created in Kube Namespace": 1 },
  ],
  [
    "system clusterrole deleted",
    "delete_cluster_role_kube_aggregator.json",
    [],
    { "System ClusterRole Modified/Deleted": 1 },
  ],
  [
    "system clusterrole modified",
    "modify_cluster_role_node_problem_detector.json",
    [],
    { "System ClusterRole Modified/Deleted": 1 },
  ],
  [
    "cluster-admin binding",
    "attach_cluster_admin_role.json",
    [],
    { "Attach to cluster-admin Role": 1 },
  ],
  [
    "wildcard resources",
    "create_cluster_role_wildcard_resources.json",
    [],
    { "ClusterRole With Wildcard Created": 1 },
  ],
  [
    "wildcard verbs",
    "create_cluster_role_wildcard_verbs.json",
    [],
    { "ClusterRole With Wildcard Created": 1 },
  ],
  [
    "write privileges",
    "create_cluster_role_write_privileges.json",
    [],
    { "ClusterRole With Write Privileges Created": 1 },
  ],
  [
    "pod exec clusterrole",
    "create_cluster_role_pod_exec.json",
    [],
    { "ClusterRole With Pod Exec Created": 1 },
  ],
  ["deployment created", "create_deployment.json", [], { "K8s Deployment Created": 1 }],
  ["deployment deleted", "delete_deployment.json", [], { "K8s Deployment Deleted": 1 }],
  ["service created", "create_service.json", [], { "K8s Service Created": 1 }],
  ["service deleted", "delete_service.json", [], { "K8s Service Deleted": 1 }],
  ["configmap created", "create_configmap.json", [], { "K8s ConfigMap Created": 1 }],
  ["configmap deleted", "delete_configmap.json", [], { "K8s ConfigMap Deleted": 1 }],
  [
    "namespace created",
    "some-user_creates_namespace_foo.json",
    [ALLOW_NS_FOO, ALLOW_SOME_USER],
    { "K8s Namespace Created": 1 },
  ],
  ["namespace deleted", "delete_namespace_foo.json", [], { "K8s Namespace Deleted": 1 }],
  ["serviceaccount created", "create_serviceaccount.json", [], { "K8s Serviceaccount Created": 1 }],
  ["serviceaccount deleted", "delete_serviceaccount.json", [], { "K8s Serviceaccount Deleted": 1 }],
  ["clusterrole created", "create_clusterrole.json", [], { "K8s ClusterRole Created": 1 }],
  ["clusterrole deleted", "delete_clusterrole.json", [], { "K8s ClusterRole Deleted": 1 }],
  [
    "clusterrolebinding created",
    "create_clusterrolebinding.json",
    [],
    { "K8s ClusterRoleBinding Created": 1 },
  ],
  [
    "clusterrolebinding deleted",
    "delete_clusterrolebinding.json",
    [],
    { "K8s ClusterRoleBinding Deleted": 1 },
  ],
  ["secret created", "create_secret.json", [], { "K8s Secret Created": 1 }],
  ["service account token secret", "create_service_account_token_secret.json", [], "nothing"],
  ["kube-system secret", "create_kube_system_secret.json", [], "nothing"],
  ["secret deleted", "delete_secret.json", [], { "K8s Secret Deleted": 1 }],
  ["fuzzed event {kind: 0}", "fal_01_003.json", [], { "!unreadable": 1 }],
];

describe("Falco's k8s_audit rules on Falco's trace files", () => {
  it("loads all 48 rules without error or warning", () => {
    const rules = loadRules([FALCO_RULES]);
    expect(rules.rules).toHaveLength(48);
    expect(rules.warnings).toEqual([]);
    expect(rules.skipped.rules).toBe(0);
    // The five switch-macro rules are enabled but cannot match until a user overrides the macro.
    expect(rules.rules.every((r) => r.enabled)).toBe(true);
  });

  it.each(CASES)("%s (%s)", (_name, trace, overlays, expected) => {
    const counts = fire([FALCO_RULES, ...overlays], trace);
    if (expected === "nothing") expect(counts).toEqual({});
    else for (const [rule, n] of Object.entries(expected)) expect(counts[rule], rule).toBe(n);
  });

  it("a JSON pointer rule with ~1 escapes fires (Falco's json_pointer_correct_parse)", () => {
    const pointerRule = overlay(
      "pointer.yaml",
      [
        "- rule: pointer",
        "  desc: d",
        "  condition: jevt.value[/annotations/authorization.k8s.io~1decision] exists and not (jevt.value[/a~1~0b] exists)",
        '  output: "pointer %jevt.value[/annotations/authorization.k8s.io~1decision]"',
        "  priority: WARNING",
        "  source: k8s_audit",
      ].join("\n"),
    );
    const rules = loadRules([pointerRule]);
    const [a] = rules.evaluate(traceEvents("create_nginx_pod_unprivileged.json")[0]);
    expect(a?.output).toMatch(/: Warning pointer allow$/);
  });

  it("every trace file (but the fuzz fixture) is read, and each fires what its name says only", () => {
    const rules = loadRules([FALCO_RULES]);
    const names = readdirSync(TRACES).filter((n) => n.endsWith(".json"));
    expect(names).toHaveLength(47);
    let events = 0;
    for (const n of names) {
      if (n === "fal_01_003.json") continue;
      for (const ev of traceEvents(n)) {
        rules.evaluate(ev);
        events++;
      }
    }
    expect(events).toBe(51);
    expect(rules.stats().unreadable).toBe(0);
  });

  it("prints alerts as Falco's json_output does", () => {
    const rules = loadRules([FALCO_RULES]);
    const [a] = rules.evaluate(traceEvents("create_nginx_pod_privileged.json")[0]);
    expect(a).toEqual({
      time: "2018-10-25T14:09:12.581541000Z",
      rule: "Create Privileged Pod",
      priority: "Warning",
      source: "k8s_audit",
      output:
        "14:09:12.581541000: Warning Pod started with privileged container (user=system:serviceaccount:kube-system:replicaset-controller pod=nginx-deployment-5cdcc99dbf-rgw6z resource=pods ns=default images=(nginx) init_images=<NA> ephemeral_images=<NA>)",
      output_fields: {
        "ka.user.name": "system:serviceaccount:kube-system:replicaset-controller",
        "ka.resp.name": "nginx-deployment-5cdcc99dbf-rgw6z",
        "ka.target.resource": "pods",
        "ka.target.namespace": "default",
        "ka.req.pod.containers.image": ["nginx"],
        "ka.req.pod.initContainers.image": null,
        "ka.req.pod.ephemeralContainers.image": null,
      },
      tags: ["k8s"],
    });
  });
});
