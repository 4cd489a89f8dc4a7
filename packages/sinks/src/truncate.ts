import type { Event, Sink } from "@kaudit/api";
import { levelAtLeast } from "@kaudit/api";
import { encodeEvent } from "./encode";
import { ReportingBase, type ReportingOptions, SinkError } from "./report";

/** The annotation the reference sets on an event whose bodies were removed. */
export const ANNOTATION_TRUNCATED = "audit.k8s.io/truncated";

/** Options of {@link truncate}. */
export interface TruncateOptions extends ReportingOptions {
  /** Largest event in bytes (its JSON line with the newline). Default 102400 (100 KiB). */
  maxEventSize?: number;
  /** Largest batch in bytes handed to the delegate. Default 10485760 (10 MiB). */
  maxBatchSize?: number;
}

/** The truncating backend (k8s.io/apiserver plugin/pkg/audit/truncate). See {@link truncate}. */
export class TruncateSink extends ReportingBase {
  private readonly maxEventSize: number;
  private readonly maxBatchSize: number;

  constructor(
    private readonly delegate: Sink,
    options: TruncateOptions = {},
  ) {
    super(options);
    this.maxEventSize = options.maxEventSize ?? 102_400;
    this.maxBatchSize = options.maxBatchSize ?? 10_485_760;
    this.forward(delegate);
  }

  processEvents(events: readonly Event[]): boolean | Promise<boolean> {
    const results: (boolean | Promise<boolean>)[] = [];
    const dropped: Event[] = [];
    const errors: string[] = [];
    let batch: Event[] = [];
    let batchBytes = 0;
    for (const original of events) {
      let event = original;
      let size: number;
      try {
        size = byteSize(event);
        if (size > this.maxEventSize && levelAtLeast(event.level, "Request")) {
          event = truncated(event);
          size = byteSize(event);
        }
      } catch (err) {
        dropped.push(structuredClone(original));
        errors.push((err as Error).message);
        continue;
      }
      if (size > this.maxEventSize) {
        dropped.push(structuredClone(event));
        errors.push("event is too large even after truncating");
        continue;
      }
      if (batch.length > 0 && batchBytes + size > this.maxBatchSize) {
        results.push(this.delegate.processEvents(batch));
        batch = [];
        batchBytes = 0;
      }
      batch.push(event);
      batchBytes += size;
    }
    if (batch.length > 0) results.push(this.delegate.processEvents(batch));
    if (dropped.length > 0) {
      const unique = [...new Set(errors)];
      const message = unique.length === 1 ? unique[0]! : `[${unique.join(", ")}]`;
      this.report("drop", "truncate", new SinkError("truncate", message), dropped);
    }
    // Dropping does not make the call fail (the reference returns the delegate's AND only).
    if (results.every((r) => typeof r === "boolean")) return results.every((r) => r);
    return Promise.all(results).then((rs) => rs.every((r) => r));
  }

  shutdown(): Promise<void> {
    return this.delegate.shutdown();
  }

  override toString(): string {
    return `truncate<${this.delegate}>`;
  }
}

function byteSize(event: Event): number {
  return Buffer.byteLength(encodeEvent(event)) + 1;
}

// A copy without the bodies, annotated. Unlike the reference (which shares the annotations map
// with the caller's event), the caller's event is left untouched, as the Sink contract requires.
function truncated(event: Event): Event {
  const { requestObject: _req, responseObject: _res, ...rest } = event;
  return { ...rest, annotations: { ...(event.annotations ?? {}), [ANNOTATION_TRUNCATED]: "true" } };
}

/**
 * Wraps a sink so that no event exceeds `maxEventSize` and no call exceeds `maxBatchSize`
 * bytes: an oversize event at level Request or above loses its request and response bodies and
 * gets the `audit.k8s.io/truncated: "true"` annotation; one still too big (a Metadata event
 * included) is dropped and reported (`drop`, plugin `truncate`). Returns the delegate's result.
 *
 * @example
 * ```ts
 * const sink = truncate(buffered(webhook), { maxEventSize: 64 * 1024 });
 * ```
 */
export function truncate(sink: Sink, options?: TruncateOptions): TruncateSink {
  return new TruncateSink(sink, options);
}
