import { createHash } from "node:crypto";
import { gunzipSync, gzipSync } from "node:zlib";
import type { Event } from "@kaudit/api";
import {
  DEFAULT_RULES_FILE,
  loadRules,
  type RuleSet,
  type RulesSource,
  type ThresholdSnapshot,
  ThresholdState,
} from "@kaudit/rules";
import { fleetSourceIPKey, fleetUserKey, partitionOf } from "@kaudit/sinks";
import { natsEventOf } from "@kaudit/sources";
import type { ConsumerMessages, JsMsg, KV, NatsConnection, StreamInfo } from "nats";
import type { WatchAlert } from "./alert";
import { FleetMetrics } from "./fleet-metrics";
import { type Family, type FleetRulePlan, familyOverride, planFleetRules } from "./fleet-rules";
import type { WatchMetrics } from "./metrics";
import { connectNats, isNotFound, type NatsAccess, retryTransient } from "./nats-connect";
import type { AlertOutput } from "./output";
import type { AlertEvaluator, InputItem, WatchInput } from "./watcher";

/** How long one pull request waits at the server (see pump). */
const PULL_EXPIRES = 5_000;

/** Options of {@link startNatsDetector}. Durations are milliseconds. */
export interface NatsDetectorOptions extends NatsAccess {
  /** The stream the collectors publish to. Default `KAUDIT`. */
  stream?: string | undefined;
  /** Subject prefix. Default `audit`. */
  prefix?: string | undefined;
  /** Partitions of each family; the same on every collector and detector. Default 16. */
  partitions?: number | undefined;
  /** The partitions this detector reads (of both families), e.g. `[0, 1, 2, 3]`. */
  assign: readonly number[];
  /**
   * The fleet's consumer name, the same on every detector: partition p of the user family is
   * read through the durable `<consumer>_u<p>`, of the ip family `<consumer>_ip<p>`, and its
   * checkpoint is the key `<consumer>.u.<p>` / `<consumer>.ip.<p>` of the checkpoint bucket — so a
   * partition moved to another detector continues where the last one checkpointed.
   */
  consumer: string;
  /** Rules files (none: kaudit's default set) and the time zone of the time fields. */
  rules: { files: readonly string[]; timeZone?: string | undefined };
  /** Where a partition without a checkpoint starts: the stream's first message (default) or new messages. */
  from?: "start" | "end" | undefined;
  /** The JetStream key-value bucket of the checkpoints. Default `<stream>_checkpoints`. */
  checkpointBucket?: string | undefined;
  /** Replicas of the checkpoint bucket when it is created. Default 1. */
  replicas?: number | undefined;
  /** A partition with new events is checkpointed at most this long after the first. Default 1000. */
  checkpointInterval?: number | undefined;
  /** …or as soon as this many events are not covered by a checkpoint. Default 2000. */
  checkpointEvery?: number | undefined;
  /** How long the server waits for an ack before it delivers again. Default 60000. */
  ackWait?: number | undefined;
  /** Messages fetched ahead per partition. Default 256. */
  batch?: number | undefined;
  /** Largest event, as bytes of its message; larger ones are skipped and counted. Default 1 MiB. */
  maxEventBytes?: number | undefined;
  /**
   * The outputs the watcher sends alerts to: a checkpoint waits (up to `settleTimeout`) until they
   * delivered or dropped the alerts of the events it covers, so a crash after the checkpoint
   * cannot lose an alert they had been handed.
   */
  outputs?: readonly AlertOutput[] | undefined;
  /** Longest wait for the outputs before a checkpoint. Default 5000. */
  settleTimeout?: number | undefined;
  metrics?: WatchMetrics | undefined;
  /** Told about what the detector found at start or while running that an operator should know. */
  onWarning?: ((message: string) => void) | undefined;
}

/** What a partition's checkpoint holds (gzip'd JSON in the bucket). */
interface Checkpoint {
  version: 1;
  stream: string;
  subject: string;
  /** The last stream sequence applied to `state`. */
  seq: number;
  state: ThresholdSnapshot;
  /** When it was stored (ms), for people reading the bucket. */
  savedAt: number;
}

/** A detector's counters. */
export interface NatsDetectorStats {
  /** Checkpoints stored. */
  checkpoints: number;
  /** Checkpoints that failed (retried at the next interval; the events stay unacknowledged). */
  checkpointErrors: number;
  /** Messages delivered again that a checkpoint (or this process) had already applied. */
  skipped: number;
  /** Messages that are not audit events, skipped and counted. */
  problems: number;
  /**
   * Events found in a partition their key does not hash to: a collector publishes with another
   * `--nats-partitions`. Evaluated anyway, but thresholds are not exact: reported at once.
   */
  misrouted: number;
  /** Times a partition re-read from its last applied event (deliveries lost in transit). */
  resyncs: number;
}

