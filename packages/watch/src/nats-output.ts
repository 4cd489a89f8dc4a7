import type { Event } from "@kaudit/api";
import { createNatsSink, fleetRoutes, type NatsSink, type SinkReport } from "@kaudit/sinks";
import type { FollowItem, FollowPosition, LogFollower, ReceivedBatch } from "@kaudit/sources";
import type { NatsConnection, StreamInfo } from "nats";
import { FleetMetrics } from "./fleet-metrics";
import { followerMetrics, problemText } from "./follow-input";
import type { WatchMetrics } from "./metrics";
import { connectNats, isNotFound, type NatsAccess, retryTransient } from "./nats-connect";

/** The JetStream stream of a fleet, as the collector creates it when it is missing. */
export interface FleetStreamSettings {
  /** Stream name. Default `KAUDIT`. */
  stream?: string | undefined;
  /** Subject prefix: the stream stores `<prefix>.>`. Default `audit`. */
  prefix?: string | undefined;
  /** Copies kept by a JetStream cluster (1–5). Default 1. */
  replicas?: number | undefined;
  /** Largest size of the stream, bytes; the oldest messages go beyond it. Default: no limit. */
  maxBytes?: number | undefined;
  /** Oldest message kept, ms. Default 24 h. */
  maxAgeMs?: number | undefined;
  /** How long the stream remembers a `Nats-Msg-Id` to drop a re-send, ms. Default 2 min. */
  duplicateWindowMs?: number | undefined;
}

/** What {@link ensureFleetStream} found or made. */
export interface FleetStream {
  /** True when the stream was created now. */
  created: boolean;
  info: StreamInfo;
}

/** A stream that cannot hold the fleet's subjects, or settings that cannot be used. */
export class FleetStreamError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "FleetStreamError";
  }
}

const NS = 1_000_000;

/**
 * Creates the fleet's stream when it is missing (limits retention, file storage, the given
 * replicas, duplicate window, max bytes and age) and never changes an existing one: an existing
 * stream must already store `<prefix>.>`, else this fails saying what it stores.
 */
export async function ensureFleetStream(
  nc: NatsConnection,
  settings: FleetStreamSettings = {},
  say?: (message: string) => void,
): Promise<FleetStream> {
  const name = settings.stream ?? "KAUDIT";
  const prefix = settings.prefix ?? "audit";
  const subject = `${prefix}.>`;
  const replicas = settings.replicas ?? 1;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) {
    throw new FleetStreamError(`replicas must be 1 to 5, got ${replicas}`);
  }
  const jsm = await retryTransient("JetStream", () => nc.jetstreamManager(), say);
  try {
    const info = await retryTransient(`stream ${name}`, () => jsm.streams.info(name), say);
    const stores = info.config.subjects ?? [];
    if (!stores.includes(subject) && !stores.includes(">")) {
      throw new FleetStreamError(
        `stream ${name} exists and stores ${stores.join(", ") || "no subjects"}, not ${subject}: use another --nats-stream or --nats-subject (kaudit never changes an existing stream)`,
      );
    }
    return { created: false, info };
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  const nats = await import("nats");
  const config = {
    name,
    subjects: [subject],
    retention: nats.RetentionPolicy.Limits,
    storage: nats.StorageType.File,
    discard: nats.DiscardPolicy.Old,
    num_replicas: replicas,
    duplicate_window: (settings.duplicateWindowMs ?? 120_000) * NS,
    max_age: (settings.maxAgeMs ?? 24 * 3_600_000) * NS,
    max_bytes: settings.maxBytes ?? -1,
  };
  const info = await retryTransient(`stream ${name}`, () => jsm.streams.add(config), say);
  return { created: true, info };
}

