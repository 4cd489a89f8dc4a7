import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FIELDS, loadRules } from "./index";

const FIX = join(import.meta.dirname, "__fixtures__");
const trace = (f: string) => JSON.parse(readFileSync(join(FIX, "falco-trace-files", f), "utf8"));
const AUDIT2RBAC = JSON.parse(
  readFileSync(join(FIX, "events/audit2rbac-demo.v1.jsonl"), "utf8").split("\n")[0]!,
);
const RBAC_TOOL = JSON.parse(
  readFileSync(join(FIX, "events/rbac-tool-auditgen-01.v1.jsonl"), "utf8").split("\n")[0]!,
);

/** The value of each field for an event, as `output_fields` reports it. */
function values(event: unknown, fields: string[]): Record<string, unknown> {
  const text = [
    "- rule: r",
    "  desc: d",
    "  condition: jevt.rawtime exists",
    `  output: "${fields.map((f) => `%${f}`).join(" ")}"`,
    "  priority: INFO",
    "  source: k8s_audit",
  ].join("\n");
  const [a] = loadRules([{ name: "fields.yaml", text }]).evaluate(event);
  return a!.output_fields;
}

const POD2 = "create_nginx_pod_privileged_2nd_container.json";

// [event, field, expected] — expected values read off the corpus events by hand.
const TABLE: [string, string, unknown][] = [
  [POD2, "ka.auditid", "f83ecd50-5bf4-4fe7-a419-dea22852ca49"],
  [POD2, "ka.stage", "ResponseComplete"],
  [POD2, "ka.auth.decision", "allow"],
  [POD2, "ka.user.name", "system:serviceaccount:kube-system:replicaset-controller"],
  [
    POD2,
    "ka.user.groups",
    ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"],
  ],
  [POD2, "ka.verb", "create"],
  [POD2, "ka.uri", "/api/v1/namespaces/default/pods"],
  [POD2, "ka.target.name", null],
  [POD2, "ka.target.namespace", "default"],
  [POD2, "ka.target.resource", "pods"],
  [POD2, "ka.target.subresource", null],
  [POD2, "ka.target.pod.name", "nginx-deployment-544b59f8b8-ffkxm"],
  [POD2, "ka.req.pod.containers.name", ["nginx1", "mysql"]],
  [POD2, "ka.req.pod.containers.image", ["nginx", "mysql:latest"]],
  [POD2, "ka.req.pod.containers.image[1]", ["mysql:latest"]],
  [POD2, "ka.req.pod.containers.image[2]", null],
  [POD2, "ka.req.pod.containers.image.repository", ["nginx", "mysql"]],
  [POD2, "ka.req.pod.containers.privileged", ["false", "true"]],
  [POD2, "ka.req.pod.containers.privileged[0]", ["false"]],
  [POD2, "ka.req.container.privileged", "true"],
  [POD2, "ka.req.container.image", "nginx"],
  [POD2, "ka.req.container.image.repository", "nginx"],
  [POD2, "ka.req.pod.containers.eff_run_as_user", ["0", "0"]],
  [POD2, "ka.req.pod.initContainers.image", null],
  [POD2, "ka.req.pod.host_network", null],
  [POD2, "ka.resp.name", "nginx-deployment-544b59f8b8-ffkxm"],
  [POD2, "ka.response.code", "201"],
  [POD2, "ka.sourceips", ["::1"]],
  [POD2, "ka.cluster.name", null],
  [POD2, "ka.impuser.name", null],
  [POD2, "jevt.rawtime", "1540489987006845000"],
  [POD2, "jevt.time", "17:53:07.006845000"],
  [POD2, "jevt.time.iso8601", "2018-10-25T17:53:07.006845000Z"],
  [POD2, "jevt.value[/objectRef/resource]", "pods"],
  [POD2, "jevt.value[/requestObject/spec/containers/1/securityContext]", '{"privileged":true}'],
  [POD2, "jevt.value[/nope]", null],
  [POD2, "kaudit.latency", 11.438],
  [POD2, "kaudit.long_running", "false"],
  [POD2, "kaudit.hour", 17],
  [POD2, "kaudit.hour[Asia/Tokyo]", 2],
  [POD2, "kaudit.weekday", "thu"],
  [POD2, "kaudit.weekday[Asia/Tokyo]", "fri"],
  [POD2, "kaudit.date[Asia/Tokyo]", "2018-10-26"],
  [POD2, "kaudit.source_ip", "::1"],
  ["exec_pod.json", "ka.uri.param[command]", "bash"],
  ["exec_pod.json", "ka.uri.param[container]", "nginx1"],
  ["exec_pod.json", "ka.uri.param[missing]", null],
  ["exec_pod.json", "ka.target.subresource", "exec"],
  ["exec_pod.json", "ka.target.pod.name", null],
  ["exec_pod.json", "ka.response.code", "101"],
  ["exec_pod.json", "kaudit.long_running", "true"],
  ["attach_cluster_admin_role.json", "ka.req.binding.role", "cluster-admin"],
  [
    "attach_cluster_admin_role.json",
    "ka.req.binding.subjects",
    ['{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"minikube"}'],
  ],
  ["attach_cluster_admin_role.json", "ka.req.binding.subjects.user_names", ["minikube"]],
  ["attach_cluster_admin_role.json", "ka.req.binding.subjects.group_names", null],
  ["create_cluster_role_wildcard_resources.json", "ka.req.role.rules.resources", ["*"]],
  [
    "create_cluster_role_wildcard_resources.json",
    "ka.req.role.rules.verbs",
    ["get", "list", "get"],
  ],
  ["create_cluster_role_wildcard_resources.json", "ka.req.role.rules.verbs[0]", ["get", "list"]],
  [
    "create_cluster_role_wildcard_resources.json",
    "ka.req.role.rules.nonResourceURLs[1]",
    [
      "/api",
      "/api/*",
      "/apis",
      "/apis/*",
      "/healthz",
      "/openapi",
      "/openapi/*",
      "/swagger-2.0.0.pb-v1",
      "/swagger.json",
      "/swaggerapi",
      "/swaggerapi/*",
      "/version",
      "/version/",
    ],
  ],
  ["create_nginx_service_nodeport.json", "ka.req.service.type", "NodePort"],
  [
    "create_nginx_service_nodeport.json",
    "ka.req.service.ports",
    ['[{"nodePort":30080,"port":80,"protocol":"TCP","targetPort":80}]'],
  ],
  ["create_nginx_pod_sensitive_mount.json", "ka.req.pod.volumes.hostpath", ["/etc"]],
  ["create_nginx_pod_sensitive_mount.json", "ka.req.volume.hostpath[/et*]", "true"],
  ["create_nginx_pod_sensitive_mount.json", "ka.req.volume.hostpath[/e]", "false"],
  ["create_nginx_pod_sensitive_mount.json", "ka.req.pod.volumes.volume_type", ["hostPath"]],
  ["create_nginx_pod_hostnetwork.json", "ka.req.pod.host_network", "true"],
  ["create_configmap_no_sensitive_values.json", "ka.req.configmap.name", "my-config"],
];