const NAME_OK = /^[A-Za-z0-9_-]+$/;

class Partition {
  rules!: RuleSet;
  evaluator!: AlertEvaluator;
  /** Last stream sequence applied to the rules' state. */
  applied = 0;
  /** Last stream sequence handed to the watcher (applied once it acks). */
  queued = 0;
  /** Last stream sequence covered by a stored checkpoint (and acknowledged). */
  saved = 0;
  /** The message of `applied`: acking it acks everything before it (AckPolicy.All). */
  last: JsMsg | undefined;
  unsaved = 0;
  /** Latest event time applied, ms: what the snapshot prunes passed windows against. */
  latestMs = Number.NEGATIVE_INFINITY;
  saving: Promise<void> | undefined;
  messages: ConsumerMessages | undefined;
  warnedMisrouted = false;
  /** Checkpoint attempts failed in a row. */
  failing = 0;
  constructor(
    readonly family: Family,
    readonly p: number,
    readonly subject: string,
    readonly durable: string,
    readonly key: string,
  ) {}
}

/** `0-3,7` → [0, 1, 2, 3, 7]; throws a readable error for anything else. */
export function parseAssignment(text: string, partitions: number): number[] {
  const out = new Set<number>();
  if (text.trim() === "all") {
    for (let p = 0; p < partitions; p++) out.add(p);
    return [...out];
  }
  for (const part of text.split(",")) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new RangeError(`${JSON.stringify(part)} is not a partition or a range like 0-7`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new RangeError(`${part.trim()}: the range ends before it starts`);
    if (b >= partitions) {
      throw new RangeError(`${part.trim()}: partitions are 0 to ${partitions - 1}`);
    }
    for (let p = a; p <= b; p++) out.add(p);
  }
  return [...out].sort((x, y) => x - y);
}

/** The stable identity of an alert: rule + key + window start, or rule + auditID + stage. */
export function alertId(alert: WatchAlert, event: Event): string {
  const parts = alert.kaudit
    ? [alert.rule, JSON.stringify(alert.kaudit.key), alert.kaudit.first]
    : [alert.rule, event.auditID, event.stage];
  return createHash("sha256").update(parts.join("\u0000")).digest("hex").slice(0, 32);
}

/**
 * The detector tier (`kaudit watch --from-nats`): for each assigned partition of both families
 * a durable pull consumer, a rule set with its own threshold windows, and a checkpoint (the
 * windows and the last stream sequence applied, in a JetStream key-value bucket). Its two
 * {@link inputs} feed a {@link Watcher}; messages are acknowledged (AckPolicy.All) only after a
 * checkpoint covering them was stored, and a partition (re)starts exactly after its checkpoint —
 * its consumer is recreated there — so a kill -9 neither loses nor double-counts an event in a
 * threshold window. Alerts raised again for events applied after the last checkpoint carry the
 * same {@link WatchAlert.id}.
 */
export class NatsDetector {
  readonly stats: NatsDetectorStats = {
    checkpoints: 0,
    checkpointErrors: 0,
    skipped: 0,
    problems: 0,
    misrouted: 0,
    resyncs: 0,
  };
  /** The inputs to give the watcher: `nats:<prefix>` (user family) and `nats:<prefix>.ip`. */
  readonly inputs: WatchInput[];
  /** Which family evaluates which rule. */
  plan: FleetRulePlan;
  private readonly parts: Partition[] = [];
  private readonly fleet: FleetMetrics | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private alertsHanded = 0;
  private readonly queues = new Map<Family, { items: InputItem[]; wake: (() => void)[] }>();
  private readonly pumps: Promise<void>[] = [];

  /** @internal use {@link startNatsDetector} */
  constructor(
    private readonly o: NatsDetectorOptions & {
      stream: string;
      prefix: string;
      partitions: number;
    },
    private readonly nc: NatsConnection,
    private readonly kv: KV,
    plan: FleetRulePlan,
  ) {
    this.plan = plan;
    this.fleet = o.metrics ? new FleetMetrics(o.metrics) : undefined;
    this.inputs = (["user", "ip"] as const).map((f) => this.input(f));
  }

