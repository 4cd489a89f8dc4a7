/**
 * The fields a condition or output can use: every `ka.*` field of Falco's k8saudit plugin with
 * its semantics (falcosecurity/plugins `plugins/k8saudit/pkg/k8saudit/{fields,extract}.go`), the
 * json plugin's `jevt.*` aliases, and kaudit's own `kaudit.*` derived fields. Written from the
 * plugin's documented behaviour; values that are not JSON strings are rendered as compact JSON,
 * as the plugin does.
 */
import { attributesFromEvent, type Event, isLongRunning } from "@kaudit/api";
import { clockTime, type EventTime, isoTime, parseEventTime, rawTime, timeMs } from "./event-time";
import { localParts } from "./local-time";

/** A field's value for one event: missing, one string (or number), or a list of strings. */
export type FieldValue = undefined | string | number | string[];

/** The argument of a field: `[0]` (index) or `[command]` (key). */
export interface FieldArg {
  raw: string;
  index?: number | undefined;
  /** `jevt.value`'s pointer split into keys (computed once). */
  keys?: string[] | undefined;
}

/** What an extractor sees: the event object and things computed once per event. */
export interface FieldInput {
  /** The decoded JSON of the event. */
  ev: Record<string, unknown>;
  /** The event's time (its `stageTimestamp`). */
  time: EventTime;
  /** The default time zone of `kaudit.hour` / `kaudit.weekday`. */
  timeZone: string;
}

/** One field of the table. */
export interface FieldSpec {
  name: string;
  desc: string;
  /** Multi-valued: compares with `in` / `intersects` / `exists`, prints as `(a,b)`. */
  list: boolean;
  /** Compares as a number (`kaudit.latency > 1000`). */
  numeric?: boolean;
  /** `none`: no argument; `index`: optional `[n]`; `key`: a required `[key]`; `optional-key`. */
  arg: "none" | "index" | "key" | "optional-key";
  /** Where the field comes from: the k8saudit plugin, the json plugin, or kaudit. */
  origin: "k8saudit" | "json" | "kaudit";
  extract(input: FieldInput, arg: FieldArg | undefined): FieldValue;
}

type Json = unknown;

const NO_INDEX = -1;

function get(v: Json, key: string): Json {
  if (v === null || typeof v !== "object") return undefined;
  if (Array.isArray(v)) {
    // fastjson's Get on an array takes a decimal index.
    if (!/^\d+$/.test(key)) return undefined;
    return v[Number(key)];
  }
  return Object.hasOwn(v, key) ? (v as Record<string, Json>)[key] : undefined;
}

function path(v: Json, keys: readonly string[]): Json {
  let cur = v;
  for (const k of keys) {
    cur = get(cur, k);
    if (cur === undefined) return undefined;
  }
  return cur;
}

/** A JSON value as the plugin renders it: strings as they are, anything else as compact JSON. */
export function asString(v: Json): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "string") return v;
  return JSON.stringify(v);
}

/**
 * The plugin's recursive walk: an array met on the way is expanded (each element walked with the
 * remaining keys, a missing element kept as `undefined`) unless an index picks one element.
 * Returns undefined when the walk fails before reaching any array.
 */
function valuesRecursive(v: Json, index: number, keys: readonly string[]): Json[] | undefined {
  let cur = v;
  for (let i = 0; i < keys.length; i++) {
    if (Array.isArray(cur)) {
      if (index === NO_INDEX) {
        const res: Json[] = [];
        for (const el of cur) {
          const sub = valuesRecursive(el, index, keys.slice(i));
          if (sub === undefined) res.push(undefined);
          else res.push(...sub);
        }
        return res;
      }
      if (index >= cur.length) return undefined;
      cur = cur[index];
    }
    const k = keys[i]!;
    cur = k === "" ? cur : get(cur, k);
    if (cur === undefined) return undefined;
  }
  return [cur];
}

