import type { Sink } from "@kaudit/api";
import type { LogBackendOptions } from "./backend";

/** The log plugin for createAuditBackend: engineer A's createLogSink (wired when it lands). */
export function createLogPlugin(_options: LogBackendOptions): Sink {
  throw new Error("the log sink is not available yet");
}
