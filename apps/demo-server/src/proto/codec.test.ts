import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { describe, expect, it } from "vitest";
import { decodeMessage, encodeMessage, MESSAGES, ProtobufError, rootContext } from "./codec";
import { SPECIAL_MESSAGES } from "./schema";

/** A value for every special message, as kube writes it in JSON. */
const SPECIAL_VALUES: Record<string, unknown> = {
  "meta.v1.Time": "2026-01-02T03:04:05Z",
  "meta.v1.MicroTime": "2026-01-02T03:04:05.123456Z",
  "resource.Quantity": "250m",
  "intstr.IntOrString": "25%",
  "meta.v1.FieldsV1": { "f:metadata": { "f:labels": { ".": {} } } },
  "authentication.v1.ExtraValue": ["a", "b"],
};

function scalar(type: string, name: string): unknown {
  switch (type) {
    case "string":
      return `v-${name}`;
    case "bytes":
      return Buffer.from(`b-${name}`).toString("base64");
    case "int32":
      return -7;
    case "int64":
      return 1_234_567_890_123;
    case "bool":
      return true;
    default:
      return 1.5;
  }
}

/** An object of `message` with every field set (lists and maps with one element), as kube writes it. */
function full(message: string, depth = 0): unknown {
  if (SPECIAL_MESSAGES.has(message)) return SPECIAL_VALUES[message];
  const out: Record<string, unknown> = {};
  if (depth > 12) return out;
  for (const [, json, type, shape] of MESSAGES[message] ?? []) {
    if (shape === "x") continue;
    const elem = type.replace(/^\[\]/, "").replace(/^map\[(.*)\]$/, "$1");
    const one =
      elem in MESSAGES || SPECIAL_MESSAGES.has(elem) ? full(elem, depth + 1) : scalar(elem, json);
    if (shape === "i") Object.assign(out, one);
    else if (type.startsWith("[]")) out[json] = [one];
    else if (type.startsWith("map[")) out[json] = { key: one };
    else out[json] = one;
  }
  return out;
}

describe("every message of the tables round-trips", () => {
  const names = Object.keys(MESSAGES);

  it("has the messages of every kind the demo serves", () => {
    for (const m of [
      "core.v1.Namespace",
      "core.v1.Pod",
      "core.v1.ConfigMap",
      "core.v1.Secret",
      "core.v1.Service",
      "core.v1.ServiceAccount",
      "core.v1.Event",
      "apps.v1.Deployment",
      "apps.v1.ReplicaSet",
      "autoscaling.v1.Scale",
      "authorization.v1.SelfSubjectAccessReview",
      "authorization.v1.SelfSubjectRulesReview",
      "authentication.v1.SelfSubjectReview",
      "meta.v1.Status",
      "meta.v1.DeleteOptions",
    ])
      expect(names).toContain(m);
    expect(names.length).toBeGreaterThan(90);
  });

  it.each(names)("%s: every field set, written with BinaryWriter and read back equal", (name) => {
    const obj = full(name);
    const bytes = encodeMessage(obj, name, rootContext(name));
    const back = decodeMessage(bytes, name, rootContext(name));
    // key order too: kube writes struct fields in declaration order
    expect(JSON.stringify(back)).toBe(JSON.stringify(obj));
  });

  it("every table names its message types, and no field number repeats", () => {
    for (const [name, fields] of Object.entries(MESSAGES)) {
      const numbers = fields.map((f) => f[0]);
      expect(new Set(numbers).size, name).toBe(numbers.length);
      for (const [, , type, shape] of fields) {
        if (shape === "x") continue;
        const elem = type.replace(/^\[\]/, "").replace(/^map\[(.*)\]$/, "$1");
        const known =
          ["string", "bytes", "int32", "int64", "bool", "double"].includes(elem) ||
          elem in MESSAGES ||
          SPECIAL_MESSAGES.has(elem);
        expect(known, `${name}: ${type}`).toBe(true);
      }
    }
  });
});