function stringsSkipMissing(values: Json[]): string[] {
  const out: string[] = [];
  for (const v of values) if (v !== undefined) out.push(asString(v)!);
  return out;
}

/** Every element rendered; a missing one makes the whole field unavailable (plugin: wrong type). */
function stringsStrict(values: Json[]): string[] | undefined {
  const out: string[] = [];
  for (const v of values) {
    if (v === undefined) return undefined;
    out.push(asString(v)!);
  }
  return out;
}

function indexOf(arg: FieldArg | undefined): number {
  return arg?.index ?? NO_INDEX;
}

function fromKeys(ev: Json, keys: readonly string[]): string | undefined {
  return asString(path(ev, keys));
}

function listFromKeys(ev: Json, keys: readonly string[]): string[] | undefined {
  const v = path(ev, keys);
  if (!Array.isArray(v)) return undefined;
  return v.map((x) => asString(x)!);
}

function containerValues(
  ev: Json,
  list: string,
  arg: FieldArg | undefined,
  sub: readonly string[],
): Json[] | undefined {
  return valuesRecursive(ev, indexOf(arg), ["requestObject", "spec", list, ...sub]);
}

function joinedPerContainer(
  ev: Json,
  list: string,
  arg: FieldArg | undefined,
  key: string,
): string[] | undefined {
  const per = containerValues(ev, list, arg, [key]);
  if (per === undefined) return undefined;
  const out: string[] = [];
  for (const v of per) {
    if (v === undefined) continue;
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) return undefined;
    out.push(v.join(" "));
  }
  return out.length === 0 ? undefined : out;
}

function images(ev: Json, list: string, arg: FieldArg | undefined): string[] | undefined {
  const per = containerValues(ev, list, arg, ["image"]);
  return per === undefined ? undefined : stringsStrict(per);
}

/** `nginx:1.2@sha256:..` → `nginx`: the plugin cuts at the first `:` then the first `@`. */
function repository(image: string): string {
  return image.split(":")[0]!.split("@")[0]!;
}

function hostPorts(ev: Json, list: string, arg: FieldArg | undefined): string[] | undefined {
  const per = containerValues(ev, list, arg, ["ports"]);
  if (per === undefined) return undefined;
  const out: string[] = [];
  for (const ports of per) {
    if (ports === undefined) continue;
    if (!Array.isArray(ports)) return undefined;
    for (const port of ports) {
      // With hostNetwork the containerPort is the host port.
      const p = get(port, "hostPort") ?? get(port, "containerPort");
      if (p !== undefined) out.push(asString(p)!);
    }
  }
  return out;
}

function effective(
  ev: Json,
  list: string,
  arg: FieldArg | undefined,
  key: string,
): string[] | undefined {
  // The plugin reads the pod default from spec.<key> (not spec.securityContext.<key>).
  const podValue = asString(path(ev, ["requestObject", "spec", key])) ?? "0";
  const per = containerValues(ev, list, arg, ["securityContext", key]);
  if (per === undefined) return undefined;
  return per.map((v) => (v === undefined ? podValue : asString(v)!));
}

function subjectNames(ev: Json, kind: string, withNamespace: boolean): string[] | undefined {
  const subjects = path(ev, ["requestObject", "subjects"]);
  if (subjects === undefined) return [];
  if (!Array.isArray(subjects)) return undefined;
  const out: string[] = [];
  for (const s of subjects) {
    const k = get(s, "kind");
    const n = get(s, "name");
    if (k === undefined || n === undefined || asString(k) !== kind) continue;
    if (withNamespace) {
      const ns = get(s, "namespace");
      if (ns === undefined) continue;
      out.push(`${asString(ns)}:${asString(n)}`);
    } else out.push(asString(n)!);
  }
  return out;
}

function rulesField(ev: Json, arg: FieldArg | undefined, keys: readonly string[]): string[] {
  const per = valuesRecursive(ev, indexOf(arg), keys);
  const out: string[] = [];
  for (const v of per ?? []) if (Array.isArray(v)) out.push(...stringsSkipMissing(v));
  return out;
}