/** Options of {@link startNatsCollector}. */
export interface NatsCollectorOptions extends NatsAccess, FleetStreamSettings {
  /** Partitions of each family (`<prefix>.<p>`, `<prefix>.ip.<p>`). Default 16. */
  partitions?: number | undefined;
  /** Publishes awaiting the stream's ack at once. Default 1024. */
  maxInFlight?: number | undefined;
  /** Where reads, publishes and drops are counted. */
  metrics?: WatchMetrics | undefined;
  /** Told about each publish that failed every retry (the collector tries it again). */
  onPublishError?: ((message: string) => void) | undefined;
  /** Told when the JetStream API fails for a while at start (a NATS node or leader changing). */
  onWarning?: ((message: string) => void) | undefined;
  /** Told about each line a follower could not read (counted as `unreadable_event`). */
  onProblem?: ((input: string, message: string) => void) | undefined;
}

/** What a collector has counted. */
export interface NatsCollectorStats {
  /** Events read from the inputs. */
  read: number;
  /** Events whose messages the stream acknowledged (stored or recognised as duplicates). */
  published: number;
  /** Unreadable lines of followed files, skipped and counted. */
  problems: number;
  /** Webhook batches answered 500 because the stream did not take them (the sender retries). */
  refused: number;
}

/** Events of one follower whose publishes are not all acked yet, at most. */
const FOLLOW_WINDOW = 4096;
/** Sleep before a failed publish is tried again by a follower's loop. */
const RETRY_MS = 1000;

/**
 * The stateless collector tier (`kaudit watch --to-nats`): events from followed logs or the
 * webhook receiver are published to JetStream on both partition families (`fleetRoutes`), and
 * the source is acknowledged only after the stream acknowledged them — a follower's position
 * moves past an event only then, a webhook request is answered 200 only then (500 when the
 * stream did not take its batch, so kube-apiserver sends it again; the stream's duplicate
 * window drops what had been stored). Nothing else: no rules, no alerts.
 */
export class NatsCollector {
  readonly stats: NatsCollectorStats = { read: 0, published: 0, problems: 0, refused: 0 };
  private readonly sink: NatsSink;
  private readonly fleet: FleetMetrics | undefined;
  private readonly loops: Promise<void>[] = [];
  private readonly stops: (() => Promise<void>)[] = [];
  private closing = false;

  /** @internal use {@link startNatsCollector} */
  constructor(
    private readonly options: NatsCollectorOptions,
    readonly stream: FleetStream,
  ) {
    const prefix = options.prefix ?? "audit";
    this.sink = createNatsSink({
      servers: options.servers,
      routes: fleetRoutes(prefix, options.partitions ?? 16),
      stream: stream.info.config.name,
      ...(options.tls ? { tls: options.tls } : {}),
      ...(options.creds ? { creds: options.creds } : {}),
      maxInFlight: options.maxInFlight ?? 1024,
      name: options.name ?? "kaudit-collector",
    });
    this.sink.on("error", (r: SinkReport) => {
      options.onPublishError?.(`${r.events.length} event(s): ${r.error.message}`);
    });
    const m = options.metrics;
    if (m) {
      this.fleet = new FleetMetrics(m);
      m.onCollect(() => this.fleet?.publishStats(this.sink.stats));
    }
  }

  /** Publishes `events`; resolves true when the stream acknowledged every message. */
  async publish(events: readonly Event[]): Promise<boolean> {
    const ok = await this.sink.processEvents(events);
    if (ok) this.stats.published += events.length;
    return ok;
  }

