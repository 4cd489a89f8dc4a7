import { describe, expect, it } from "vitest";
import { alertLabels, labelName, labelValue, toAlertmanagerAlert, type WatchAlert } from "./alert";

const exec: WatchAlert = {
  time: "2026-12-01T10:00:00.123456Z",
  rule: "Attach/Exec Pod",
  priority: "Notice",
  source: "k8s_audit",
  output: "Attach/Exec to pod (user=alice pod=web-0 resource=pods ns=shop action=exec command=sh)",
  output_fields: {
    "ka.user.name": "alice",
    "ka.target.name": "web-0",
    "ka.uri.param[command]": "sh",
    "ka.req.pod.containers.image": ["nginx:1.27", "busybox"],
    "ka.target.subresource": null,
  },
  tags: ["k8s", "mitre_execution"],
};

const burst: WatchAlert = {
  time: "2026-12-01T10:00:05Z",
  rule: "401 burst by source IP",
  priority: "Warning",
  source: "k8s_audit",
  output: "5 unauthenticated requests from 10.0.0.7 within 1m",
  output_fields: { "ka.sourceips": ["10.0.0.7"], "ka.response.code": 401 },
  tags: ["kaudit"],
  kaudit: {
    key: { "ka.sourceips": ["10.0.0.7"] },
    count: 5,
    window_ms: 60_000,
    first: "2026-12-01T10:00:01Z",
  },
};

describe("labelName", () => {
  it.each([
    ["ka.user.name", "ka_user_name"],
    ["ka.uri.param[command]", "ka_uri_param_command"],
    ["jevt.value[/requestObject/spec/nodeName]", "jevt_value_requestObject_spec_nodeName"],
    ["ka.req.pod.containers.image[0]", "ka_req_pod_containers_image_0"],
    ["kaudit.latency", "kaudit_latency"],
    ["already_fine", "already_fine"],
    ["0day", "_0day"],
    ["[x]", "_x"],
  ])("%s → %s", (field, name) => {
    expect(labelName(field)).toBe(name);
    expect(name).toMatch(/^[a-zA-Z_][a-zA-Z0-9_]*$/);
  });
});

describe("labelValue", () => {
  it.each([
    ["a string", "alice", "alice"],
    ["a number", 401, "401"],
    ["a list, joined as Falco prints it", ["a", "b"], "a,b"],
    ["missing", undefined, "<NA>"],
    ["null", null, "<NA>"],
    ["an object", { a: 1 }, '{"a":1}'],
    ["too long, cut", "x".repeat(300), `${"x".repeat(255)}…`],
  ])("%s", (_name, value, label) => {
    expect(labelValue(value)).toBe(label);
  });
});

describe("toAlertmanagerAlert", () => {
  it("a single-event alert: alertname, severity, source, its output fields; no endsAt", () => {
    const a = toAlertmanagerAlert(exec, { description: "Detect any attempt to attach/exec" });
    expect(a).toEqual({
      labels: {
        alertname: "Attach/Exec Pod",
        severity: "notice",
        source: "kaudit",
        ka_user_name: "alice",
        ka_target_name: "web-0",
        ka_uri_param_command: "sh",
        ka_req_pod_containers_image: "nginx:1.27,busybox",
        ka_target_subresource: "<NA>",
      },
      annotations: {
        summary: exec.output,
        description: "Detect any attempt to attach/exec",
      },
      startsAt: exec.time,
    });
  });

  it("a windowed alert: labels are its key fields only, endsAt is one window later", () => {
    const a = toAlertmanagerAlert(burst);
    expect(a.labels).toEqual({
      alertname: "401 burst by source IP",
      severity: "warning",
      source: "kaudit",
      ka_sourceips: "10.0.0.7",
    });
    expect(a.startsAt).toBe(burst.time);
    expect(a.endsAt).toBe("2026-12-01T10:01:05.000Z");
    expect(a.annotations.description).toBe("tags: kaudit");
  });

  it("keeps nanosecond times as they are (Alertmanager parses RFC 3339 with nanoseconds)", () => {
    const a = toAlertmanagerAlert({ ...burst, time: "2026-12-01T10:00:05.123456789Z" });
    expect(a.startsAt).toBe("2026-12-01T10:00:05.123456789Z");
    expect(a.endsAt).toBe("2026-12-01T10:01:05.123Z");
  });

  it("fields cannot override the reserved labels; extra labels are kept", () => {
    const labels = alertLabels(
      { ...exec, output_fields: { alertname: "x", source: "y", severity: "z" } },
      { extraLabels: { cluster: "prod", source: "nope" } },
    );
    expect(labels).toEqual({
      cluster: "prod",
      alertname: "Attach/Exec Pod",
      severity: "notice",
      source: "kaudit",
    });
  });
});