function uriParam(ev: Json, key: string): string | undefined {
  const uri = asString(get(ev, "requestURI"));
  if (uri === undefined) return undefined;
  const q = uri.indexOf("?");
  if (q < 0) return undefined;
  const hash = uri.indexOf("#", q);
  const query = uri.slice(q + 1, hash < 0 ? undefined : hash);
  try {
    return new URLSearchParams(query).get(key) ?? undefined;
  } catch {
    return undefined;
  }
}

/** The keys of a JSON pointer (`/a/b~1c` → `a`, `b/c`); `[]` for the whole document. */
export function pointerKeys(pointer: string): string[] {
  if (pointer === "") return [];
  const p = pointer.startsWith("/") ? pointer.slice(1) : pointer;
  return p.split("/").map((k) => k.replaceAll("~1", "/").replaceAll("~0", "~"));
}

function jsonPointer(ev: Json, arg: FieldArg): string | undefined {
  arg.keys ??= pointerKeys(arg.raw);
  if (arg.keys.length === 0) return JSON.stringify(ev);
  return asString(path(ev, arg.keys));
}

function timestampMs(v: Json): number | undefined {
  const t = parseEventTime(v);
  return t === undefined ? undefined : timeMs(t);
}

/** When the request arrived (requestReceivedTimestamp, else the event's own time), epoch ms. */
function requestMs(input: FieldInput): number {
  return timestampMs(input.ev.requestReceivedTimestamp) ?? timeMs(input.time);
}

function field(
  name: string,
  desc: string,
  extract: FieldSpec["extract"],
  opts: Partial<Pick<FieldSpec, "list" | "arg" | "numeric" | "origin">> = {},
): FieldSpec {
  return {
    name,
    desc,
    list: opts.list ?? false,
    arg: opts.arg ?? "none",
    origin: opts.origin ?? "k8saudit",
    ...(opts.numeric ? { numeric: true } : {}),
    extract,
  };
}

const keys =
  (...k: string[]) =>
  (i: FieldInput) =>
    fromKeys(i.ev, k);

function containerListFields(list: string, label: string, withHostPort: boolean): FieldSpec[] {
  const p = `ka.req.pod.${list}.`;
  const L = { list: true, arg: "index" as const };
  const flag = (key: string) => (i: FieldInput, a: FieldArg | undefined) => {
    const per = containerValues(i.ev, list, a, ["securityContext", key]);
    return per === undefined ? undefined : stringsSkipMissing(per);
  };
  const out = [
    field(
      `${p}name`,
      `The ${label} names.`,
      (i, a) => {
        const per = containerValues(i.ev, list, a, ["name"]);
        return per === undefined ? undefined : stringsStrict(per);
      },
      L,
    ),
    field(`${p}image`, `The ${label} images.`, (i, a) => images(i.ev, list, a), L),
    field(
      `${p}image.repository`,
      `The ${label} images without tag or digest (e.g. falcosecurity/falco).`,
      (i, a) => images(i.ev, list, a)?.map(repository),
      L,
    ),
    field(
      `${p}command`,
      `The ${label} commands.`,
      (i, a) => joinedPerContainer(i.ev, list, a, "command"),
      L,
    ),
    field(`${p}args`, `The ${label} args.`, (i, a) => joinedPerContainer(i.ev, list, a, "args"), L),
    field(`${p}privileged`, `The privileged flag of the ${label}.`, flag("privileged"), L),
    field(
      `${p}allow_privilege_escalation`,
      `The allowPrivilegeEscalation flag of the ${label}.`,
      flag("allowPrivilegeEscalation"),
      L,
    ),
    field(
      `${p}read_only_fs`,
      `The readOnlyRootFilesystem flag of the ${label}.`,
      flag("readOnlyRootFilesystem"),
      L,
    ),
    field(`${p}run_as_user`, `The runAsUser of the ${label}.`, flag("runAsUser"), L),
    field(
      `${p}eff_run_as_user`,
      `The uid the ${label} start with (container, else pod, else 0).`,
      (i, a) => effective(i.ev, list, a, "runAsUser"),
      L,
    ),
    field(`${p}run_as_group`, `The runAsGroup of the ${label}.`, flag("runAsGroup"), L),
    field(
      `${p}eff_run_as_group`,
      `The gid the ${label} start with (container, else pod, else 0).`,
      (i, a) => effective(i.ev, list, a, "runAsGroup"),
      L,
    ),
    field(`${p}proc_mount`, `The procMount of the ${label}.`, flag("procMount"), L),
    field(
      `${p}add_capabilities`,
      `The capabilities added to the ${label}.`,
      (i, a) => {
        const per = containerValues(i.ev, list, a, ["securityContext", "capabilities", "add"]);
        return per === undefined ? undefined : stringsSkipMissing(per);
      },
      L,
    ),
  ];
  if (withHostPort) {
    out.push(
      field(
        `${p}host_port`,
        `The hostPort values of the ${label}.`,
        (i, a) => hostPorts(i.ev, list, a),
        L,
      ),
    );
  }
  return out;
}

