import { appendFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { Event, Sink } from "@kaudit/api";
import type { LogBackendOptions } from "@kaudit/sinks";

/**
 * TEMPORARY stand-in for @kaudit/sinks' log plugin while that package is being written: one
 * JSON line per event, appended synchronously. No rotation, no legacy format.
 */
export function fallbackLogPlugin(o: LogBackendOptions): Sink {
  if (o.path !== "-") mkdirSync(dirname(o.path), { recursive: true });
  return {
    processEvents(events: readonly Event[]): boolean {
      const text = events
        .map((e) => `${JSON.stringify({ kind: "Event", apiVersion: "audit.k8s.io/v1", ...e })}\n`)
        .join("");
      if (o.path === "-") process.stdout.write(text);
      else appendFileSync(o.path, text);
      return true;
    },
    shutdown: async () => {},
    toString: () => "log",
  };
}
