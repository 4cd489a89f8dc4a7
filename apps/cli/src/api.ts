/**
 * The @kaudit/api functions the CLI composes. They are looked up on the package at load time so
 * the CLI keeps working while @kaudit/api grows; each fallback below is a stop-gap marked as
 * such and is used only when the package does not (yet) export the function.
 */

import type { Event, Issue } from "@kaudit/api";
import * as api from "@kaudit/api";

type Result = { ok: true; value: Event } | { ok: false; issues: Issue[] };

const pkg = api as unknown as Record<string, unknown>;

/** Which functions came from fallbacks (reported by `kaudit --version`-style diagnostics and tests). */
export const missingFromApi: string[] = [];

function pick<T>(name: string, fallback: T): T {
  const f = pkg[name];
  if (f !== undefined) return f as T;
  missingFromApi.push(name);
  return fallback;
}

const LEVELS = new Set(["None", "Metadata", "Request", "RequestResponse"]);
const STAGES = new Set(["RequestReceived", "ResponseStarted", "ResponseComplete", "Panic"]);

// --- stop-gap fallbacks (not byte-exact; replaced by @kaudit/api as soon as it exports them) ---

function fallbackParseMicroTime(s: string): number {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/.exec(s);
  if (!m) throw new Error(`invalid MicroTime ${JSON.stringify(s)}`);
  const base = Date.parse(`${m[1]}${m[3]}`);
  const frac = m[2] ? Number(`0.${m[2]}`) * 1000 : 0;
  return base + Math.trunc(frac * 1000) / 1000;
}

function fallbackUpgradeEvent(obj: unknown): Event {
  const o = { ...(obj as Record<string, unknown>) };
  const version = o.apiVersion;
  if (version === "audit.k8s.io/v1alpha1" || version === "audit.k8s.io/v1beta1") {
    const meta = o.metadata as { creationTimestamp?: string | null } | undefined;
    if (!o.stageTimestamp && meta?.creationTimestamp) o.stageTimestamp = meta.creationTimestamp;
    if (!o.requestReceivedTimestamp && o.timestamp) o.requestReceivedTimestamp = o.timestamp;
    if (version === "audit.k8s.io/v1alpha1" && o.objectRef && typeof o.objectRef === "object") {
      const ref = { ...(o.objectRef as Record<string, unknown>) };
      if (typeof ref.apiVersion === "string") {
        const i = ref.apiVersion.lastIndexOf("/");
        if (i >= 0) {
          if (i > 0) ref.apiGroup = ref.apiVersion.slice(0, i);
          ref.apiVersion = ref.apiVersion.slice(i + 1);
        }
      }
      o.objectRef = ref;
    }
  }
  delete o.metadata;
  delete o.timestamp;
  o.kind = "Event";
  o.apiVersion = "audit.k8s.io/v1";
  for (const k of ["requestReceivedTimestamp", "stageTimestamp"]) {
    const t = o[k];
    if (typeof t === "string" && /T\d{2}:\d{2}:\d{2}Z$/.test(t)) o[k] = t.replace("Z", ".000000Z");
  }
  return o as unknown as Event;
}

function fallbackValidateEvent(v: unknown): Result {
  const issues: Issue[] = [];
  if (v === null || typeof v !== "object" || Array.isArray(v))
    return { ok: false, issues: [{ path: "", message: "expected an object" }] };
  const o = v as Record<string, unknown>;
  const str = (k: string) => {
    if (o[k] === undefined) issues.push({ path: k, message: "Required value" });
    else if (typeof o[k] !== "string")
      issues.push({ path: k, message: `Invalid value: expected a string` });
  };
  for (const k of ["auditID", "requestURI", "verb"]) str(k);
  if (!LEVELS.has(o.level as string))
    issues.push({ path: "level", message: `Unsupported value: ${JSON.stringify(o.level)}` });
  if (!STAGES.has(o.stage as string))
    issues.push({ path: "stage", message: `Unsupported value: ${JSON.stringify(o.stage)}` });
  if (o.user === undefined) issues.push({ path: "user", message: "Required value" });
  else if (o.user === null || typeof o.user !== "object")
    issues.push({ path: "user", message: "Invalid value: expected an object" });
  if (o.kind !== undefined && o.kind !== "Event")
    issues.push({ path: "kind", message: `Invalid value: ${JSON.stringify(o.kind)}` });
  return issues.length ? { ok: false, issues } : { ok: true, value: o as unknown as Event };
}

const EVENT_ORDER = [
  "level",
  "auditID",
  "stage",
  "requestURI",
  "verb",
  "user",
  "impersonatedUser",
  "authenticationMetadata",
  "sourceIPs",
  "userAgent",
  "objectRef",
  "responseStatus",
  "requestObject",
  "responseObject",
  "requestReceivedTimestamp",
  "stageTimestamp",
  "annotations",
];

function fallbackEncodeEvent(e: Event): string {
  const src = e as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = { kind: "Event", apiVersion: "audit.k8s.io/v1" };
  for (const k of EVENT_ORDER) {
    const v = src[k];
    if (v !== undefined) out[k] = v;
    else if (["level", "auditID", "stage", "requestURI", "verb"].includes(k)) out[k] = "";
    else if (k === "user") out[k] = {};
    else if (k === "requestReceivedTimestamp" || k === "stageTimestamp") out[k] = null;
  }
  return JSON.stringify(out);
}

const strings = { type: "array", items: { type: "string" } };
const userInfo = {
  type: "object",
  properties: {
    username: {},
    uid: {},
    groups: strings,
    extra: { type: "object", additionalProperties: strings },
  },
  additionalProperties: false,
};
const fallbackSchemas: Record<string, object> = {
  Event: {
    type: "object",
    properties: {
      kind: {},
      apiVersion: {},
      level: {},
      auditID: {},
      stage: {},
      requestURI: {},
      verb: {},
      user: userInfo,
      impersonatedUser: userInfo,
      authenticationMetadata: {
        type: "object",
        properties: { impersonationConstraint: {} },
        additionalProperties: false,
      },
      sourceIPs: strings,
      userAgent: {},
      objectRef: {
        type: "object",
        properties: {
          resource: {},
          namespace: {},
          name: {},
          uid: {},
          apiGroup: {},
          apiVersion: {},
          resourceVersion: {},
          subresource: {},
        },
        additionalProperties: false,
      },
      responseStatus: {},
      requestObject: {},
      responseObject: {},
      requestReceivedTimestamp: {},
      stageTimestamp: {},
      annotations: { type: "object", additionalProperties: { type: "string" } },
    },
    additionalProperties: false,
  },
};

// --- the functions the CLI uses ---

/** One kube-apiserver-exact JSON line (no newline) — @kaudit/api `encodeEvent`. */
export const encodeEvent: (e: Event) => string = pick("encodeEvent", fallbackEncodeEvent);
/** v1alpha1/v1beta1/no-apiVersion → v1 — @kaudit/api `upgradeEvent`. */
export const upgradeEvent: (obj: unknown) => Event = pick("upgradeEvent", fallbackUpgradeEvent);
/** Schema check of a v1 event — @kaudit/api `validateEvent`. */
export const validateEvent: (v: unknown) => Result = pick("validateEvent", fallbackValidateEvent);
/** MicroTime text → epoch ms (fractional) — @kaudit/api `parseMicroTime`. */
export const parseMicroTime: (s: string) => number = pick("parseMicroTime", fallbackParseMicroTime);
/** JSON Schemas by type name — @kaudit/api `schemas`. */
export const schemas: Record<string, object> = pick("schemas", fallbackSchemas);
