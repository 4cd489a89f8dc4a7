import { EventEmitter } from "node:events";
import type { WatchAlert } from "../alert";
import type { AlertOutput, OutputStats } from "../output";

/** An output keeping every alert in memory, for tests. */
export class MemoryOutput extends EventEmitter implements AlertOutput {
  readonly alerts: WatchAlert[] = [];
  closed = false;
  constructor(readonly name = "memory") {
    super();
  }
  send(alert: WatchAlert): void {
    if (this.closed) {
      this.emit("drop", { output: this.name, reason: "shutdown", count: 1 });
      return;
    }
    this.alerts.push(alert);
    this.emit("sent", 1);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  stats(): OutputStats {
    return { sent: this.alerts.length, dropped: 0, queued: 0, failures: 0 };
  }
}
