import { readFileSync } from "node:fs";
import type { Event } from "@kaudit/api";
import { KauditError } from "@kaudit/api";
import type { JetStreamClient, NatsConnection } from "nats";
import { backoffDelays, sleep } from "./backoff";
import { decodeEncoded, encodeEvent } from "./encode";
import { ReportingBase, type ReportingOptions } from "./report";

/** A JetStream publish failed after its retries. */
export class NatsSinkError extends KauditError {
  constructor(message: string, cause?: unknown) {
    super(message, { name: "NatsSinkError", cause });
  }
}

/** TLS for the NATS connection: file paths of PEM files. Verification of the server is on. */
export interface NatsTlsOptions {
  /** CA bundle the server's certificate must chain to. Default: the system's roots. */
  caFile?: string;
  /** Client certificate, for servers that verify clients. */
  certFile?: string;
  /** The client certificate's key. */
  keyFile?: string;
}

/** Options of {@link createNatsSink}. Durations are milliseconds. */
export interface NatsSinkOptions extends ReportingOptions {
  /** NATS servers (`nats://host:port` or `host:port`); the client fails over between them. */
  servers: string | string[];
  /**
   * The subject each event is published to, or a function of the event — for a fleet,
   * {@link partitionedSubject} spreads events over `audit.<partition>` by a key.
   */
  subject?: string | ((event: Event) => string);
  /**
   * Instead of `subject`: the messages each event becomes, each with its subject and
   * `Nats-Msg-Id` — {@link fleetRoutes} publishes every event to the user and the source-IP
   * partition families a kaudit fleet reads. An event counts as delivered when all were acked.
   */
  routes?: (event: Event) => readonly NatsRoute[];
  /** The stream that must store the subject: a publish the server routes to another stream fails. */
  stream?: string;
  /** TLS (on when given, and then the server's certificate is verified). */
  tls?: NatsTlsOptions;
  /** A NATS `.creds` file (JWT + nkey seed). */
  creds?: string;
  /** Publishes awaiting their ack at once; more wait for a slot. Default 1024. */
  maxInFlight?: number;
  /** How long one publish waits for the stream's ack. Default 5000. */
  ackTimeout?: number;
  /** Attempts per event (the same `Nats-Msg-Id` each time, so a re-send is dropped as a duplicate). Default 5. */
  attempts?: number;
  /** First retry sleep; later ones grow ×1.5 with 20 % jitter. Default 250. */
  initialBackoff?: number;
  /** Connection name, as the server's monitoring shows it. Default `kaudit`. */
  name?: string;
}

/** One message an event becomes: where it is published, and its `Nats-Msg-Id`. */
export interface NatsRoute {
  subject: string;
  msgID: string;
}

/** What a NATS sink has counted (messages: with {@link NatsSinkOptions.routes} an event may be several). */
export interface NatsSinkStats {
  /** Events the stream acknowledged as stored. */
  acked: number;
  /** Events the stream acknowledged as duplicates of a stored one (a re-send: not lost, not stored twice). */
  duplicates: number;
  /** Events that failed every attempt (reported as errors). */
  failed: number;
  /** Publishes re-sent after a timeout or a lost connection. */
  retries: number;
}

/** `Nats-Msg-Id` of an event: its auditID and stage, so each stage is stored once per duplicate window. */
export function natsMsgId(event: Pick<Event, "auditID" | "stage">): string {
  return `${event.auditID}:${event.stage}`;
}

/** FNV-1a (32 bit) of a string: a stable, well-spread partition hash. */
export function partitionOf(key: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % partitions;
}

/**
 * A subject function for a fleet: `<prefix>.<partition>` with the partition a hash of `key(event)`
 * (default: the user name), so every event of one key reaches the same detector.
 */
export function partitionedSubject(
  prefix: string,
  partitions: number,
  key: (event: Event) => string = (e) => e.user?.username ?? "",
): (event: Event) => string {
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw new NatsSinkError(`partitions must be a whole number ≥ 1, got ${partitions}`);
  }
  return (e) => `${prefix}.${partitionOf(key(e), partitions)}`;
}

/**
 * The user key of a fleet's partitions: the user the request acted as (the impersonated user if
 * any, else the authenticated one) — the value of the rules' `kaudit.user.name`.
 */
export function fleetUserKey(event: Event): string {
  return event.impersonatedUser?.username ?? event.user?.username ?? "";
}

/** The source-IP key of a fleet's partitions: the first of `sourceIPs` (`kaudit.source_ip`). */
export function fleetSourceIPKey(event: Event): string {
  return event.sourceIPs?.[0] ?? "";
}

/**
 * The routes of a kaudit fleet (see the CLI's `kaudit watch --to-nats`): every event goes to
 * `<prefix>.<p>` with p the partition of its user ({@link fleetUserKey}) and to `<prefix>.ip.<q>`
 * with q the partition of its source IP ({@link fleetSourceIPKey}), so a detector that owns a
 * partition sees every event of its users, or of its source IPs, and windowed thresholds keyed
 * by either stay exact. Msg-ids `auditID:stage` and `auditID:stage:ip`.
 */
export function fleetRoutes(prefix: string, partitions: number): (event: Event) => NatsRoute[] {
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw new NatsSinkError(`partitions must be a whole number ≥ 1, got ${partitions}`);
  }
  return (e) => {
    const id = natsMsgId(e);
    return [
      { subject: `${prefix}.${partitionOf(fleetUserKey(e), partitions)}`, msgID: id },
      {
        subject: `${prefix}.ip.${partitionOf(fleetSourceIPKey(e), partitions)}`,
        msgID: `${id}:ip`,
      },
    ];
  };
}

interface Pending {
  subject: string;
  line: string;
  msgID: string;
}

