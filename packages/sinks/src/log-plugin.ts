import type { Sink } from "@kaudit/api";
import type { LogBackendOptions } from "./backend";
import { createLogSink } from "./log-sink";

/** The log plugin createAuditBackend builds: {@link createLogSink} with the flag-named options. */
export function createLogPlugin(options: LogBackendOptions): Sink {
  const { fsync, ...rest } = options;
  // blocking-strict fails a request when RequestReceived is not written: the answer must be the
  // write's, so no coalescing there.
  return createLogSink({
    ...rest,
    ...(fsync !== undefined ? { fsync } : {}),
    coalesce: options.mode !== "blocking-strict",
  });
}
