import type { SourceReport, WebhookReceiver } from "@kaudit/sources";
import type { WatchMetrics } from "./metrics";
import type { InputItem, WatchInput } from "./watcher";

/** A `reason` of the receiver as a metric label word: `too large` → `receiver_too_large`. */
function reasonLabel(reason: string): string {
  return `receiver_${reason.toLowerCase().replace(/[^a-z0-9]+/g, "_")}`;
}

/**
 * Counts a receiver's answers by code (`kaudit_receiver_requests_total`) and the events it
 * dropped (too large, too deep) by reason (`kaudit_dropped_total{reason="receiver_…"}`).
 */
export function receiverMetrics(receiver: WebhookReceiver, m: WatchMetrics): void {
  // 4xx answers other than 429 are reported one by one, with the code as the reason.
  receiver.on("skip", (r: SourceReport) => {
    if (/^\d{3}$/.test(r.reason)) m.receiverRequest(Number(r.reason));
  });
  receiver.on("drop", (r: SourceReport) => m.dropped(reasonLabel(r.reason), r.count));
  // 200s and 429s are only counted in the receiver's stats: bring them over at scrape time.
  const seen = { accepted: 0, throttled: 0 };
  m.onCollect(() => {
    const s = receiver.stats;
    if (s.accepted > seen.accepted) m.receiverRequest(200, s.accepted - seen.accepted);
    if (s.throttled > seen.throttled) m.receiverRequest(429, s.throttled - seen.throttled);
    seen.accepted = s.accepted;
    seen.throttled = s.throttled;
  });
}

/**
 * The webhook receiver of `@kaudit/sources` as a watcher input. Each request's batch is one item;
 * the receiver answers the request 200 only when the watcher asks for the next batch, i.e. after
 * the batch's events were evaluated and their alerts queued on every output. With `metrics`, the
 * receiver's answers are counted by code (`kaudit_receiver_requests_total`) and the events it
 * dropped (too large, too deep) by reason (`kaudit_dropped_total{reason="receiver_…"}`).
 */
export function receiverInput(
  receiver: WebhookReceiver,
  options: { name?: string; metrics?: WatchMetrics | undefined } = {},
): WatchInput {
  if (options.metrics) receiverMetrics(receiver, options.metrics);
  async function* items(): AsyncGenerator<InputItem> {
    for await (const batch of receiver) yield { events: batch.events };
  }
  return {
    name: options.name ?? "webhook",
    items: items(),
    stop: () => receiver.close(),
  };
}
