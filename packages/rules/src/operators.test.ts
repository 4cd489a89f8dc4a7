import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadRules } from "./index";

const FIX = join(import.meta.dirname, "__fixtures__");
const trace = (f: string) => JSON.parse(readFileSync(join(FIX, "falco-trace-files", f), "utf8"));

/** Does `condition` hold for the event? (lists/macros given as rules-file items) */
function holds(event: unknown, condition: string, prelude = ""): boolean {
  const text = `${prelude}- rule: r\n  desc: d\n  condition: ${JSON.stringify(condition)}\n  output: o\n  priority: INFO\n  source: k8s_audit\n`;
  return loadRules([{ name: "op.yaml", text }]).evaluate(event).length === 1;
}

const POD2 = trace("create_nginx_pod_privileged_2nd_container.json");
const EXEC = trace("exec_pod.json");
const MOUNT = trace("create_nginx_pod_sensitive_mount.json");

// [condition, holds on the privileged-2nd-container pod create]
const ON_POD: [string, boolean][] = [
  ["ka.verb = create", true],
  ["ka.verb == create", true],
  ["ka.verb = get", false],
  ["ka.verb != get", true],
  ["ka.verb != create", false],
  ["ka.target.name != x", false], // missing field: every comparison is false, as in Falco
  ["not ka.target.name = x", true],
  ["ka.response.code >= 200", true],
  ["ka.response.code < 300", true],
  ["ka.response.code > 201", false],
  ["ka.response.code <= 201", true],
  ["ka.response.code > 1000", true], // strings compare as strcmp: "201" > "1000"
  ["kaudit.latency > 10", true],
  ["kaudit.latency > 1000", false],
  ["kaudit.latency >= 11.438", true],
  ["kaudit.hour = 17", true],
  ["kaudit.hour in (9, 17)", true],
  ["ka.verb in (get, create)", true],
  ["ka.verb in (get, list)", false],
  ["ka.verb intersects (create)", true],
  ["ka.verb pmatch (create)", true],
  ["ka.user.name contains replicaset", true],
  ["ka.user.name contains REPLICASET", false],
  ["ka.user.name icontains REPLICASET", true],
  ["ka.user.name startswith system:serviceaccount:", true],
  ["ka.user.name startswith replicaset", false],
  ["ka.user.name endswith -controller", true],
  ["ka.user.name endswith system", false],
  ["ka.uri glob /api/*/pods", true],
  ["ka.uri glob /api/v?/namespaces/*", true],
  ["ka.uri glob /apis/*", false],
  ["ka.uri iglob /API/*/PODS", true],
  ["ka.uri regex '/api/v1/namespaces/[a-z]+/pods'", true],
  ["ka.uri regex 'namespaces'", false], // regex matches the whole value
  ["ka.target.namespace exists", true],
  ["ka.target.name exists", false],
  // Multi-valued fields: `in` needs every value in the set, `intersects` one.
  ["ka.req.pod.containers.image.repository in (nginx, mysql, redis)", true],
  ["ka.req.pod.containers.image.repository in (nginx)", false],
  ["ka.req.pod.containers.image.repository intersects (nginx)", true],
  ["ka.req.pod.containers.image.repository intersects (redis)", false],
  ["ka.req.pod.containers.privileged intersects (true)", true],
  ["ka.req.pod.containers.privileged[0] intersects (true)", false],
  ["ka.req.pod.containers.privileged[1] = true", true],
  ["ka.req.pod.containers.image contains mysql", true],
  ["ka.req.pod.containers.image exists", true],
  ["ka.req.pod.initContainers.image exists", false],
  ["ka.user.groups intersects (system:authenticated)", true],
  ["ka.user.groups in (system:authenticated)", false],
  // Lists and macros.
  ["ka.verb in (my_verbs)", true],
  ["ka.verb in (other, my_verbs)", true],
  ["ka.verb in (nested)", true],
  ['ka.verb in ("my_verbs")', false], // a quoted item is a value, never a list name
  ["ka.verb in (empty_list)", false],
  ["not ka.verb in (empty_list)", true],
  ["is_create and not is_get", true],
  ["(is_get or is_create) and ka.verb=create", true],
  ["jevt.value[/requestObject/spec/containers/1/securityContext/privileged] = true", true],
  ['jevt.obj contains "\\"privileged\\": true"', true],
];

const PRELUDE = [
  "- list: my_verbs",
  "  items: [create, update]",
  "- list: nested",
  "  items: [my_verbs, patch]",
  "- list: empty_list",
  "  items: []",
  "- macro: is_create",
  "  condition: ka.verb=create",
  "- macro: is_get",
  "  condition: ka.verb=get",
  "",
].join("\n");

describe("operators on corpus events", () => {
  it.each(ON_POD)("%s → %s", (cond, expected) => {
    expect(holds(POD2, cond, PRELUDE)).toBe(expected);
  });

  it.each([
    ["ka.uri.param[command] = bash", true],
    ["ka.uri.param[container] in (nginx1)", true],
    ["ka.target.subresource in (exec, attach)", true],
    ["kaudit.long_running = true", true],
    ["jevt.value[/stage] = ResponseStarted", true],
  ] as [string, boolean][])("exec: %s → %s", (cond, expected) => {
    expect(holds(EXEC, cond)).toBe(expected);
  });

  it.each([
    ["ka.req.pod.volumes.hostpath pmatch (/etc)", true],
    ["ka.req.pod.volumes.hostpath pmatch (/)", true],
    ["ka.req.pod.volumes.hostpath pmatch (/et)", false],
    ["ka.req.pod.volumes.hostpath pmatch (/etc/kubernetes)", false],
    ["ka.req.pod.volumes.hostpath intersects (/proc, /etc)", true],
  ] as [string, boolean][])("hostPath: %s → %s", (cond, expected) => {
    expect(holds(MOUNT, cond)).toBe(expected);
  });

  it("warns when a list field meets a scalar operator (Falco rejects it at run time)", () => {
    const text =
      "- rule: r\n  desc: d\n  condition: ka.req.pod.containers.image contains mysql\n  output: o\n  priority: INFO\n  source: k8s_audit\n";
    const rules = loadRules([{ name: "w.yaml", text }]);
    expect(rules.warnings).toMatchObject([
      {
        code: "KAUDIT_LIST_OPERATOR",
        file: "w.yaml",
        line: 3,
        column: 14,
        item: { kind: "rule", name: "r" },
      },
    ]);
  });
});
