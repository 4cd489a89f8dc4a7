/**
 * The kinds the demo serves, described the way kube's discovery describes them, plus the
 * server-side printing (Table columns) kube-apiserver does for each.
 */

/** A JSON object as stored. */
export type Obj = Record<string, unknown> & {
  metadata: Record<string, unknown> & { name?: string; namespace?: string };
};

/** One column of a `meta.k8s.io/v1` Table. */
export interface TableColumn {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

/** A served resource (`APIResource` plus what the store needs). */
export interface ResourceDef {
  group: string;
  version: string;
  resource: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames: string[];
  verbs: string[];
  subresources: Record<string, { kind: string; verbs: string[]; group?: string; version?: string }>;
  categories?: string[];
  columns: TableColumn[];
  cells(obj: Obj, now: number): unknown[];
  /** Fills server-side defaults and the fake status on create. */
  defaults?(obj: Obj, ctx: { ip: () => string }): void;
  /** What a controller would make of the status after a spec change (the demo has none). */
  reconcile?(obj: Obj): void;
  /** The name format kube validates (`subdomain`, `label`, `label1035`). */
  nameFormat: "subdomain" | "label" | "label1035";
}

const RW = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
const RW_NO_DC = ["create", "delete", "get", "list", "patch", "update", "watch"];

const nameCol = (): TableColumn => ({
  name: "Name",
  type: "string",
  format: "name",
  description:
    "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
  priority: 0,
});
const ageCol = (): TableColumn => ({
  name: "Age",
  type: "string",
  format: "",
  description:
    "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
  priority: 0,
});
const col = (name: string, type: string, description: string, priority = 0): TableColumn => ({
  name,
  type,
  format: "",
  description,
  priority,
});

/** kube's `duration.HumanDuration` (k8s.io/apimachinery/pkg/util/duration). */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.floor(hours / 24) % 365;
    return dy === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${dy}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

function age(obj: Obj, now: number): string {
  const ts = obj.metadata.creationTimestamp;
  if (typeof ts !== "string") return "<unknown>";
  return humanDuration(now - Date.parse(ts));
}

function rec(v: unknown): Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : {};
}
function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function portsOf(svc: Obj): string {
  const ports = arr(rec(svc.spec).ports);
  if (ports.length === 0) return "<none>";
  return ports
    .map((p) => {
      const r = rec(p);
      const proto = typeof r.protocol === "string" ? r.protocol : "TCP";
      return r.nodePort ? `${r.port}:${r.nodePort}/${proto}` : `${r.port}/${proto}`;
    })
    .join(",");
}

/** A create-only, cluster-scoped review kind (`selfsubjectaccessreviews` and the like). */
function review(group: string, kind: string): ResourceDef {
  const singular = kind.toLowerCase();
  return {
    group,
    version: "v1",
    resource: `${singular}s`,
    singular,
    kind,
    namespaced: false,
    shortNames: [],
    verbs: ["create"],
    subresources: {},
    nameFormat: "subdomain",
    columns: [nameCol()],
    cells: (o) => [o.metadata.name],
  };
}

