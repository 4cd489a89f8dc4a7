import { EventEmitter } from "node:events";
import { KauditError } from "@kaudit/api";

/** What a source has counted so far. Every event a source does not hand over is in one counter. */
export interface SourceStats {
  /** Events handed to the consumer. */
  read: number;
  /** Input that was not an event and so was not handed over (blank or unreadable lines, refused requests). */
  skipped: number;
  /** Events (or, where the count cannot be known, occurrences) lost: too big, too deep, gone before read. */
  dropped: number;
  /** Events recognised as repeats of ones already handed over, and not handed again. */
  duplicated: number;
}

/** What a `skip`, `drop` or `duplicate` event carries. */
export interface SourceReport {
  /** Why, in a few words: `too large`, `too deep`, `not JSON`, `truncated`, … */
  reason: string;
  /** How many events (or lines) the report is about. */
  count: number;
  /** Where: `file:offset` for a follower, the client address for a receiver. */
  where: string;
  /** A longer explanation, never quoting the input. */
  message: string;
}

/** The error type of source failures (bad options, unreadable files). */
export class SourceError extends KauditError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { name: "SourceError", cause: options?.cause });
  }
}

/**
 * The base of live sources: an EventEmitter with counters, like @kaudit/sinks' sinks. Each
 * counter increment is also emitted (`skip`, `drop`, `duplicate`) with a {@link SourceReport}, so
 * nothing is lost silently.
 */
export class SourceEmitter extends EventEmitter {
  /** Counters since the source started. */
  readonly stats: SourceStats = { read: 0, skipped: 0, dropped: 0, duplicated: 0 };

  /** Counts and emits one report. */
  protected count(kind: "skip" | "drop" | "duplicate", report: SourceReport): void {
    const key = kind === "skip" ? "skipped" : kind === "drop" ? "dropped" : "duplicated";
    this.stats[key] += report.count;
    if (this.listenerCount(kind) > 0) this.emit(kind, report);
  }
}
