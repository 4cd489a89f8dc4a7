import type { Sink } from "@kaudit/api";
import type { LogBackendOptions } from "./backend";
import { createLogSink } from "./log-sink";

/** The log plugin createAuditBackend builds: {@link createLogSink} with the flag-named options. */
export function createLogPlugin(options: LogBackendOptions): Sink {
  const { fsync, ...rest } = options;
  return createLogSink({ ...rest, ...(fsync !== undefined ? { fsync } : {}) });
}
