import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ProtobufError } from "./codec";
import { decodeKubeProtobuf, encodeKubeProtobuf, knownKinds, MAGIC, messageOf } from "./envelope";

const KUBECTL = fileURLToPath(new URL("./__fixtures__/kubectl-1.32/", import.meta.url));
const captured = readdirSync(KUBECTL)
  .filter((f) => f.endsWith(".pb"))
  .map((f) => f.slice(0, -3));

describe("bodies kubectl 1.32 sent (see __fixtures__/SOURCES.md)", () => {
  it("covers the typed commands", () => {
    expect(captured.length).toBe(15);
  });

  it.each(captured)("%s decodes to exactly the JSON kubectl writes for it", (name) => {
    const body = readFileSync(`${KUBECTL}${name}.pb`);
    const want = JSON.parse(readFileSync(`${KUBECTL}${name}.json`, "utf8"));
    const got = decodeKubeProtobuf(body);
    // byte for byte: same keys, same order, same values as Go's encoding/json
    expect(JSON.stringify(got)).toBe(JSON.stringify(want));
    // and the writer gives back bytes that read the same
    expect(decodeKubeProtobuf(encodeKubeProtobuf(got))).toEqual(want);
  });

  it("binaryData and secret data stay base64 of the exact bytes", () => {
    const cm = decodeKubeProtobuf(readFileSync(`${KUBECTL}configmap.pb`)) as {
      binaryData: Record<string, string>;
    };
    expect(Buffer.from(cm.binaryData.bin as string, "base64")).toEqual(
      Buffer.from([0x00, 0x01, 0x02, 0xff, 0x20, 0x62, 0x69, 0x6e, 0x61, 0x72, 0x79]),
    );
    const s = decodeKubeProtobuf(readFileSync(`${KUBECTL}secret-generic.pb`)) as {
      data: Record<string, string>;
    };
    expect(Buffer.from(s.data.password as string, "base64").toString()).toBe("hunter2");
  });
});

