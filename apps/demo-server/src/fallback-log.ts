import { appendFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { type Event, encodeEvent, type Sink } from "@kaudit/api";
import type { LogBackendOptions } from "@kaudit/sinks";
import { DemoConfigError } from "./auth";

/**
 * TEMPORARY stand-in for @kaudit/sinks' log plugin while that package does not ship one
 * (`createLogPlugin` throws "not available yet"): one `encodeEvent` line per event, appended
 * synchronously. No rotation (the server warns) and no legacy format (refused); used only when the
 * real plugin is missing.
 */
export function fallbackLogPlugin(o: LogBackendOptions): Sink {
  if ((o.format ?? "json") !== "json")
    throw new DemoConfigError(
      `--audit-log-format=${o.format} needs the log plugin of @kaudit/sinks, which this build lacks; the demo's stand-in writes json only`,
    );
  if (o.path !== "-") mkdirSync(dirname(o.path), { recursive: true, mode: 0o700 });
  return {
    processEvents(events: readonly Event[]): boolean {
      const text = events.map((e) => `${encodeEvent(e)}\n`).join("");
      if (o.path === "-") process.stdout.write(text);
      else appendFileSync(o.path, text, { mode: 0o600 });
      return true;
    },
    shutdown: async () => {},
    toString: () => "log",
  };
}