  /** Loads the rules, the checkpoints and (re)creates the consumers; then starts reading. */
  async start(): Promise<void> {
    const o = this.o;
    const say = o.onWarning;
    const jsm = await retryTransient("JetStream", () => this.nc.jetstreamManager(), say);
    const first = (await this.waitForStream()).state.first_seq;
    for (const family of ["user", "ip"] as const) {
      for (const p of o.assign) {
        const tag = family === "user" ? "u" : "ip";
        const subject = family === "user" ? `${o.prefix}.${p}` : `${o.prefix}.ip.${p}`;
        const part = new Partition(
          family,
          p,
          subject,
          `${o.consumer}_${tag}${p}`,
          `${o.consumer}.${tag}.${p}`,
        );
        const cp = await this.readCheckpoint(part);
        this.loadRules(part, cp?.state);
        let start: number | undefined;
        if (cp) start = cp.seq + 1;
        else {
          // No checkpoint (first start, or the bucket was lost): an existing consumer's ack floor
          // is where the last owner got to; its threshold windows are gone.
          try {
            const info = await retryTransient(
              `consumer ${part.durable}`,
              () => jsm.consumers.info(o.stream, part.durable),
              say,
            );
            if (info.ack_floor.stream_seq > 0) {
              start = info.ack_floor.stream_seq + 1;
              o.onWarning?.(
                `${subject}: no checkpoint in ${this.bucketName()}; continuing after the consumer's ack floor (${info.ack_floor.stream_seq}) with empty threshold windows`,
              );
            }
          } catch (e) {
            if (!isNotFound(e)) throw e;
          }
        }
        if (start !== undefined && start < first) {
          o.onWarning?.(
            `${subject}: the stream no longer holds sequences ${start} to ${first - 1} (its max bytes or max age dropped them before this partition read them); events of this partition among them were not evaluated`,
          );
          o.metrics?.dropped("nats_discarded_before_read");
        }
        part.applied = part.saved = part.queued = start === undefined ? 0 : start - 1;
        await this.createConsumer(part, start);
        this.parts.push(part);
      }
    }
    this.fleet?.partitionsAssigned("user", o.assign.length);
    this.fleet?.partitionsAssigned("ip", o.assign.length);
    const partial = o.assign.length < o.partitions;
    this.fleet?.inexactThresholdRules(partial ? this.plan.inexact.length : 0);
    if (partial && this.plan.inexact.length > 0) {
      o.onWarning?.(
        `${this.plan.inexact.length} threshold rule(s) keyed by neither kaudit.user.name nor the source IP (${this.plan.inexact
          .map((r) => `${r.rule}: by [${r.by.join(", ")}]`)
          .join(
            "; ",
          )}) count per detector: with ${o.assign.length} of ${o.partitions} partitions, a key whose events fall in other detectors' partitions is counted apart there`,
      );
    }
    for (const part of this.parts) this.pumps.push(this.pump(part));
    const every = o.checkpointInterval ?? 1000;
    this.timer = setInterval(() => {
      for (const part of this.parts) void this.checkpoint(part);
    }, every);
    this.timer.unref();
  }