/** One object of every kind, with the fields kubectl and controllers set, as kube writes them. */
const OBJECTS: Record<string, unknown>[] = [
  {
    kind: "Namespace",
    apiVersion: "v1",
    metadata: {
      name: "team-a",
      uid: "0b5c0b8e-4d0b-4a5e-9d7a-1d1c0c0c0c0c",
      resourceVersion: "12",
      creationTimestamp: "2026-11-22T11:39:20Z",
      labels: { "kubernetes.io/metadata.name": "team-a" },
      managedFields: [
        {
          manager: "kubectl-create",
          operation: "Update",
          apiVersion: "v1",
          time: "2026-11-22T11:39:20Z",
          fieldsType: "FieldsV1",
          fieldsV1: { "f:metadata": { "f:labels": { ".": {} } } },
        },
      ],
    },
    spec: { finalizers: ["kubernetes"] },
    status: { phase: "Active" },
  },
  {
    kind: "Pod",
    apiVersion: "v1",
    metadata: {
      name: "web",
      generateName: "web-",
      namespace: "default",
      creationTimestamp: null,
      labels: { app: "web", tier: "frontend" },
      annotations: { "kubectl.kubernetes.io/default-container": "nginx" },
      ownerReferences: [
        {
          apiVersion: "apps/v1",
          kind: "ReplicaSet",
          name: "web-5d8f",
          uid: "u-1",
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      volumes: [
        {
          name: "cfg",
          configMap: { name: "demo", items: [{ key: "a", path: "a.txt" }], defaultMode: 420 },
        },
        { name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "64Mi" } },
        { name: "sec", secret: { secretName: "s1", optional: true } },
      ],
      initContainers: [
        { name: "init", image: "busybox", command: ["sh", "-c", "true"], resources: {} },
      ],
      containers: [
        {
          name: "nginx",
          image: "nginx:1.27",
          args: ["-g", "daemon off;"],
          workingDir: "/srv",
          ports: [{ name: "http", containerPort: 80, protocol: "TCP" }],
          envFrom: [{ configMapRef: { name: "demo" } }],
          env: [
            { name: "A", value: "1" },
            {
              name: "POD",
              valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "metadata.name" } },
            },
            { name: "PW", valueFrom: { secretKeyRef: { name: "s1", key: "p" } } },
          ],
          resources: { limits: { cpu: "500m", memory: "128Mi" }, requests: { cpu: "250m" } },
          volumeMounts: [{ name: "cfg", readOnly: true, mountPath: "/etc/cfg" }],
          livenessProbe: {
            httpGet: { path: "/healthz", port: "http", scheme: "HTTP" },
            initialDelaySeconds: 3,
            periodSeconds: 10,
          },
          readinessProbe: { tcpSocket: { port: 80 }, failureThreshold: 3 },
          lifecycle: { preStop: { exec: { command: ["nginx", "-s", "quit"] } } },
          terminationMessagePath: "/dev/termination-log",
          terminationMessagePolicy: "File",
          imagePullPolicy: "IfNotPresent",
          securityContext: {
            capabilities: { drop: ["ALL"] },
            runAsUser: 1000,
            runAsNonRoot: true,
            readOnlyRootFilesystem: true,
            allowPrivilegeEscalation: false,
            seccompProfile: { type: "RuntimeDefault" },
          },
          stdin: true,
          tty: true,
        },
      ],
      restartPolicy: "Always",
      terminationGracePeriodSeconds: 30,
      dnsPolicy: "ClusterFirst",
      nodeSelector: { "kubernetes.io/os": "linux" },
      serviceAccountName: "robot",
      automountServiceAccountToken: false,
      nodeName: "kaudit-demo-node",
      securityContext: { supplementalGroups: [3000], fsGroup: 2000 },
      imagePullSecrets: [{ name: "reg" }],
      schedulerName: "default-scheduler",
      tolerations: [{ key: "k", operator: "Exists", effect: "NoSchedule", tolerationSeconds: 60 }],
      priority: 0,
      enableServiceLinks: true,
    },
    status: {
      phase: "Running",
      conditions: [
        {
          type: "Ready",
          status: "True",
          lastProbeTime: null,
          lastTransitionTime: "2026-11-22T11:39:21Z",
        },
      ],
      hostIP: "10.0.0.10",
      podIP: "10.244.0.5",
      podIPs: [{ ip: "10.244.0.5" }],
      startTime: "2026-11-22T11:39:20Z",
      containerStatuses: [
        {
          name: "nginx",
          state: { running: { startedAt: "2026-11-22T11:39:21Z" } },
          lastState: {},
          ready: true,
          restartCount: 0,
          image: "nginx:1.27",
          imageID: "",
          started: true,
        },
      ],
      qosClass: "Burstable",
    },
  },
  {
    kind: "ConfigMap",
    apiVersion: "v1",
    metadata: { name: "demo", namespace: "default", creationTimestamp: null },
    immutable: true,
    data: { "app.properties": "a=1\nb=2\n", greeting: "hello" },
    binaryData: { "logo.png": "iVBORw0KGgo=" },
  },
  {
    kind: "Secret",
    apiVersion: "v1",
    metadata: { name: "tls", namespace: "default", creationTimestamp: null },
    data: { "tls.crt": "Y2VydA==", "tls.key": "a2V5" },
    type: "kubernetes.io/tls",
  },
  {
    kind: "Service",
    apiVersion: "v1",
    metadata: {
      name: "web",
      namespace: "default",
      creationTimestamp: null,
      labels: { app: "web" },
    },
    spec: {
      ports: [
        { name: "http", protocol: "TCP", port: 80, targetPort: "http", nodePort: 30080 },
        { name: "https", protocol: "TCP", appProtocol: "https", port: 443, targetPort: 8443 },
      ],
      selector: { app: "web" },
      clusterIP: "10.96.0.10",
      clusterIPs: ["10.96.0.10"],
      type: "NodePort",
      sessionAffinity: "ClientIP",
      externalTrafficPolicy: "Local",
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } },
      ipFamilies: ["IPv4"],
      ipFamilyPolicy: "SingleStack",
      internalTrafficPolicy: "Cluster",
    },
    status: { loadBalancer: { ingress: [{ ip: "192.0.2.1", ipMode: "VIP" }] } },
  },
  {
    kind: "ServiceAccount",
    apiVersion: "v1",
    metadata: { name: "robot", namespace: "default", creationTimestamp: null },
    secrets: [{ name: "robot-token" }],
    imagePullSecrets: [{ name: "reg" }],
    automountServiceAccountToken: false,
  },
  {
    kind: "Event",
    apiVersion: "v1",
    metadata: { name: "web.187a", namespace: "default", creationTimestamp: null },
    involvedObject: {
      kind: "Pod",
      namespace: "default",
      name: "web",
      uid: "u-2",
      apiVersion: "v1",
      fieldPath: "spec.containers{nginx}",
    },
    reason: "Pulled",
    message: 'Container image "nginx:1.27" already present on machine',
    source: { component: "kubelet", host: "kaudit-demo-node" },
    firstTimestamp: "2026-11-22T11:39:20Z",
    lastTimestamp: "2026-11-22T11:39:21Z",
    count: 2,
    type: "Normal",
    eventTime: "2026-11-22T11:39:21.123456Z",
    reportingComponent: "kubelet",
    reportingInstance: "kaudit-demo-node",
  },
  {
    kind: "Deployment",
    apiVersion: "apps/v1",
    metadata: {
      name: "web",
      namespace: "default",
      generation: 3,
      creationTimestamp: null,
      labels: { app: "web" },
    },
    spec: {
      replicas: 3,
      selector: {
        matchLabels: { app: "web" },
        matchExpressions: [{ key: "tier", operator: "NotIn", values: ["db"] }],
      },
      template: {
        metadata: { creationTimestamp: null, labels: { app: "web" } },
        spec: { containers: [{ name: "nginx", image: "nginx", resources: {} }] },
      },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "25%", maxSurge: 1 } },
      minReadySeconds: 5,
      revisionHistoryLimit: 10,
      paused: true,
      progressDeadlineSeconds: 600,
    },
    status: {
      observedGeneration: 3,
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
      conditions: [
        {
          type: "Available",
          status: "True",
          lastUpdateTime: "2026-11-22T11:39:21Z",
          lastTransitionTime: "2026-11-22T11:39:21Z",
          reason: "MinimumReplicasAvailable",
          message: "Deployment has minimum availability.",
        },
      ],
    },
  },
  {
    kind: "ReplicaSet",
    apiVersion: "apps/v1",
    metadata: { name: "web-5d8f", namespace: "default", creationTimestamp: null },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: "web" } },
      template: { metadata: { creationTimestamp: null }, spec: { containers: null } },
    },
    status: { replicas: 1, readyReplicas: 1 },
  },
  {
    kind: "Scale",
    apiVersion: "autoscaling/v1",
    metadata: { name: "web", namespace: "default", creationTimestamp: null },
    spec: { replicas: 4 },
    status: { replicas: 3, selector: "app=web" },
  },
  {
    kind: "SelfSubjectAccessReview",
    apiVersion: "authorization.k8s.io/v1",
    metadata: { creationTimestamp: null },
    spec: {
      resourceAttributes: {
        namespace: "default",
        verb: "list",
        group: "apps",
        version: "v1",
        resource: "deployments",
        subresource: "scale",
        name: "web",
        fieldSelector: { rawSelector: "metadata.name=web" },
        labelSelector: { requirements: [{ key: "app", operator: "In", values: ["web"] }] },
      },
    },
    status: { allowed: true, reason: "RBAC: allowed" },
  },
  {
    kind: "SelfSubjectRulesReview",
    apiVersion: "authorization.k8s.io/v1",
    metadata: { creationTimestamp: null },
    spec: { namespace: "default" },
    status: {
      resourceRules: [{ verbs: ["get", "list", "watch"], apiGroups: ["*"], resources: ["*"] }],
      nonResourceRules: [{ verbs: ["get"], nonResourceURLs: ["/healthz"] }],
      incomplete: false,
    },
  },
  {
    kind: "SelfSubjectReview",
    apiVersion: "authentication.k8s.io/v1",
    metadata: { creationTimestamp: null },
    status: {
      userInfo: {
        username: "admin",
        uid: "uid-admin",
        groups: ["system:masters", "system:authenticated"],
        extra: { scopes: ["a", "b"] },
      },
    },
  },
  {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: 'configmaps "demo" already exists',
    reason: "AlreadyExists",
    details: {
      name: "demo",
      kind: "configmaps",
      causes: [{ reason: "FieldValueInvalid", message: "m", field: "f" }],
    },
    code: 409,
  },
  {
    kind: "DeleteOptions",
    apiVersion: "v1",
    gracePeriodSeconds: 0,
    preconditions: { uid: "u-1", resourceVersion: "7" },
    propagationPolicy: "Foreground",
    dryRun: ["All"],
  },
  {
    kind: "ConfigMapList",
    apiVersion: "v1",
    metadata: { resourceVersion: "42" },
    items: [{ metadata: { name: "a", creationTimestamp: null }, data: { k: "v" } }],
  },
];