const K8SAUDIT: FieldSpec[] = [
  field("ka.auditid", "The unique id of the audit event", keys("auditID")),
  field("ka.stage", "Stage of the request", keys("stage")),
  field(
    "ka.auth.decision",
    "The authorization decision",
    keys("annotations", "authorization.k8s.io/decision"),
  ),
  field(
    "ka.auth.reason",
    "The authorization reason",
    keys("annotations", "authorization.k8s.io/reason"),
  ),
  field(
    "ka.auth.openshift.decision",
    "The authentication decision of the OpenShift apiserver",
    keys("annotations", "authentication.openshift.io/decision"),
  ),
  field(
    "ka.validations.admission.policy.failure",
    "The validation failure reason of a ValidatingAdmissionPolicy",
    keys("annotations", "validation.policy.admission.k8s.io/validation_failure"),
  ),
  field(
    "ka.security.pod.violations",
    "The pod security violations",
    keys("annotations", "pod-security.kubernetes.io/audit-violations"),
  ),
  field(
    "ka.auth.openshift.username",
    "The user name of the OpenShift authentication",
    keys("annotations", "authentication.openshift.io/username"),
  ),
  field("ka.user.name", "The user name performing the request", keys("user", "username")),
  field("ka.user.groups", "The groups of the user", (i) => listFromKeys(i.ev, ["user", "groups"]), {
    list: true,
  }),
  field("ka.impuser.name", "The impersonated user name", keys("impersonatedUser", "username")),
  field("ka.verb", "The action being performed", keys("verb")),
  field("ka.uri", "The request URI as sent from client to server", keys("requestURI")),
  field(
    "ka.uri.param",
    "The first value of a query parameter of the URI",
    (i, a) => uriParam(i.ev, a!.raw),
    {
      arg: "key",
    },
  ),
  field("ka.target.name", "The target object name", keys("objectRef", "name")),
  field("ka.target.namespace", "The target object namespace", keys("objectRef", "namespace")),
  field("ka.target.resource", "The target object resource", keys("objectRef", "resource")),
  field("ka.target.subresource", "The target object subresource", keys("objectRef", "subresource")),
  field("ka.target.pod.name", "The target pod name", (i) => {
    const ref = i.ev.objectRef;
    if (fromKeys(ref, ["resource"]) !== "pods") return undefined;
    if ((fromKeys(ref, ["subresource"]) ?? "") !== "") return undefined;
    return fromKeys(i.ev, ["responseObject", "metadata", "name"]);
  }),
  field(
    "ka.req.binding.subjects",
    "The subjects of a binding",
    (i) => listFromKeys(i.ev, ["requestObject", "subjects"]),
    { list: true },
  ),
  field(
    "ka.req.binding.subjects.user_names",
    "The User subjects of a binding",
    (i) => subjectNames(i.ev, "User", false),
    { list: true },
  ),
  field(
    "ka.req.binding.subjects.serviceaccount_names",
    "The ServiceAccount subjects of a binding",
    (i) => subjectNames(i.ev, "ServiceAccount", false),
    { list: true },
  ),
  field(
    "ka.req.binding.subjects.serviceaccount_ns_names",
    "The ServiceAccount subjects of a binding as namespace:name",
    (i) => subjectNames(i.ev, "ServiceAccount", true),
    { list: true },
  ),
  field(
    "ka.req.binding.subjects.group_names",
    "The Group subjects of a binding",
    (i) => subjectNames(i.ev, "Group", false),
    { list: true },
  ),
  field(
    "ka.req.binding.role",
    "The role a binding links",
    keys("requestObject", "roleRef", "name"),
  ),
  field("ka.req.binding.subject.has_name", "Deprecated; always true", () => "true", { arg: "key" }),
  field("ka.req.configmap.name", "The configmap name", keys("objectRef", "name")),
  field("ka.req.configmap.obj", "The configmap data", keys("requestObject", "data")),
  field(
    "ka.req.container.image",
    "Deprecated: the image of the first container",
    (i) => images(i.ev, "containers", undefined)?.[0],
  ),
  field(
    "ka.req.container.image.repository",
    "Deprecated: the repository of the first container",
    (i) => {
      const first = images(i.ev, "containers", undefined)?.[0];
      return first === undefined ? undefined : repository(first);
    },
  ),
  field(
    "ka.req.pod.host_ipc",
    "The hostIPC flag of a pod",
    keys("requestObject", "spec", "hostIPC"),
  ),
  field(
    "ka.req.pod.host_network",
    "The hostNetwork flag of a pod",
    keys("requestObject", "spec", "hostNetwork"),
  ),
  field(
    "ka.req.container.host_network",
    "Deprecated alias of ka.req.pod.host_network",
    keys("requestObject", "spec", "hostNetwork"),
  ),
  field(
    "ka.req.pod.host_pid",
    "The hostPID flag of a pod",
    keys("requestObject", "spec", "hostPID"),
  ),
  field("ka.req.container.privileged", "Deprecated: true if any container is privileged", (i) => {
    const per = containerValues(i.ev, "containers", undefined, ["securityContext", "privileged"]);
    if (per === undefined) return undefined;
    return per.some((v) => v === true) ? "true" : "false";
  }),
  field(
    "ka.req.pod.run_as_user",
    "The pod's runAsUser",
    keys("requestObject", "spec", "securityContext", "runAsUser"),
  ),
  field(
    "ka.req.pod.run_as_group",
    "The pod's runAsGroup",
    keys("requestObject", "spec", "securityContext", "runAsGroup"),
  ),
  field(
    "ka.req.role.rules",
    "The rules of a role",
    (i) => listFromKeys(i.ev, ["requestObject", "rules"]),
    {
      list: true,
    },
  ),
  field(
    "ka.req.role.rules.apiGroups",
    "The apiGroups of a role's rules",
    (i, a) => rulesField(i.ev, a, ["requestObject", "rules", "apiGroups"]),
    { list: true, arg: "index" },
  ),
  field(
    "ka.req.role.rules.nonResourceURLs",
    "The nonResourceURLs of a role's rules",
    (i, a) => rulesField(i.ev, a, ["requestObject", "rules", "nonResourceURLs"]),
    { list: true, arg: "index" },
  ),
  field(
    "ka.req.role.rules.verbs",
    "The verbs of a role's rules",
    (i, a) => rulesField(i.ev, a, ["requestObject", "rules", "verbs"]),
    { list: true, arg: "index" },
  ),
  field(
    "ka.req.role.rules.resources",
    "The resources of a role's rules",
    (i, a) => rulesField(i.ev, a, ["requestObject", "rules", "resources"]),
    { list: true, arg: "index" },
  ),
  field(
    "ka.req.pod.fs_group",
    "The pod's fsGroup",
    keys("requestObject", "spec", "securityContext", "fsGroup"),
  ),
  field(
    "ka.req.pod.supplemental_groups",
    "The pod's supplementalGroups",
    (i) => listFromKeys(i.ev, ["requestObject", "spec", "securityContext", "supplementalGroups"]),
    { list: true },
  ),
  field("ka.req.service.type", "The service type", keys("requestObject", "spec", "type")),
  field(
    "ka.req.service.ports",
    "The service's ports",
    (i, a) => {
      const per = valuesRecursive(i.ev, indexOf(a), ["requestObject", "spec", "ports"]);
      return per === undefined ? undefined : stringsSkipMissing(per);
    },
    { list: true, arg: "index" },
  ),
  field(
    "ka.req.pod.volumes.hostpath",
    "The hostPath paths of a pod's volumes",
    (i, a) => {
      const per = valuesRecursive(i.ev, indexOf(a), [
        "requestObject",
        "spec",
        "volumes",
        "hostPath",
        "path",
      ]);
      return per === undefined ? undefined : stringsSkipMissing(per);
    },
    { list: true, arg: "index" },
  ),
  field(
    "ka.req.volume.hostpath",
    "Deprecated: true if a volume uses the host path (a trailing * matches a prefix)",
    (i, a) => {
      const per = valuesRecursive(i.ev, NO_INDEX, [
        "requestObject",
        "spec",
        "volumes",
        "hostPath",
        "path",
      ]);
      if (per === undefined) return undefined;
      const arg = a!.raw;
      const prefix = arg.endsWith("*") ? arg.slice(0, -1) : undefined;
      for (const v of stringsSkipMissing(per)) {
        if ((prefix !== undefined && v.startsWith(prefix)) || v === arg) return "true";
      }
      return "false";
    },
    { arg: "key" },
  ),
  field(
    "ka.req.pod.volumes.flexvolume_driver",
    "The flexVolume drivers of a pod's volumes",
    (i, a) => {
      const per = valuesRecursive(i.ev, indexOf(a), [
        "requestObject",
        "spec",
        "volumes",
        "flexVolume",
        "driver",
      ]);
      return per === undefined ? undefined : stringsSkipMissing(per);
    },
    { list: true, arg: "index" },
  ),
  field(
    "ka.req.pod.volumes.volume_type",
    "The types of a pod's volumes",
    (i, a) => {
      const per = valuesRecursive(i.ev, indexOf(a), ["requestObject", "spec", "volumes", ""]);
      if (per === undefined) return undefined;
      const out: string[] = [];
      for (const v of per) {
        if (v === null || typeof v !== "object" || Array.isArray(v)) continue;
        for (const k of Object.keys(v)) if (k !== "name") out.push(k);
      }
      return out;
    },
    { list: true, arg: "index" },
  ),
  field("ka.resp.name", "The response object name", keys("responseObject", "metadata", "name")),
  field("ka.response.code", "The response code", keys("responseStatus", "code")),
  field("ka.response.reason", "The response reason", keys("responseStatus", "reason")),
  field("ka.useragent", "The user agent of the client", keys("userAgent")),
  field(
    "ka.sourceips",
    "The IP addresses of the client",
    (i, a) => {
      // The plugin reads requestObject.rules.sourceIPs here, which no event has; the field is
      // documented as the client's addresses, so kaudit reads the event's sourceIPs.
      const per = valuesRecursive(i.ev, indexOf(a), ["sourceIPs"]);
      if (per === undefined) return undefined;
      const out: string[] = [];
      for (const v of per) {
        if (Array.isArray(v)) out.push(...stringsSkipMissing(v));
        else if (v !== undefined) out.push(asString(v)!);
      }
      return out;
    },
    { list: true, arg: "index" },
  ),
  field("ka.cluster.name", "The name of the cluster", keys("annotations", "cluster_name")),
  ...containerListFields("containers", "containers", true),
  ...containerListFields("initContainers", "init containers", true),
  ...containerListFields("ephemeralContainers", "ephemeral containers", false),
];