/**
 * Publishes each event to NATS JetStream and counts it delivered only on the stream's ack
 * (at-least-once). `Nats-Msg-Id` is the auditID and stage, so the stream's duplicate window drops
 * what a retry or a restarted sender sends again. See {@link createNatsSink}.
 */
export class NatsSink extends ReportingBase {
  /** Counters since the sink started. */
  readonly stats: NatsSinkStats = { acked: 0, duplicates: 0, failed: 0, retries: 0 };
  private readonly options: NatsSinkOptions;
  private readonly connection: Promise<{ nc: NatsConnection; js: JetStreamClient }>;
  private readonly routesOf: (event: Event) => readonly NatsRoute[];
  private readonly maxInFlight: number;
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly pending = new Set<Promise<unknown>>();
  private closed = false;

  constructor(options: NatsSinkOptions) {
    super(options);
    this.options = options;
    const s = options.subject;
    if (options.routes) this.routesOf = options.routes;
    else if (typeof s === "function")
      this.routesOf = (e) => [{ subject: s(e), msgID: natsMsgId(e) }];
    else if (typeof s === "string") this.routesOf = (e) => [{ subject: s, msgID: natsMsgId(e) }];
    else throw new NatsSinkError("createNatsSink needs a subject or routes");
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 1024);
    this.connection = this.connect();
    // A failed connect is reported by the publishes that wait for it.
    this.connection.catch(() => {});
  }

  private async connect(): Promise<{ nc: NatsConnection; js: JetStreamClient }> {
    const nats = await import("nats");
    const o = this.options;
    const nc = await nats.connect({
      servers: o.servers,
      name: o.name ?? "kaudit",
      // Keep trying through an outage: events wait (bounded by maxInFlight), never vanish.
      waitOnFirstConnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      // No stack captured per request (a pre-made timeout Error each): a fifth of the publish cost.
      noAsyncTraces: true,
      ...(o.tls ? { tls: { ...o.tls } } : {}),
      ...(o.creds ? { authenticator: nats.credsAuthenticator(readFileSync(o.creds)) } : {}),
    });
    return { nc, js: nc.jetstream({ timeout: o.ackTimeout ?? 5000 }) };
  }

  /** Publishes every event; resolves true when the stream acked them all. Never rejects. */
  processEvents(events: readonly Event[]): Promise<boolean> {
    const batch: Pending[] = [];
    let ok = true;
    for (const e of events) {
      try {
        const line = encodeEvent(e);
        for (const r of this.routesOf(e)) batch.push({ subject: r.subject, line, msgID: r.msgID });
      } catch (err) {
        ok = false;
        this.stats.failed++;
        this.report("error", "nats", err as Error, [{ ...e }]);
      }
    }
    if (this.closed) {
      this.stats.failed += batch.length;
      this.report(
        "error",
        "nats",
        new NatsSinkError("audit backend shut down"),
        batch.map((p) => decodeEncoded(p.line)),
      );
      return Promise.resolve(false);
    }
    const p = Promise.all(batch.map((x) => this.publish(x))).then((r) => ok && r.every(Boolean));
    this.pending.add(p);
    p.finally(() => this.pending.delete(p));
    return p;
  }

  private async publish(p: Pending): Promise<boolean> {
    await this.acquire();
    try {
      const delays = backoffDelays({
        initial: this.options.initialBackoff ?? 250,
        factor: 1.5,
        jitter: 0.2,
        steps: Math.max(1, this.options.attempts ?? 5),
      });
      let last: unknown;
      for (let attempt = 0; ; attempt++) {
        try {
          const { js } = await this.connected();
          const ack = await js.publish(p.subject, p.line, {
            msgID: p.msgID,
            ...(this.options.stream ? { expect: { streamName: this.options.stream } } : {}),
          });
          if (ack.duplicate) this.stats.duplicates++;
          else this.stats.acked++;
          return true;
        } catch (e) {
          last = e;
        }
        if (attempt >= delays.length) break;
        this.stats.retries++;
        await sleep(delays[attempt]!);
      }
      this.stats.failed++;
      const why = (last as Error)?.message ?? String(last);
      this.report(
        "error",
        "nats",
        new NatsSinkError(`publish to ${p.subject} not acknowledged: ${why}`, last),
        [decodeEncoded(p.line)],
      );
      return false;
    } finally {
      this.release();
    }
  }

  // The connection retries forever; one attempt waits for it no longer than for an ack.
  private connected(): Promise<{ nc: NatsConnection; js: JetStreamClient }> {
    const wait = this.options.ackTimeout ?? 5000;
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      this.connection,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new NatsSinkError("no NATS server reachable")), wait);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  private acquire(): Promise<void> {
    if (this.inFlight < this.maxInFlight) {
      this.inFlight++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.inFlight--;
  }

  /** Waits for every accepted event's ack (or failure), then drains and closes the connection. */
  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    try {
      const { nc } = await Promise.race([
        this.connection,
        sleep(1000).then(() => Promise.reject(new Error("not connected"))),
      ]);
      await nc.drain();
    } catch {
      // Never connected: nothing to close but the connect attempt, which the process may end.
      void this.connection.then(({ nc }) => nc.close()).catch(() => {});
    }
  }

  override toString(): string {
    return "nats";
  }
}

/**
 * A sink that publishes each event to NATS JetStream (at-least-once, deduplicated by the
 * stream on `Nats-Msg-Id` = auditID:stage). Use it as a delegate of `buffered` or `union` like any
 * sink. The `nats` package is an optional peer dependency: install it to use this sink.
 *
 * @example
 * const sink = createNatsSink({ servers: "nats://127.0.0.1:4222", subject: "audit.events", stream: "AUDIT" });
 */
export function createNatsSink(options: NatsSinkOptions): NatsSink {
  return new NatsSink(options);
}