describe("every kind: encoded with BinaryWriter from JSON, decoded back", () => {
  it("covers every kind the envelope knows, plus a list", () => {
    const kinds = new Set(OBJECTS.map((o) => `${o.apiVersion}/${o.kind}`));
    for (const k of knownKinds().filter((k) => !k.startsWith("meta.k8s.io/")))
      expect(kinds).toContain(k);
  });

  it.each(OBJECTS.map((o) => [o.kind as string, o]))("%s", (_kind, obj) => {
    const body = encodeKubeProtobuf(obj);
    expect(Buffer.from(body.subarray(0, 4))).toEqual(Buffer.from(MAGIC));
    expect(JSON.stringify(decodeKubeProtobuf(body))).toBe(JSON.stringify(obj));
  });
});

describe("fields of the API the tables leave out", () => {
  it("cannot be written either: the encoder names them", () => {
    expect(() =>
      encodeKubeProtobuf({
        kind: "Pod",
        apiVersion: "v1",
        metadata: { name: "p" },
        spec: { containers: [], affinity: {} },
      }),
    ).toThrow("Pod: spec.affinity: field affinity is not part of core.v1.PodSpec");
  });
});

/** A protobuf body of `kind` whose `raw` is given. */
function envelope(apiVersion: string, kind: string, raw: Uint8Array): Buffer {
  const w = new BinaryWriter();
  w.raw(MAGIC);
  w.tag(1, WireType.LengthDelimited).fork();
  w.tag(1, WireType.LengthDelimited)
    .string(apiVersion)
    .tag(2, WireType.LengthDelimited)
    .string(kind);
  w.join();
  w.tag(2, WireType.LengthDelimited).bytes(raw);
  return Buffer.from(w.finish());
}

