import type { EventEmitter } from "node:events";
import type { WatchAlert } from "./alert";

/**
 * Why alerts were dropped: the output's queue was full (`queue-full`), the receiver refused them
 * for good (`rejected`, a 4xx other than 408/429), every retry failed (`failed`), the watch was
 * stopping and could not wait longer (`shutdown`), or writing them failed (`write-error`).
 */
export type DropReason = "queue-full" | "rejected" | "failed" | "shutdown" | "write-error";

/** What an output emits as `drop`: nothing is lost silently. */
export interface OutputDrop {
  /** The output's name (`alertmanager http://…`). */
  output: string;
  reason: DropReason;
  /** Alerts dropped. */
  count: number;
  /** The last error behind it, when there was one. */
  error?: Error | undefined;
}

/** What an output emits as `failure`: one delivery attempt failed and will be retried (or not). */
export interface OutputFailure {
  output: string;
  error: Error;
  /** Whether the alerts will be tried again. */
  retrying: boolean;
}

/** Counts of an output's life so far. */
export interface OutputStats {
  /** Alerts delivered (acknowledged by the receiver, or written). */
  sent: number;
  /** Alerts dropped, whatever the reason. */
  dropped: number;
  /** Alerts waiting. */
  queued: number;
  /** Failed attempts (each retry counts). */
  failures: number;
}

/**
 * Where alerts go. `send` never blocks and never throws: an output that cannot keep up queues
 * (bounded) and then drops, emitting `drop` ({@link OutputDrop}); a failed attempt emits
 * `failure` ({@link OutputFailure}); a delivery emits `sent` (the number of alerts). So one slow
 * or dead output never holds up the others or the inputs.
 */
export interface AlertOutput extends EventEmitter {
  /** A name for logs and the `output` metric label. */
  readonly name: string;
  /** Queues one alert. */
  send(alert: WatchAlert): void;
  /**
   * Delivers what is queued (waiting at most `timeoutMs`, default 10 s, then dropping the rest
   * as `shutdown`) and stops; later `send`s drop as `shutdown`.
   */
  close(timeoutMs?: number): Promise<void>;
  stats(): OutputStats;
}