describe("Go's JSON rules for what is not on the wire", () => {
  const empty = (m: string) => decodeMessage(new Uint8Array(0), m, rootContext("Test"));

  it.each([
    // ObjectMeta: all omitempty but creationTimestamp, a struct written as null when zero
    ["meta.v1.ObjectMeta", { creationTimestamp: null }],
    // Container: name has no omitempty; resources is a struct
    ["core.v1.Container", { name: "", resources: {} }],
    // a pointer struct is left out; a plain struct is written empty
    [
      "apps.v1.DeploymentSpec",
      {
        template: { metadata: { creationTimestamp: null }, spec: { containers: null } },
        strategy: {},
      },
    ],
    ["authorization.v1.SubjectAccessReviewStatus", { allowed: false }],
    [
      "authorization.v1.SubjectRulesReviewStatus",
      { resourceRules: null, nonResourceRules: null, incomplete: false },
    ],
    ["core.v1.ServicePort", { port: 0, targetPort: 0 }],
    ["core.v1.ContainerPort", { containerPort: 0 }],
  ])("%s from empty bytes", (m, want) => {
    expect(empty(m)).toEqual(want);
  });

  it("special messages: zero time is null, Quantity 0, IntOrString 0, times in UTC seconds", () => {
    expect(empty("meta.v1.Time")).toBeNull();
    expect(empty("resource.Quantity")).toBe("0");
    expect(empty("intstr.IntOrString")).toBe(0);
    // kube drops a Time's nanoseconds but keeps a MicroTime's microseconds
    const w = new BinaryWriter();
    w.tag(1, WireType.Varint).int64(1_767_323_045).tag(2, WireType.Varint).int32(123_456_789);
    const b = w.finish();
    expect(decodeMessage(b, "meta.v1.Time", rootContext("T"))).toBe("2026-01-02T03:04:05Z");
    expect(decodeMessage(b, "meta.v1.MicroTime", rootContext("T"))).toBe(
      "2026-01-02T03:04:05.123456Z",
    );
  });

  it("a pointer written as zero is kept; an omitempty zero is dropped", () => {
    const w = new BinaryWriter();
    w.tag(1, WireType.Varint).int32(0); // replicas: *int32
    w.tag(5, WireType.Varint).int32(0); // minReadySeconds: int32 omitempty
    expect(
      decodeMessage(w.finish(), "apps.v1.DeploymentSpec", rootContext("Deployment")),
    ).toMatchObject({
      replicas: 0,
    });
    const w2 = new BinaryWriter();
    w2.tag(5, WireType.Varint).int32(0);
    expect(
      decodeMessage(w2.finish(), "apps.v1.DeploymentSpec", rootContext("Deployment")),
    ).not.toHaveProperty("minReadySeconds");
  });

  it("map keys come out sorted, repeated messages in order, packed numbers are read", () => {
    const w = new BinaryWriter();
    for (const k of ["z", "a", "m"])
      w.tag(11, WireType.LengthDelimited)
        .fork()
        .tag(1, WireType.LengthDelimited)
        .string(k)
        .tag(2, WireType.LengthDelimited)
        .string(k.toUpperCase())
        .join();
    expect(
      Object.keys(
        (decodeMessage(w.finish(), "meta.v1.ObjectMeta", rootContext("X")) as { labels: object })
          .labels,
      ),
    ).toEqual(["a", "m", "z"]);
    // PodSecurityContext.supplementalGroups (4) as a packed list
    const p = new BinaryWriter();
    p.tag(4, WireType.LengthDelimited).fork().int64(1000).int64(2000).join();
    expect(
      decodeMessage(p.finish(), "core.v1.PodSecurityContext", rootContext("Pod")),
    ).toMatchObject({
      supplementalGroups: [1000, 2000],
    });
  });
});

describe("what the decoder refuses", () => {
  it("an unknown field number: a ProtobufError naming kind, message, path and number", () => {
    const spec = new BinaryWriter();
    spec.tag(1, WireType.Varint).int32(2).tag(99, WireType.Varint).int32(1);
    const dep = new BinaryWriter();
    dep.tag(2, WireType.LengthDelimited).bytes(spec.finish());
    let err: unknown;
    try {
      decodeMessage(dep.finish(), "apps.v1.Deployment", rootContext("Deployment"));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProtobufError);
    const pe = err as ProtobufError;
    expect(pe.unknownField).toBe(true);
    expect(pe.fieldNumber).toBe(99);
    expect(pe.kind).toBe("Deployment");
    expect(pe.path).toBe("spec");
    expect(pe.message_).toBe("apps.v1.DeploymentSpec");
    expect(pe.message).toBe(
      "Deployment: spec: field number 99 of apps.v1.DeploymentSpec is not known to this server",
    );
  });

  it("a field of the API the tables leave out is refused the same way, by name", () => {
    const spec = new BinaryWriter().tag(18, WireType.LengthDelimited).bytes(new Uint8Array(0));
    const pod = new BinaryWriter().tag(2, WireType.LengthDelimited).bytes(spec.finish());
    expect(() => decodeMessage(pod.finish(), "core.v1.Pod", rootContext("Pod"))).toThrow(
      "Pod: spec.affinity: field number 18 (affinity) of core.v1.PodSpec is not supported by this server",
    );
  });

  it("a wire type that does not fit the field, and truncated bytes: not an unknown field", () => {
    const w = new BinaryWriter();
    w.tag(1, WireType.Varint).int32(3); // ObjectMeta.name is a string
    expect(() => decodeMessage(w.finish(), "meta.v1.ObjectMeta", rootContext("Pod"))).toThrow(
      /Pod: name: field 1 \(name\) has wire type 0, expected 2/,
    );
    const t = new BinaryWriter();
    t.tag(1, WireType.LengthDelimited).string("a long name");
    const cut = t.finish().subarray(0, 5);
    try {
      decodeMessage(cut, "meta.v1.ObjectMeta", rootContext("Pod"));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ProtobufError);
      expect((e as ProtobufError).unknownField).toBe(false);
      expect((e as ProtobufError).message).toMatch(/malformed protobuf/);
    }
  });

  it("the encoder refuses JSON fields the message does not have", () => {
    expect(() =>
      encodeMessage({ metadata: {}, spek: {} }, "apps.v1.Deployment", rootContext("Deployment")),
    ).toThrow(/spek: field spek is not part of apps.v1.Deployment/);
  });
});