describe("the envelope", () => {
  it("finds lists from their items, and knows what it does not know", () => {
    expect(messageOf("v1", "PodList")).toEqual({ message: "core.v1.Pod", list: true });
    expect(messageOf("batch/v1", "Job")).toBeUndefined();
  });

  it.each([
    ["no magic", Buffer.from('{"kind":"ConfigMap"}'), /does not start with the protobuf prefix/],
    ["empty", Buffer.alloc(0), /does not start with the protobuf prefix/],
    ["no typeMeta", Buffer.from([...MAGIC, 0x12, 0x00]), /no apiVersion or kind/],
    ["truncated", Buffer.from([...MAGIC, 0x0a, 0x10, 0x0a]), /malformed protobuf/],
  ])("refuses %s", (_n, body, msg) => {
    expect(() => decodeKubeProtobuf(body)).toThrow(msg);
  });

  it("an unknown kind or an unknown field of the envelope is an unknown field", () => {
    for (const body of [
      envelope("batch/v1", "Job", new Uint8Array(0)),
      Buffer.from([...envelope("v1", "ConfigMap", new Uint8Array(0)), 0x28, 0x01]),
    ]) {
      try {
        decodeKubeProtobuf(body);
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(ProtobufError);
        expect((e as ProtobufError).unknownField).toBe(true);
      }
    }
  });

  it("a contentEncoding kube does not support is refused", () => {
    const w = new BinaryWriter();
    w.raw(envelope("v1", "ConfigMap", new Uint8Array(0)));
    w.tag(3, WireType.LengthDelimited).string("gzip");
    expect(() => decodeKubeProtobuf(w.finish())).toThrow(/unsupported contentEncoding "gzip"/);
  });
});

describe("any bytes: an object or a ProtobufError, nothing else", () => {
  const bodies = captured.map((n) => readFileSync(`${KUBECTL}${n}.pb`));

  it("random bodies after the magic", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (tail) => {
        expectDecodedOrRefused(Buffer.concat([Buffer.from(MAGIC), tail]));
      }),
      { numRuns: 2000 },
    );
  });

  it("kubectl's bodies with bytes flipped, cut or inserted", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: bodies.length - 1 }),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        fc.constantFrom("flip", "cut", "insert"),
        (which, at, byte, how) => {
          const b = Buffer.from(bodies[which] as Buffer);
          const i = 4 + (at % (b.length - 4));
          const flipped = Buffer.from(b);
          flipped[i] = byte;
          const mutated =
            how === "flip"
              ? flipped
              : how === "cut"
                ? b.subarray(0, i)
                : Buffer.concat([b.subarray(0, i), Buffer.from([byte]), b.subarray(i)]);
          expectDecodedOrRefused(mutated);
        },
      ),
      { numRuns: 3000 },
    );
  });
});

function expectDecodedOrRefused(body: Buffer): void {
  try {
    const o = decodeKubeProtobuf(body);
    expect(typeof o.kind).toBe("string");
  } catch (e) {
    if (!(e instanceof ProtobufError)) throw e;
  }
}
