import type { Event, Sink } from "@kaudit/api";
import { ReportingBase } from "./report";

/** Several sinks as one (k8s.io/apiserver pkg/audit/union.go). See {@link union}. */
export class UnionSink extends ReportingBase {
  readonly sinks: readonly Sink[];
  constructor(sinks: readonly Sink[]) {
    super();
    this.sinks = sinks;
    for (const s of sinks) this.forward(s);
  }

  processEvents(events: readonly Event[]): boolean | Promise<boolean> {
    const results = this.sinks.map((s) => s.processEvents(events));
    if (results.every((r) => typeof r === "boolean")) return results.every((r) => r);
    return Promise.all(results).then((rs) => rs.every((r) => r));
  }

  async shutdown(): Promise<void> {
    for (const s of this.sinks) await s.shutdown();
  }

  override toString(): string {
    return `union[${this.sinks.map(String).join(",")}]`;
  }
}

/**
 * Sends every call to every sink, in order and without short-circuit, and returns the AND of
 * their results; shuts them down one after another. A single sink is returned as it is (as the
 * reference does), so `union(s) === s`.
 *
 * @example
 * ```ts
 * const sink = union(ignoreErrors(createLogSink({ path })), buffered(createWebhookSink({ kubeconfig })));
 * String(sink); // "union[ignoreErrors<log>,buffered<webhook>]"
 * ```
 */
export function union(...sinks: Sink[]): Sink {
  if (sinks.length === 1) return sinks[0]!;
  return new UnionSink(sinks);
}

/** A sink whose failures never reach the caller. See {@link ignoreErrors}. */
export class IgnoreErrorsSink extends ReportingBase {
  constructor(private readonly delegate: Sink) {
    super();
    this.forward(delegate);
  }

  processEvents(events: readonly Event[]): boolean | Promise<boolean> {
    let r: boolean | Promise<boolean>;
    try {
      r = this.delegate.processEvents(events);
    } catch (err) {
      this.thrown(err, events);
      return true;
    }
    if (typeof r === "boolean") return true;
    return r.then(
      () => true,
      (err) => {
        this.thrown(err, events);
        return true;
      },
    );
  }

  // A delegate breaking the contract (throwing or rejecting) is still a counted failure.
  private thrown(err: unknown, events: readonly Event[]): void {
    const error = err instanceof Error ? err : new Error(String(err));
    this.report(
      "error",
      String(this.delegate),
      error,
      events.map((e) => structuredClone(e)),
    );
  }

  shutdown(): Promise<void> {
    return this.delegate.shutdown();
  }

  override toString(): string {
    return `ignoreErrors<${this.delegate}>`;
  }
}

/**
 * The `blocking` mode wrapper: the delegate still runs synchronously (its promise is awaited, so
 * the request waits for the write), but the result is always true. The delegate's failures are
 * still reported through its `error` events and metrics.
 */
export function ignoreErrors(sink: Sink): IgnoreErrorsSink {
  return new IgnoreErrorsSink(sink);
}
