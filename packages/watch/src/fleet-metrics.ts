import { Counter, Gauge } from "prom-client";
import type { WatchMetrics } from "./metrics";

/**
 * The metrics of the fleet tiers, on the watch's registry (so `/metrics` shows them beside the
 * others):
 *
 * | metric | type | labels |
 * |---|---|---|
 * | `kaudit_nats_published_total` | counter | result (`stored`, `duplicate`, `failed`) — collector: messages the stream acked, acked as a duplicate of a stored one, or not acked after every retry (then retried by the collector, never lost) |
 * | `kaudit_nats_publish_retries_total` | counter | — collector |
 * | `kaudit_nats_checkpoints_total` | counter | result (`ok`, `error`) — detector: checkpoints stored per partition |
 * | `kaudit_nats_redelivered_skipped_total` | counter | — detector: messages delivered again that the checkpoint already covered |
 * | `kaudit_fleet_partitions_assigned` | gauge | family (`user`, `ip`) — detector |
 * | `kaudit_fleet_inexact_threshold_rules` | gauge | — detector: threshold rules keyed by neither the user nor the source IP while this detector does not own every partition (their counts are per detector) |
 * | `kaudit_nats_resyncs_total` | counter | — detector: times a partition re-read from its last applied event because deliveries were lost in transit (a NATS node went away) |
 * | `kaudit_fleet_misrouted_events_total` | counter | — detector: events in a partition their key does not hash to (collectors with another `--nats-partitions`) |
 */
export class FleetMetrics {
  private readonly published: Counter<"result">;
  private readonly retries: Counter;
  private readonly checkpoints: Counter<"result">;
  private readonly skipped: Counter;
  private readonly assigned: Gauge<"family">;
  private readonly inexact: Gauge;
  private readonly wrongPartition: Counter;
  private readonly resyncs: Counter;

  constructor(readonly watch: WatchMetrics) {
    const registers = [watch.registry];
    this.published = new Counter({
      name: "kaudit_nats_published_total",
      help: "Messages published to JetStream by the collector, by result (stored, duplicate, failed).",
      labelNames: ["result"],
      registers,
    });
    this.retries = new Counter({
      name: "kaudit_nats_publish_retries_total",
      help: "Publishes re-sent after a timeout or a lost connection.",
      registers,
    });
    this.checkpoints = new Counter({
      name: "kaudit_nats_checkpoints_total",
      help: "Partition checkpoints (threshold windows + stream sequence) stored by the detector, by result.",
      labelNames: ["result"],
      registers,
    });
    this.skipped = new Counter({
      name: "kaudit_nats_redelivered_skipped_total",
      help: "Messages delivered again that a partition's checkpoint already covered (not evaluated twice).",
      registers,
    });
    this.assigned = new Gauge({
      name: "kaudit_fleet_partitions_assigned",
      help: "Partitions this detector reads, by family (user, ip).",
      labelNames: ["family"],
      registers,
    });
    this.inexact = new Gauge({
      name: "kaudit_fleet_inexact_threshold_rules",
      help: "Threshold rules keyed by neither kaudit.user.name nor the source IP while this detector reads only some partitions: their counts are per detector.",
      registers,
    });
    this.resyncs = new Counter({
      name: "kaudit_nats_resyncs_total",
      help: "Times a partition re-read from its last applied event because deliveries were lost in transit.",
      registers,
    });
    this.wrongPartition = new Counter({
      name: "kaudit_fleet_misrouted_events_total",
      help: "Events found in a partition their key does not hash to: collectors and detectors disagree on --nats-partitions.",
      registers,
    });
  }

  resync(): void {
    this.resyncs.inc();
  }

  misrouted(count = 1): void {
    this.wrongPartition.inc(count);
  }

  /** Adds what a NATS sink counted since the last call (`stats` are its running totals). */
  publishStats(stats: {
    acked: number;
    duplicates: number;
    failed: number;
    retries: number;
  }): void {
    const last = this.lastStats;
    this.published.inc({ result: "stored" }, stats.acked - last.acked);
    this.published.inc({ result: "duplicate" }, stats.duplicates - last.duplicates);
    this.published.inc({ result: "failed" }, stats.failed - last.failed);
    this.retries.inc(stats.retries - last.retries);
    this.lastStats = { ...stats };
  }
  private lastStats = { acked: 0, duplicates: 0, failed: 0, retries: 0 };

  checkpoint(result: "ok" | "error"): void {
    this.checkpoints.inc({ result });
  }

  redeliveredSkipped(count = 1): void {
    this.skipped.inc(count);
  }

  partitionsAssigned(family: "user" | "ip", count: number): void {
    this.assigned.set({ family }, count);
  }

  inexactThresholdRules(count: number): void {
    this.inexact.set(count);
  }
}
