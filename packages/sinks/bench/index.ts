/**
 * All @kaudit/sinks benchmarks, one after another in this process: the webhook bench and, when
 * present, the log sink bench (bench/log-sink.ts).
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { run as runWebhook } from "./webhook";

const logBench = fileURLToPath(new URL("./log-sink.ts", import.meta.url));
if (existsSync(logBench)) {
  const mod = (await import("./log-sink.ts" as string)) as {
    run?: () => unknown;
    default?: () => unknown;
  };
  const fn = mod.run ?? mod.default;
  if (typeof fn === "function") await fn();
}
await runWebhook();
