import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { decodeMessage, encodeMessage, ProtobufError, rootContext } from "./codec";

/** kube's protobuf media type. */
export const PROTOBUF_MEDIA_TYPE = "application/vnd.kubernetes.protobuf";

/** The 4 bytes that start every kube protobuf object: `k8s\0`. */
export const MAGIC = Uint8Array.from([0x6b, 0x38, 0x73, 0x00]);

/** Kinds the demo has messages for, by `apiVersion` and `kind` (lists are found from these). */
const KINDS: Readonly<Record<string, string>> = {
  "v1/Namespace": "core.v1.Namespace",
  "v1/Pod": "core.v1.Pod",
  "v1/ConfigMap": "core.v1.ConfigMap",
  "v1/Secret": "core.v1.Secret",
  "v1/Service": "core.v1.Service",
  "v1/ServiceAccount": "core.v1.ServiceAccount",
  "v1/Event": "core.v1.Event",
  "v1/Status": "meta.v1.Status",
  "v1/DeleteOptions": "meta.v1.DeleteOptions",
  "meta.k8s.io/v1/DeleteOptions": "meta.v1.DeleteOptions",
  "meta.k8s.io/v1/Status": "meta.v1.Status",
  "apps/v1/Deployment": "apps.v1.Deployment",
  "apps/v1/ReplicaSet": "apps.v1.ReplicaSet",
  "autoscaling/v1/Scale": "autoscaling.v1.Scale",
  "authorization.k8s.io/v1/SelfSubjectAccessReview": "authorization.v1.SelfSubjectAccessReview",
  "authorization.k8s.io/v1/SelfSubjectRulesReview": "authorization.v1.SelfSubjectRulesReview",
  "authentication.k8s.io/v1/SelfSubjectReview": "authentication.v1.SelfSubjectReview",
};

/** The message of `apiVersion`/`kind`, or of its items for a `…List`; undefined if unknown. */
export function messageOf(
  apiVersion: string,
  kind: string,
): { message: string; list: boolean } | undefined {
  const direct = KINDS[`${apiVersion}/${kind}`];
  if (direct) return { message: direct, list: false };
  if (kind.endsWith("List")) {
    const item = KINDS[`${apiVersion}/${kind.slice(0, -4)}`];
    if (item) return { message: item, list: true };
  }
  return undefined;
}

/** The kinds that have messages, as `apiVersion/kind` (for tests and error messages). */
export function knownKinds(): string[] {
  return Object.keys(KINDS);
}

/** `runtime.Unknown`: the envelope around every object. */
interface Unknown {
  apiVersion: string;
  kind: string;
  raw: Uint8Array;
  contentEncoding: string;
  contentType: string;
}

function readUnknown(body: Uint8Array): Unknown {
  const u: Unknown = {
    apiVersion: "",
    kind: "",
    raw: new Uint8Array(0),
    contentEncoding: "",
    contentType: "",
  };
  const envelope = { kind: "Unknown", path: "", message: "runtime.Unknown" };
  try {
    const r = new BinaryReader(body);
    while (r.pos < r.len) {
      const [no, wt] = r.tag();
      if (no < 1 || no > 4)
        throw new ProtobufError(
          `runtime.Unknown: field number ${no} is not known to this server`,
          { ...envelope, fieldNumber: no },
          true,
        );
      if (wt !== WireType.LengthDelimited)
        throw new ProtobufError(`runtime.Unknown: field ${no} has wire type ${wt}, expected 2`, {
          ...envelope,
          fieldNumber: no,
        });
      if (no === 1) {
        const tm = new BinaryReader(r.bytes());
        while (tm.pos < tm.len) {
          const [tno, twt] = tm.tag();
          if (twt !== WireType.LengthDelimited || (tno !== 1 && tno !== 2))
            throw new ProtobufError(
              `runtime.TypeMeta: field number ${tno} is not known to this server`,
              { ...envelope, message: "runtime.TypeMeta", fieldNumber: tno },
              true,
            );
          if (tno === 1) u.apiVersion = tm.string();
          else u.kind = tm.string();
        }
      } else if (no === 2) u.raw = r.bytes();
      else if (no === 3) u.contentEncoding = r.string();
      else if (no === 4) u.contentType = r.string();
      else
        throw new ProtobufError(
          `runtime.Unknown: field number ${no} is not known to this server`,
          { ...envelope, fieldNumber: no },
          true,
        );
    }
  } catch (e) {
    if (e instanceof ProtobufError) throw e;
    throw new ProtobufError(
      `runtime.Unknown: malformed protobuf: ${(e as Error).message}`,
      envelope,
    );
  }
  return u;
}

/**
 * Decodes a kube protobuf body (`k8s\0` + `runtime.Unknown`) into the object as JSON, the way
 * kube-apiserver would write it (`kind`, `apiVersion`, then the fields in Go order with Go's
 * omitempty rules). Throws {@link ProtobufError}: `unknownField` for a field number the tables
 * do not know.
 */
export function decodeKubeProtobuf(body: Uint8Array): Record<string, unknown> {
  const top = { kind: "Unknown", path: "", message: "runtime.Unknown" };
  if (body.length < 4 || !MAGIC.every((b, i) => body[i] === b))
    throw new ProtobufError('the body does not start with the protobuf prefix "k8s\\x00"', top);
  const u = readUnknown(body.subarray(4));
  if (u.contentEncoding !== "")
    throw new ProtobufError(
      `unsupported contentEncoding ${JSON.stringify(u.contentEncoding)}`,
      top,
    );
  if (u.contentType !== "" && u.contentType !== PROTOBUF_MEDIA_TYPE)
    throw new ProtobufError(`unsupported contentType ${JSON.stringify(u.contentType)}`, top);
  if (!u.kind || !u.apiVersion)
    throw new ProtobufError("the protobuf object has no apiVersion or kind in its typeMeta", top);
  const m = messageOf(u.apiVersion, u.kind);
  if (!m)
    throw new ProtobufError(
      `no protobuf message for kind ${JSON.stringify(u.kind)} in ${JSON.stringify(u.apiVersion)}`,
      { ...top, kind: u.kind },
      true,
    );
  const ctx = rootContext(u.kind);
  const message = m.list ? `${m.message}List` : m.message;
  const fields = decodeMessage(u.raw, message, ctx) as Record<string, unknown>;
  return { kind: u.kind, apiVersion: u.apiVersion, ...fields };
}

/** Encodes an object (JSON with `kind` and `apiVersion`) as a kube protobuf body. */
export function encodeKubeProtobuf(obj: Record<string, unknown>): Uint8Array {
  const kind = String(obj.kind ?? "");
  const apiVersion = String(obj.apiVersion ?? "");
  const m = messageOf(apiVersion, kind);
  if (!m)
    throw new ProtobufError(
      `no protobuf message for kind ${JSON.stringify(kind)} in ${JSON.stringify(apiVersion)}`,
      { kind, path: "", message: "runtime.Unknown" },
      true,
    );
  const raw = encodeMessage(obj, m.list ? `${m.message}List` : m.message, rootContext(kind));
  const w = new BinaryWriter();
  w.raw(MAGIC);
  w.tag(1, WireType.LengthDelimited).fork();
  w.tag(1, WireType.LengthDelimited).string(apiVersion);
  w.tag(2, WireType.LengthDelimited).string(kind);
  w.join();
  w.tag(2, WireType.LengthDelimited).bytes(raw);
  w.tag(3, WireType.LengthDelimited).string("");
  w.tag(4, WireType.LengthDelimited).string("");
  return w.finish();
}