const JSON_FIELDS: FieldSpec[] = [
  field(
    "jevt.value",
    "A value of the event by JSON pointer (jevt.value[/objectRef/resource])",
    (i, a) => jsonPointer(i.ev, a!),
    { arg: "key", origin: "json" },
  ),
  field("jevt.obj", "The whole event as indented JSON", (i) => JSON.stringify(i.ev, null, 2), {
    origin: "json",
  }),
  field("jevt.rawtime", "The event time in nanoseconds since the epoch", (i) => rawTime(i.time), {
    origin: "json",
  }),
  field("jevt.time", "The event time as hh:mm:ss.nnnnnnnnn (UTC)", (i) => clockTime(i.time), {
    origin: "json",
  }),
  field(
    "jevt.time.iso8601",
    "The event time in ISO 8601 with nanoseconds",
    (i) => isoTime(i.time),
    {
      origin: "json",
    },
  ),
];

function tzOf(i: FieldInput, a: FieldArg | undefined): string {
  return a?.raw ?? i.timeZone;
}

const KAUDIT: FieldSpec[] = [
  field(
    "kaudit.latency",
    "Milliseconds from requestReceivedTimestamp to stageTimestamp",
    (i) => {
      const start = timestampMs(i.ev.requestReceivedTimestamp);
      // The event's time is its stageTimestamp, already parsed.
      const end = i.ev.stageTimestamp === undefined ? undefined : timeMs(i.time);
      if (start === undefined || end === undefined) return undefined;
      return Math.round((end - start) * 1000) / 1000;
    },
    { numeric: true, origin: "kaudit" },
  ),
  field(
    "kaudit.long_running",
    "true for watches, proxies, exec/attach/log/portforward (kube-apiserver's long-running rule)",
    (i) => (isLongRunning(attributesFromEvent(i.ev as unknown as Event)) ? "true" : "false"),
    { origin: "kaudit" },
  ),
  field(
    "kaudit.hour",
    "Hour (0-23) the request arrived, in the configured time zone or kaudit.hour[Zone/Name]",
    (i, a) => localParts(requestMs(i), tzOf(i, a)).hour,
    { numeric: true, arg: "optional-key", origin: "kaudit" },
  ),
  field(
    "kaudit.weekday",
    "Weekday (mon ... sun) the request arrived, in the configured time zone or kaudit.weekday[Zone/Name]",
    (i, a) => localParts(requestMs(i), tzOf(i, a)).weekday,
    { arg: "optional-key", origin: "kaudit" },
  ),
  field(
    "kaudit.date",
    "Date (YYYY-MM-DD) the request arrived, in the configured time zone or kaudit.date[Zone/Name]",
    (i, a) => localParts(requestMs(i), tzOf(i, a)).date,
    { arg: "optional-key", origin: "kaudit" },
  ),
  field(
    "kaudit.source_ip",
    "The first of sourceIPs (the client, before any proxies it went through)",
    (i) => fromKeys(i.ev, ["sourceIPs", "0"]),
    { origin: "kaudit" },
  ),
  field(
    "kaudit.user.name",
    "The user the request acted as: the impersonated user if any, else the authenticated one",
    (i) => fromKeys(i.ev, ["impersonatedUser", "username"]) ?? fromKeys(i.ev, ["user", "username"]),
    { origin: "kaudit" },
  ),
];

/** Every field, by name. */
export const FIELDS: ReadonlyMap<string, FieldSpec> = new Map(
  [...K8SAUDIT, ...JSON_FIELDS, ...KAUDIT].map((f) => [f.name, f]),
);

/** The field names sorted longest first, for the output formatter's longest match. */
export const FIELD_NAMES_LONGEST_FIRST: readonly string[] = [...FIELDS.keys()].sort(
  (a, b) => b.length - a.length,
);