describe("fields on corpus events", () => {
  it.each(TABLE)("%s: %s", (file, field, expected) => {
    expect(values(trace(file), [field])[field]).toEqual(expected);
  });

  it("impersonation, user agent and source addresses (audit2rbac, rbac-tool logs)", () => {
    expect(
      values(AUDIT2RBAC, ["ka.impuser.name", "kaudit.user.name", "ka.response.reason"]),
    ).toEqual({
      "ka.impuser.name": "bob",
      "kaudit.user.name": "bob",
      "ka.response.reason": "Forbidden",
    });
    expect(
      values(RBAC_TOOL, ["ka.useragent", "ka.sourceips", "kaudit.source_ip", "ka.auth.reason"]),
    ).toMatchObject({
      "ka.useragent": "kubectl/v1.17.4 (darwin/amd64) kubernetes/8d8aa39",
      "ka.sourceips": ["98.207.36.92"],
      "kaudit.source_ip": "98.207.36.92",
    });
  });

  it("an event without auditID yields no ka.* field, only jevt.*", () => {
    const ev = trace(POD2);
    delete ev.auditID;
    expect(values(ev, ["ka.verb", "jevt.value[/verb]"])).toEqual({
      "ka.verb": null,
      "jevt.value[/verb]": "create",
    });
  });

  it("every field of the k8saudit plugin is known", () => {
    // fields.go of falcosecurity/plugins (k8saudit): the per-container fields exist for
    // containers, initContainers and ephemeralContainers (no host_port for ephemeral ones).
    const perContainer = [
      "name",
      "image",
      "image.repository",
      "command",
      "args",
      "privileged",
      "allow_privilege_escalation",
      "read_only_fs",
      "run_as_user",
      "eff_run_as_user",
      "run_as_group",
      "eff_run_as_group",
      "proc_mount",
      "add_capabilities",
    ];
    const names = [
      "ka.auditid",
      "ka.stage",
      "ka.auth.decision",
      "ka.auth.reason",
      "ka.auth.openshift.decision",
      "ka.validations.admission.policy.failure",
      "ka.security.pod.violations",
      "ka.auth.openshift.username",
      "ka.user.name",
      "ka.user.groups",
      "ka.impuser.name",
      "ka.verb",
      "ka.uri",
      "ka.uri.param",
      "ka.target.name",
      "ka.target.namespace",
      "ka.target.resource",
      "ka.target.subresource",
      "ka.target.pod.name",
      "ka.req.binding.subjects",
      "ka.req.binding.subjects.user_names",
      "ka.req.binding.subjects.serviceaccount_names",
      "ka.req.binding.subjects.serviceaccount_ns_names",
      "ka.req.binding.subjects.group_names",
      "ka.req.binding.role",
      "ka.req.binding.subject.has_name",
      "ka.req.configmap.name",
      "ka.req.configmap.obj",
      "ka.req.container.image",
      "ka.req.container.image.repository",
      "ka.req.pod.host_ipc",
      "ka.req.pod.host_network",
      "ka.req.container.host_network",
      "ka.req.pod.host_pid",
      "ka.req.container.privileged",
      "ka.req.pod.run_as_user",
      "ka.req.pod.run_as_group",
      "ka.req.role.rules",
      "ka.req.role.rules.apiGroups",
      "ka.req.role.rules.nonResourceURLs",
      "ka.req.role.rules.verbs",
      "ka.req.role.rules.resources",
      "ka.req.pod.fs_group",
      "ka.req.pod.supplemental_groups",
      "ka.req.service.type",
      "ka.req.service.ports",
      "ka.req.pod.volumes.hostpath",
      "ka.req.volume.hostpath",
      "ka.req.pod.volumes.flexvolume_driver",
      "ka.req.pod.volumes.volume_type",
      "ka.resp.name",
      "ka.response.code",
      "ka.response.reason",
      "ka.useragent",
      "ka.sourceips",
      "ka.cluster.name",
      ...perContainer.map((f) => `ka.req.pod.containers.${f}`),
      "ka.req.pod.containers.host_port",
      ...perContainer.map((f) => `ka.req.pod.initContainers.${f}`),
      "ka.req.pod.initContainers.host_port",
      ...perContainer.map((f) => `ka.req.pod.ephemeralContainers.${f}`),
      "jevt.value",
      "jevt.obj",
      "jevt.rawtime",
      "jevt.time",
    ];
    for (const n of names) expect(FIELDS.has(n), n).toBe(true);
    expect([...FIELDS.keys()].filter((n) => n.startsWith("ka.")).length).toBe(
      names.filter((n) => n.startsWith("ka.")).length,
    );
  });
});