  /**
   * Reads `follower` (created with `ack: "manual"`) until {@link close}: publishes each event,
   * up to {@link FOLLOW_WINDOW} at once, and acknowledges positions in file order as their
   * publishes are acked; a publish that failed every retry is tried again (the file keeps the
   * event, so a long NATS outage holds the position, never loses the event).
   */
  follow(follower: LogFollower, name: string): void {
    let offset = 0;
    if (this.options.metrics) followerMetrics(follower, name, this.options.metrics, () => offset);
    // Positions in read order, each done when its event is stored (or it was a problem).
    const order: { position: FollowPosition; done: boolean }[] = [];
    let head = 0;
    let open = 0;
    const waiters: (() => void)[] = [];
    const changed = () => new Promise<void>((r) => waiters.push(r));
    const advance = () => {
      let last: FollowPosition | undefined;
      while (head < order.length && order[head]!.done) last = order[head++]!.position;
      if (head > 1024) {
        order.splice(0, head);
        head = 0;
      }
      if (last) follower.ack(last);
    };
    let stopping = false;
    const loop = (async () => {
      for await (const item of follower as AsyncIterable<FollowItem>) {
        // Read after stop: not published, not acknowledged — read again after a restart.
        if (stopping) continue;
        offset = item.position.offset;
        const entry = { position: item.position, done: false };
        order.push(entry);
        if ("problem" in item) {
          this.stats.problems++;
          this.options.metrics?.dropped("unreadable_event");
          this.options.onProblem?.(name, problemText(item.problem));
          entry.done = true;
          advance();
          continue;
        }
        this.stats.read++;
        this.options.metrics?.eventRead(name, item.event);
        open++;
        void this.publishUntilStored(item.event).then((stored) => {
          open--;
          entry.done = stored;
          advance();
          for (const w of waiters.splice(0)) w();
        });
        while (open >= FOLLOW_WINDOW) await changed();
      }
      while (open > 0) await changed();
    })();
    this.loops.push(loop);
    this.stops.push(async () => {
      stopping = true;
      // What was handed over is stored first; then closing the follower saves the position.
      while (open > 0) await changed();
      await follower.close();
      await loop;
    });
  }

  private async publishUntilStored(event: Event): Promise<boolean> {
    for (;;) {
      if (await this.publish([event])) return true;
      if (this.closing) return false;
      await new Promise((r) => setTimeout(r, RETRY_MS));
      if (this.closing) return false;
    }
  }

  /**
   * The webhook receiver's consumer (`createWebhookReceiver({ onEvents })`): the request is
   * answered 200 once the stream stored the batch, 500 when it did not (kube-apiserver retries).
   */
  receive(name = "webhook"): (batch: ReceivedBatch) => Promise<void> {
    return async (batch) => {
      this.stats.read += batch.events.length;
      for (const e of batch.events) this.options.metrics?.eventRead(name, e);
      if (!(await this.publish(batch.events))) {
        this.stats.refused++;
        this.options.metrics?.receiverRequest(500);
        throw new Error("JetStream did not acknowledge every event of the batch");
      }
    };
  }

  /** Registers how to stop an input that is not a follower (the receiver's `close`). */
  onClose(stop: () => Promise<void>): void {
    this.stops.push(stop);
  }

  /**
   * Stops the inputs (followers save their position after their last stored event), waits for
   * every accepted event's ack (each publish still within its own retries), then closes the
   * connection.
   */
  async close(): Promise<void> {
    if (this.closing) return;
    // From here a publish that fails is not tried again (its source is not acknowledged, so it
    // is read or sent again after a restart): a NATS outage cannot hold the shutdown forever.
    this.closing = true;
    await Promise.all(this.stops.map((s) => s()));
    await Promise.all(this.loops);
    await this.sink.shutdown();
    this.fleet?.publishStats(this.sink.stats);
  }

  /** Resolves when every follower's loop ended (closed, or its file could not be read). */
  done(): Promise<void> {
    return Promise.all(this.loops).then(() => undefined);
  }
}

/**
 * Connects, makes sure the stream exists ({@link ensureFleetStream}: created when missing, an
 * existing one never changed) and returns the collector, ready for {@link NatsCollector.follow}
 * and {@link NatsCollector.receive}.
 */
export async function startNatsCollector(options: NatsCollectorOptions): Promise<NatsCollector> {
  const partitions = options.partitions ?? 16;
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw new FleetStreamError(`partitions must be a whole number ≥ 1, got ${partitions}`);
  }
  const nc = await connectNats({ ...options, name: options.name ?? "kaudit-collector" });
  try {
    const stream = await ensureFleetStream(nc, options, options.onWarning);
    return new NatsCollector(options, stream);
  } finally {
    await nc.close();
  }
}