/** The demo's resources, in discovery order per group version. */
export const RESOURCES: ResourceDef[] = [
  {
    group: "",
    version: "v1",
    resource: "namespaces",
    singular: "namespace",
    kind: "Namespace",
    namespaced: false,
    shortNames: ["ns"],
    verbs: RW_NO_DC,
    subresources: { status: { kind: "Namespace", verbs: ["get", "patch", "update"] } },
    nameFormat: "label",
    columns: [nameCol(), col("Status", "string", "The status of the namespace"), ageCol()],
    cells: (o, now) => [o.metadata.name, rec(o.status).phase ?? "Active", age(o, now)],
    defaults(o) {
      const spec = rec(o.spec);
      o.spec = { finalizers: ["kubernetes"], ...spec };
      o.status = { phase: "Active" };
      const labels = rec(o.metadata.labels);
      o.metadata.labels = { ...labels, "kubernetes.io/metadata.name": o.metadata.name };
    },
  },
  {
    group: "",
    version: "v1",
    resource: "pods",
    singular: "pod",
    kind: "Pod",
    namespaced: true,
    shortNames: ["po"],
    verbs: RW,
    categories: ["all"],
    subresources: {
      status: { kind: "Pod", verbs: ["get", "patch", "update"] },
      log: { kind: "Pod", verbs: ["get"] },
    },
    nameFormat: "subdomain",
    columns: [
      nameCol(),
      col("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
      col("Status", "string", "The aggregate status of the containers in this pod."),
      col(
        "Restarts",
        "string",
        "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
      ),
      ageCol(),
      col(
        "IP",
        "string",
        "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
        1,
      ),
      col("Node", "string", "NodeName is a request to schedule this pod onto a specific node.", 1),
    ],
    cells: (o, now) => {
      const st = rec(o.status);
      const cs = arr(st.containerStatuses).map(rec);
      const total = arr(rec(o.spec).containers).length;
      const ready = cs.filter((c) => c.ready === true).length;
      const restarts = cs.reduce(
        (n, c) => n + (typeof c.restartCount === "number" ? c.restartCount : 0),
        0,
      );
      const reason = o.metadata.deletionTimestamp ? "Terminating" : (st.phase ?? "Pending");
      return [
        o.metadata.name,
        `${ready}/${total}`,
        reason,
        String(restarts),
        age(o, now),
        st.podIP ?? "<none>",
        rec(o.spec).nodeName ?? "<none>",
      ];
    },
    defaults(o, ctx) {
      const spec = rec(o.spec);
      const containers = arr(spec.containers).map(rec);
      o.spec = {
        ...spec,
        containers: containers.map((c) => ({
          imagePullPolicy:
            typeof c.image === "string" && c.image.endsWith(":latest") ? "Always" : "IfNotPresent",
          terminationMessagePath: "/dev/termination-log",
          terminationMessagePolicy: "File",
          resources: {},
          ...c,
        })),
        restartPolicy: spec.restartPolicy ?? "Always",
        terminationGracePeriodSeconds: spec.terminationGracePeriodSeconds ?? 30,
        dnsPolicy: spec.dnsPolicy ?? "ClusterFirst",
        schedulerName: spec.schedulerName ?? "default-scheduler",
        serviceAccountName: spec.serviceAccountName ?? "default",
        nodeName: spec.nodeName ?? "kaudit-demo-node",
        enableServiceLinks: spec.enableServiceLinks ?? true,
      };
      const started = o.metadata.creationTimestamp as string;
      o.status = {
        phase: "Running",
        conditions: ["Initialized", "Ready", "ContainersReady", "PodScheduled"].map((type) => ({
          type,
          status: "True",
          lastProbeTime: null,
          lastTransitionTime: started,
        })),
        hostIP: "10.0.0.10",
        podIP: ctx.ip(),
        startTime: started,
        containerStatuses: containers.map((c) => ({
          name: c.name,
          state: { running: { startedAt: started } },
          lastState: {},
          ready: true,
          restartCount: 0,
          image: c.image,
          imageID: "",
          started: true,
        })),
        qosClass: "BestEffort",
      };
    },
  },
  {
    group: "",
    version: "v1",
    resource: "configmaps",
    singular: "configmap",
    kind: "ConfigMap",
    namespaced: true,
    shortNames: ["cm"],
    verbs: RW,
    subresources: {},
    nameFormat: "subdomain",
    columns: [nameCol(), col("Data", "string", "Data contains the configuration data."), ageCol()],
    cells: (o, now) => [
      o.metadata.name,
      Object.keys(rec(o.data)).length + Object.keys(rec(o.binaryData)).length,
      age(o, now),
    ],
  },
  {
    group: "",
    version: "v1",
    resource: "secrets",
    singular: "secret",
    kind: "Secret",
    namespaced: true,
    shortNames: [],
    verbs: RW,
    subresources: {},
    nameFormat: "subdomain",
    columns: [
      nameCol(),
      col("Type", "string", "Used to facilitate programmatic handling of secret data."),
      col("Data", "string", "Data contains the secret data."),
      ageCol(),
    ],
    cells: (o, now) => [
      o.metadata.name,
      o.type ?? "Opaque",
      Object.keys(rec(o.data)).length,
      age(o, now),
    ],
    defaults(o) {
      o.type ??= "Opaque";
      // kube stores stringData merged into data, base64-encoded
      const sd = rec(o.stringData);
      if (Object.keys(sd).length > 0) {
        const data = { ...rec(o.data) };
        for (const [k, v] of Object.entries(sd))
          data[k] = Buffer.from(String(v)).toString("base64");
        o.data = data;
      }
      delete o.stringData;
    },
  },
  {
    group: "",
    version: "v1",
    resource: "services",
    singular: "service",
    kind: "Service",
    namespaced: true,
    shortNames: ["svc"],
    verbs: RW_NO_DC,
    categories: ["all"],
    subresources: { status: { kind: "Service", verbs: ["get", "patch", "update"] } },
    nameFormat: "label1035",
    columns: [
      nameCol(),
      col("Type", "string", "type determines how the Service is exposed."),
      col("Cluster-IP", "string", "clusterIP is the IP address of the service."),
      col(
        "External-IP",
        "string",
        "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.",
      ),
      col("Port(s)", "string", "The list of ports that are exposed by this service."),
      ageCol(),
      col(
        "Selector",
        "string",
        "Route service traffic to pods with label keys and values matching this selector.",
        1,
      ),
    ],
    cells: (o, now) => {
      const spec = rec(o.spec);
      const sel = rec(spec.selector);
      return [
        o.metadata.name,
        spec.type ?? "ClusterIP",
        spec.clusterIP ?? "<none>",
        arr(spec.externalIPs).length > 0 ? arr(spec.externalIPs).join(",") : "<none>",
        portsOf(o),
        age(o, now),
        Object.keys(sel).length > 0
          ? Object.entries(sel)
              .map(([k, v]) => `${k}=${v}`)
              .join(",")
          : "<none>",
      ];
    },
    defaults(o, ctx) {
      const spec = rec(o.spec);
      const ip =
        typeof spec.clusterIP === "string" && spec.clusterIP
          ? spec.clusterIP
          : `10.96.${ctx.ip().split(".").slice(2).join(".")}`;
      o.spec = {
        type: "ClusterIP",
        sessionAffinity: "None",
        ...spec,
        clusterIP: ip,
        clusterIPs: [ip],
        ipFamilies: ["IPv4"],
        ipFamilyPolicy: "SingleStack",
        ports: arr(spec.ports).map((p) => {
          const r = rec(p);
          return { protocol: "TCP", targetPort: r.port, ...r };
        }),
      };
      o.status = { loadBalancer: {} };
    },
  },
  {
    group: "apps",
    version: "v1",
    resource: "deployments",
    singular: "deployment",
    kind: "Deployment",
    namespaced: true,
    shortNames: ["deploy"],
    verbs: RW,
    categories: ["all"],
    subresources: {
      status: { kind: "Deployment", verbs: ["get", "patch", "update"] },
      scale: {
        kind: "Scale",
        group: "autoscaling",
        version: "v1",
        verbs: ["get", "patch", "update"],
      },
    },
    nameFormat: "subdomain",
    columns: [
      nameCol(),
      col("Ready", "string", "Number of the pod with ready state"),
      col(
        "Up-to-date",
        "string",
        "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
      ),
      col(
        "Available",
        "string",
        "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
      ),
      ageCol(),
      col("Containers", "string", "Names of each container in the template.", 1),
      col("Images", "string", "Images referenced by each container in the template.", 1),
    ],
    cells: (o, now) => {
      const spec = rec(o.spec);
      const st = rec(o.status);
      const cs = arr(rec(rec(spec.template).spec).containers).map(rec);
      return [
        o.metadata.name,
        `${st.readyReplicas ?? 0}/${spec.replicas ?? 1}`,
        st.updatedReplicas ?? 0,
        st.availableReplicas ?? 0,
        age(o, now),
        cs.map((c) => c.name).join(","),
        cs.map((c) => c.image).join(","),
      ];
    },
    defaults(o) {
      const spec = rec(o.spec);
      const replicas = typeof spec.replicas === "number" ? spec.replicas : 1;
      const strategy = rec(spec.strategy);
      o.spec = {
        replicas,
        revisionHistoryLimit: 10,
        progressDeadlineSeconds: 600,
        ...spec,
        strategy: strategy.type
          ? strategy
          : { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "25%", maxSurge: "25%" } },
      };
      o.status = {
        observedGeneration: 1,
        replicas,
        updatedReplicas: replicas,
        readyReplicas: replicas,
        availableReplicas: replicas,
      };
    },
    reconcile(o) {
      const spec = rec(o.spec);
      const replicas = typeof spec.replicas === "number" ? spec.replicas : 1;
      o.status = {
        ...rec(o.status),
        observedGeneration: o.metadata.generation ?? 1,
        replicas,
        updatedReplicas: replicas,
        readyReplicas: replicas,
        availableReplicas: replicas,
      };
    },
  },
  {
    group: "",
    version: "v1",
    resource: "events",
    singular: "event",
    kind: "Event",
    namespaced: true,
    shortNames: ["ev"],
    verbs: RW,
    subresources: {},
    nameFormat: "subdomain",
    columns: [
      col(
        "Last Seen",
        "string",
        "The time at which the most recent occurrence of this event was recorded.",
      ),
      col(
        "Type",
        "string",
        "Type of this event (Normal, Warning), new types could be added in the future",
      ),
      col(
        "Reason",
        "string",
        "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
      ),
      col("Object", "string", "The object that this event is about."),
      col("Message", "string", "A human-readable description of the status of this operation."),
    ],
    cells: (o, now) => {
      const inv = rec(o.involvedObject);
      const last =
        typeof o.lastTimestamp === "string" ? o.lastTimestamp : o.metadata.creationTimestamp;
      return [
        typeof last === "string" ? humanDuration(now - Date.parse(last)) : "<unknown>",
        o.type ?? "Normal",
        o.reason ?? "",
        `${String(inv.kind ?? "").toLowerCase()}/${inv.name ?? ""}`,
        o.message ?? "",
      ];
    },
  },
  {
    group: "",
    version: "v1",
    resource: "serviceaccounts",
    singular: "serviceaccount",
    kind: "ServiceAccount",
    namespaced: true,
    shortNames: ["sa"],
    verbs: RW,
    subresources: {},
    nameFormat: "subdomain",
    columns: [
      nameCol(),
      col(
        "Secrets",
        "string",
        "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.",
      ),
      ageCol(),
    ],
    cells: (o, now) => [o.metadata.name, arr(o.secrets).length, age(o, now)],
  },
  {
    group: "apps",
    version: "v1",
    resource: "replicasets",
    singular: "replicaset",
    kind: "ReplicaSet",
    namespaced: true,
    shortNames: ["rs"],
    verbs: RW,
    categories: ["all"],
    subresources: { status: { kind: "ReplicaSet", verbs: ["get", "patch", "update"] } },
    nameFormat: "subdomain",
    columns: [
      nameCol(),
      col("Desired", "integer", "Replicas is the number of desired replicas."),
      col("Current", "integer", "Replicas is the most recently observed number of replicas."),
      col("Ready", "integer", "The number of ready replicas for this replica set."),
      ageCol(),
    ],
    cells: (o, now) => {
      const st = rec(o.status);
      return [
        o.metadata.name,
        rec(o.spec).replicas ?? 1,
        st.replicas ?? 0,
        st.readyReplicas ?? 0,
        age(o, now),
      ];
    },
  },
  // the review kinds kubectl's `auth` commands create; nothing is stored
  review("authentication.k8s.io", "SelfSubjectReview"),
  review("authorization.k8s.io", "SelfSubjectRulesReview"),
  review("authorization.k8s.io", "SelfSubjectAccessReview"),
];

/** Finds a served resource by group, version and plural name. */
export function findResource(
  group: string,
  version: string,
  resource: string,
): ResourceDef | undefined {
  return RESOURCES.find(
    (r) => r.group === group && r.version === version && r.resource === resource,
  );
}

/** `pods` or `deployments.apps`, as kube's error messages name a resource. */
export function qualifiedResource(def: { group: string; resource: string }): string {
  return def.group ? `${def.resource}.${def.group}` : def.resource;
}

/** The group versions served, preferred first per group. */
export function groupVersions(): { group: string; version: string }[] {
  const seen = new Set<string>();
  const out: { group: string; version: string }[] = [];
  for (const r of RESOURCES) {
    const k = `${r.group}/${r.version}`;
    if (!seen.has(k)) {
      seen.add(k);
      out.push({ group: r.group, version: r.version });
    }
  }
  return out;
}
