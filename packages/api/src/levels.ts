import type { Level, Stage } from "./types";

/** The API group of the audit types. */
export const GROUP = "audit.k8s.io";
/** The only version kube-apiserver serves and accepts today. */
export const API_VERSION = "audit.k8s.io/v1";
/** The request and response header carrying the audit ID (Go writes it as `Audit-Id`). */
export const HEADER_AUDIT_ID = "Audit-ID";

/** Every level, from least to most recorded. */
export const LEVELS: readonly Level[] = Object.freeze([
  "None",
  "Metadata",
  "Request",
  "RequestResponse",
]);

/** Every stage, in the order a request passes them. */
export const STAGES: readonly Stage[] = Object.freeze([
  "RequestReceived",
  "ResponseStarted",
  "ResponseComplete",
  "Panic",
]);

const ORD: Record<string, number> = { Metadata: 1, Request: 2, RequestResponse: 3 };

/**
 * The rank kube-apiserver gives a level (pkg/apis/audit/helpers.go ordLevel): None, the empty
 * string and every unknown string rank 0, like None.
 */
export function levelOrdinal(level: string): number {
  return ORD[level] ?? 0;
}

/** True when `a` records less than `b` (an unknown level orders like None). */
export function levelLess(a: string, b: string): boolean {
  return levelOrdinal(a) < levelOrdinal(b);
}

/** True when `a` records at least as much as `b` (an unknown level orders like None). */
export function levelAtLeast(a: string, b: string): boolean {
  return levelOrdinal(a) >= levelOrdinal(b);
}

/** True for one of the four level names (case-sensitive). */
export function isLevel(value: unknown): value is Level {
  return typeof value === "string" && (LEVELS as readonly string[]).includes(value);
}

/** True for one of the four stage names (case-sensitive). */
export function isStage(value: unknown): value is Stage {
  return typeof value === "string" && (STAGES as readonly string[]).includes(value);
}