  /**
   * (Re)creates the partition's durable consumer delivering from `start` (undefined: from the
   * stream's start, or new messages with `from: "end"`). The checkpoint is the position: messages
   * a dead owner had fetched would otherwise come back only after ackWait, behind newer ones.
   */
  private async createConsumer(part: Partition, start: number | undefined): Promise<void> {
    const o = this.o;
    const say = o.onWarning;
    const jsm = await retryTransient("JetStream", () => this.nc.jetstreamManager(), say);
    const nats = await import("nats");
    try {
      await retryTransient(
        `consumer ${part.durable}`,
        () => jsm.consumers.delete(o.stream, part.durable),
        say,
      );
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    const config = {
      durable_name: part.durable,
      filter_subject: part.subject,
      ack_policy: nats.AckPolicy.All,
      ack_wait: nats.nanos(o.ackWait ?? 60_000),
      max_ack_pending: Math.max(4 * (o.checkpointEvery ?? 2000), 1000),
      ...(start !== undefined
        ? { deliver_policy: nats.DeliverPolicy.StartSequence, opt_start_seq: start }
        : { deliver_policy: o.from === "end" ? nats.DeliverPolicy.New : nats.DeliverPolicy.All }),
    };
    await retryTransient(
      `consumer ${part.durable}`,
      () => jsm.consumers.add(o.stream, config),
      say,
    );
  }

  /** The stream's info, waiting for a collector to create it (said once on stderr). */
  private async waitForStream(): Promise<StreamInfo> {
    const say = this.o.onWarning;
    const jsm = await retryTransient("JetStream", () => this.nc.jetstreamManager(), say);
    for (let said = false; ; said = true) {
      try {
        return await retryTransient(
          `stream ${this.o.stream}`,
          () => jsm.streams.info(this.o.stream),
          say,
        );
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      if (!said) {
        this.o.onWarning?.(
          `stream ${this.o.stream} does not exist yet: waiting for a --to-nats collector to create it`,
        );
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  private bucketName(): string {
    return this.o.checkpointBucket ?? `${this.o.stream}_checkpoints`;
  }

  private async readCheckpoint(part: Partition): Promise<Checkpoint | undefined> {
    const entry = await retryTransient(
      `checkpoint ${part.key}`,
      () => this.kv.get(part.key),
      this.o.onWarning,
    );
    if (entry?.operation !== "PUT" || entry.value.length === 0) return undefined;
    let cp: Checkpoint;
    try {
      cp = JSON.parse(gunzipSync(entry.value).toString("utf8"));
    } catch (e) {
      throw new Error(
        `checkpoint ${this.bucketName()}/${part.key} cannot be read (${(e as Error).message}): delete the key to start the partition without it`,
      );
    }
    if (cp.version !== 1 || cp.stream !== this.o.stream || cp.subject !== part.subject) {
      throw new Error(
        `checkpoint ${this.bucketName()}/${part.key} is of ${cp.stream} ${cp.subject} (version ${cp.version}), not of ${this.o.stream} ${part.subject}: another fleet uses the consumer name ${this.o.consumer}`,
      );
    }
    return cp;
  }

  private loadRules(
    part: Partition,
    state: ThresholdSnapshot | undefined,
    previous?: RuleSet,
  ): void {
    const files: (string | RulesSource)[] = this.o.rules.files.length
      ? [...this.o.rules.files]
      : [DEFAULT_RULES_FILE];
    files.push(familyOverride(this.plan, part.family));
    const rules = loadRules(files, {
      ...(this.o.rules.timeZone ? { timeZone: this.o.rules.timeZone } : {}),
      state: previous ? previous.state : new ThresholdState(state ? { restore: state } : {}),
    });
    part.rules = rules;
    part.evaluator = {
      evaluate: (event: Event) => {
        const alerts = rules.evaluate(event) as WatchAlert[];
        for (const a of alerts) a.id = alertId(a, event);
        this.alertsHanded += alerts.length;
        return alerts;
      },
    };
  }

  /**
   * Loads the rules files again for every partition, keeping each partition's windows (as
   * `kaudit watch` does on SIGHUP). Throws, keeping the rules in use, when a file is broken.
   */
  reload(files: readonly string[]): void {
    const probe = loadRules(files.length ? [...files] : [], {
      ...(this.o.rules.timeZone ? { timeZone: this.o.rules.timeZone } : {}),
    });
    this.o.rules = { ...this.o.rules, files };
    this.plan = planFleetRules(probe.rules);
    for (const part of this.parts) this.loadRules(part, undefined, part.rules);
  }

  private input(family: Family): WatchInput {
    const q = { items: [] as InputItem[], wake: [] as (() => void)[] };
    this.queues.set(family, q);
    const name = family === "user" ? `nats:${this.o.prefix}` : `nats:${this.o.prefix}.ip`;
    const self = this;
    async function* items(): AsyncGenerator<InputItem> {
      for (;;) {
        const item = q.items.shift();
        if (item) {
          for (const w of q.wake.splice(0)) w();
          yield item;
          continue;
        }
        if (self.stopped) return;
        await new Promise<void>((r) => q.wake.push(r));
      }
    }
    return { name, items: items(), stop: () => this.stopReading(), copies: family === "ip" };
  }

  /**
   * Reads the partition's consumer into its family's queue. Deliveries are numbered by the
   * consumer: a number skipped means messages were delivered but never arrived (the connection
   * to a NATS node broke mid-batch). With AckPolicy.All acking a later one would ack them too,
   * so the partition re-reads from the last event it applied instead, on a new consumer — the
   * same when reading fails or ends unasked.
   */
  private async pump(part: Partition): Promise<void> {
    const q = this.queues.get(part.family)!;
    const limit = this.o.batch ?? 256;
    const js = this.nc.jetstream();
    while (!this.stopped) {
      let why: string | undefined;
      try {
        const c = await js.consumers.get(this.o.stream, part.durable);
        // Pulls expire after 5 s (nats.js: 30 s), so a pull left with a consumer leader that died
        // is noticed — missed heartbeats — and renewed in seconds rather than half a minute.
        part.messages = await c.consume({ max_messages: limit, expires: PULL_EXPIRES });
        let next: number | undefined;
        for await (const m of part.messages) {
          if (this.stopped) break;
          const d = m.info.deliverySequence;
          if (next !== undefined && d !== next) {
            why =
              d > next
                ? `deliveries ${next} to ${d - 1} of ${part.durable} never arrived`
                : `${part.durable} numbered its deliveries from ${d} again (its server restarted)`;
            break;
          }
          next = d + 1;
          const item = this.take(part, m);
          if (item) {
            q.items.push(item);
            for (const w of q.wake.splice(0)) w();
          }
          while (q.items.length >= limit && !this.stopped) {
            await new Promise<void>((r) => q.wake.push(r));
          }
        }
        why ??= "the consumer stopped delivering";
      } catch (e) {
        why = (e as Error).message;
      }
      part.messages?.stop();
      if (this.stopped) return;
      this.stats.resyncs++;
      this.fleet?.resync();
      this.o.onWarning?.(
        `${part.subject}: ${why}; reading again after ${this.o.stream}:${part.applied} (the last event applied)`,
      );
      // What is queued is applied first; the rest is read again in order.
      while (part.applied < part.queued && !this.stopped) {
        await new Promise((r) => setTimeout(r, 10));
      }
      if (this.stopped) return;
      await new Promise((r) => setTimeout(r, 250));
      try {
        await this.createConsumer(part, part.applied + 1);
        part.queued = part.applied;
      } catch (e) {
        this.o.onWarning?.(
          `${part.subject}: consumer not recreated, retrying: ${(e as Error).message}`,
        );
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  /** The watcher's item for a message, or nothing when it was applied before. */
  private take(part: Partition, m: JsMsg): InputItem | undefined {
    if (m.seq <= part.queued) {
      // Delivered again (a checkpoint slower than ackWait): it is in the state, or on its way.
      this.stats.skipped++;
      this.fleet?.redeliveredSkipped();
      if (m.seq <= part.saved) m.ack();
      return undefined;
    }
    part.queued = m.seq;
    const where = `${this.o.stream}:${m.seq} (${m.subject})`;
    // Called by the watcher once the item was evaluated: in order, as the items are queued.
    const applied = () => {
      part.applied = m.seq;
      part.last = m;
      if (++part.unsaved >= (this.o.checkpointEvery ?? 2000)) void this.checkpoint(part);
    };
    if (m.data.length > (this.o.maxEventBytes ?? 1 << 20)) {
      this.stats.problems++;
      return {
        problem: {
          message: `${where}: an event of ${m.data.length} bytes skipped (over maxEventBytes)`,
        },
        ack: applied,
      };
    }
    let event: Event;
    try {
      event = natsEventOf(m.string());
    } catch (e) {
      this.stats.problems++;
      return { problem: { message: `${where}: ${(e as Error).message}` }, ack: applied };
    }
    const key = part.family === "user" ? fleetUserKey(event) : fleetSourceIPKey(event);
    const should = partitionOf(key, this.o.partitions);
    if (should !== part.p) this.misrouted(part, key, should);
    const t = Date.parse(event.stageTimestamp ?? "");
    return {
      event,
      rules: part.evaluator,
      ack: () => {
        if (t > part.latestMs) part.latestMs = t;
        applied();
      },
    };
  }

  private misrouted(part: Partition, key: string, should: number): void {
    this.stats.misrouted++;
    this.fleet?.misrouted();
    if (part.warnedMisrouted) return;
    part.warnedMisrouted = true;
    this.o.onWarning?.(
      `${part.subject} holds an event whose ${part.family === "user" ? "kaudit.user.name" : "source IP"} ${JSON.stringify(key)} is in partition ${should} of ${this.o.partitions}, not ${part.p}: the collectors publish with another --nats-partitions (or --nats-subject); thresholds are not exact until they agree (counted in kaudit_fleet_misrouted_events_total)`,
    );
  }

  /** Stores `part`'s checkpoint when it applied events since the last one, then acks them. */
  private checkpoint(part: Partition): Promise<void> {
    if (part.saving) return part.saving;
    if (part.applied <= part.saved || !part.last) return Promise.resolve();
    // Taken in one synchronous step with `applied`: the state holds exactly the events up to seq.
    const seq = part.applied;
    const msg = part.last;
    const unsaved = part.unsaved;
    const cp: Checkpoint = {
      version: 1,
      stream: this.o.stream,
      subject: part.subject,
      seq,
      state: part.rules.state.snapshot(Number.isFinite(part.latestMs) ? part.latestMs : undefined),
      savedAt: Date.now(),
    };
    const handed = this.alertsHanded;
    part.saving = (async () => {
      try {
        await this.settle(handed);
        await this.kv.put(part.key, gzipSync(JSON.stringify(cp)));
        part.saved = seq;
        part.unsaved -= unsaved;
        msg.ack();
        this.stats.checkpoints++;
        this.fleet?.checkpoint("ok");
        if (part.failing > 0) {
          this.o.onWarning?.(
            `checkpoints of ${part.subject} stored again (up to ${this.o.stream}:${seq}) after ${part.failing} failed attempt(s)`,
          );
          part.failing = 0;
        }
      } catch (e) {
        this.stats.checkpointErrors++;
        this.fleet?.checkpoint("error");
        // The first failure is said at once, the rest counted until one succeeds (a NATS leader
        // election fails every partition's checkpoint for a few seconds).
        if (part.failing++ === 0) {
          this.o.onWarning?.(
            `checkpoint of ${part.subject} (up to ${this.o.stream}:${seq}) not stored, retrying every second; its events stay unacknowledged: ${(e as Error).message}`,
          );
        }
      } finally {
        part.saving = undefined;
      }
    })();
    return part.saving;
  }

  /** Waits until every output delivered or dropped `handed` alerts (or settleTimeout passed). */
  private async settle(handed: number): Promise<void> {
    const outputs = this.o.outputs ?? [];
    const until = Date.now() + (this.o.settleTimeout ?? 5000);
    const done = () =>
      outputs.every((out) => {
        const s = out.stats();
        return s.sent + s.dropped >= handed;
      });
    while (!done() && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  }

  private async stopReading(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const part of this.parts) part.messages?.stop();
    for (const q of this.queues.values()) {
      for (const w of q.wake.splice(0)) w();
    }
    await Promise.allSettled(this.pumps);
  }

  /**
   * After the watcher stopped (every item handed over was evaluated): stores the last
   * checkpoints, acknowledges what they cover and closes the connection. What was fetched but
   * not evaluated is delivered again to whoever starts the partition next.
   */
  async close(): Promise<void> {
    await this.stopReading();
    clearInterval(this.timer);
    for (const part of this.parts) await part.saving;
    await Promise.all(this.parts.map((p) => this.checkpoint(p)));
    await this.nc.flush().catch(() => {});
    await this.nc.close();
  }
}

/**
 * Connects, opens (or creates) the checkpoint bucket, splits the rules over the two families
 * ({@link planFleetRules}) and starts every assigned partition after its checkpoint. Give
 * `detector.inputs` to `createWatcher`; after `watcher.stop()`, call `detector.close()`.
 */
export async function startNatsDetector(options: NatsDetectorOptions): Promise<NatsDetector> {
  const o = {
    ...options,
    stream: options.stream ?? "KAUDIT",
    prefix: options.prefix ?? "audit",
    partitions: options.partitions ?? 16,
  };
  if (!NAME_OK.test(o.consumer)) {
    throw new RangeError(
      `consumer name ${JSON.stringify(o.consumer)}: use letters, digits, - and _`,
    );
  }
  if (o.assign.length === 0) throw new RangeError("no partitions assigned");
  for (const p of o.assign) {
    if (!Number.isInteger(p) || p < 0 || p >= o.partitions) {
      throw new RangeError(`partition ${p}: partitions are 0 to ${o.partitions - 1}`);
    }
  }
  const probe = loadRules(o.rules.files.length ? [...o.rules.files] : [], {
    ...(o.rules.timeZone ? { timeZone: o.rules.timeZone } : {}),
  });
  const plan = planFleetRules(probe.rules);
  const nc = await connectNats({ ...o, name: o.name ?? `kaudit-detector-${o.consumer}` });
  try {
    const bucket = o.checkpointBucket ?? `${o.stream}_checkpoints`;
    const kv = await retryTransient(
      `checkpoint bucket ${bucket}`,
      () => nc.jetstream().views.kv(bucket, { history: 1, replicas: o.replicas ?? 1 }),
      o.onWarning,
    );
    const d = new NatsDetector(o, nc, kv, plan);
    await d.start();
    return d;
  } catch (e) {
    await nc.close();
    throw e;
  }
}
