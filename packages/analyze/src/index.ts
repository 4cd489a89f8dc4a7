export type { AlertReport, AlertRow } from "./alert-stats";
export { AlertStats, MAX_ALERT_ROWS, ROWS_PER_RULE } from "./alert-stats";
export type {
  AnalysisReport,
  RequestRow,
  SlowRequest,
  StatsOptions,
  TopRow,
} from "./audit-stats";
export { AuditStats, MAX_ROWS, ROW_USERS, ROWS_PER_USER, TOP_WRITERS } from "./audit-stats";
export { Counter } from "./counter";
export { parseGoDuration } from "./go-duration";
export type { CodeClass } from "./labels";
export { CODE_CLASSES, codeClass, resourceLabel, userLabel } from "./labels";
export type { LatencySummary } from "./latency-digest";
export { EXACT_LIMIT, LatencyDigest, roundMs } from "./latency-digest";
export type { ReportInput } from "./report-html";
export { escapeHTML, renderReport } from "./report-html";
export { parseTimeBound } from "./time-bound";
export type { TimelineBucket } from "./timeline";
export { MAX_BUCKETS, Timeline } from "./timeline";
