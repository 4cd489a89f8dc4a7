import { readFileSync } from "node:fs";
import { API_VERSION, decodeEvent, type Event, upgradeEvent } from "@kaudit/api";
import type { ConsumerMessages, JsMsg, NatsConnection } from "nats";
import { SourceEmitter, SourceError } from "./source-stats";

/** Options of {@link readNats}. Durations are milliseconds. */
export interface ReadNatsOptions {
  /** NATS servers; the client fails over between them. */
  servers: string | string[];
  /** The JetStream stream holding the events. */
  stream: string;
  /**
   * The durable pull consumer's name: a restarted reader resumes where it acknowledged. With
   * `filterSubjects`, one durable per subject (`<consumer>_<n>`), created when missing.
   */
  consumer: string;
  /**
   * The subjects this reader owns (a detector's partitions, `audit.3`, `audit.7`). Without it
   * the consumer must exist already (or is created for the whole stream).
   */
  filterSubjects?: string[];
  /** TLS from PEM files; the server's certificate is verified. */
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  /** A NATS `.creds` file. */
  creds?: string;
  /** Messages fetched ahead per consumer. Default 256. */
  batch?: number;
  /** How long the server waits for an ack before it redelivers. Default 30000. */
  ackWait?: number;
  /** Largest event, as bytes of its message; larger ones are dropped, counted and not redelivered. Default 1 MiB. */
  maxEventBytes?: number;
  /** Connection name. Default `kaudit`. */
  name?: string;
}

/** Where an event read from NATS came from. */
export interface NatsSource {
  stream: string;
  subject: string;
  /** The message's sequence number in the stream. */
  seq: number;
  /** True when the server delivered it before (a reader died or was slow before acking it). */
  redelivered: boolean;
}

/** One event read from JetStream. */
export interface NatsEvent {
  event: Event;
  source: NatsSource;
}

/**
 * A JetStream reader: an async iterable of events whose messages are acknowledged only when the
 * loop asks for the next one (or leaves), i.e. after the loop body took the event — a reader
 * that crashes mid-way loses nothing: the server redelivers what was not acknowledged. Counters
 * as every source (`read`, `skipped` for messages that are not events, `dropped` for too large).
 */
export class NatsReader extends SourceEmitter implements AsyncIterable<NatsEvent> {
  private readonly options: ReadNatsOptions;
  private nc: NatsConnection | undefined;
  private readonly subscriptions: ConsumerMessages[] = [];
  private closed = false;

  constructor(options: ReadNatsOptions) {
    super();
    if (!options.stream || !options.consumer) {
      throw new SourceError("readNats needs a stream and a consumer name");
    }
    this.options = options;
  }

  /** Stops reading: what was fetched but not taken is redelivered (at once, or after ackWait). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.subscriptions) s.stop();
    // Acks are fire-and-forget: flush so the last ones reach the server before the socket closes.
    await this.nc?.flush().catch(() => {});
    await this.nc?.close();
  }

  private async open(): Promise<ConsumerMessages[]> {
    const nats = await import("nats");
    const o = this.options;
    this.nc = await nats.connect({
      servers: o.servers,
      name: o.name ?? "kaudit",
      waitOnFirstConnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      ...(o.tls ? { tls: { ...o.tls } } : {}),
      ...(o.creds ? { authenticator: nats.credsAuthenticator(readFileSync(o.creds)) } : {}),
    });
    const jsm = await this.nc.jetstreamManager();
    const js = this.nc.jetstream();
    const names: string[] = [];
    const subjects = o.filterSubjects ?? [undefined];
    for (let i = 0; i < subjects.length; i++) {
      const subject = subjects[i];
      const name = o.filterSubjects ? `${o.consumer}_${i}` : o.consumer;
      const config = {
        durable_name: name,
        ack_policy: nats.AckPolicy.Explicit,
        ack_wait: nats.nanos(o.ackWait ?? 30_000),
        max_ack_pending: Math.max(1000, (o.batch ?? 256) * 4),
        ...(subject ? { filter_subject: subject } : {}),
      };
      try {
        const info = await jsm.consumers.info(o.stream, name);
        if (subject && info.config.filter_subject !== subject) {
          throw new SourceError(
            `consumer ${name} of stream ${o.stream} reads ${info.config.filter_subject ?? "everything"}, not ${subject}: partitions moved — delete it or use another consumer name`,
          );
        }
      } catch (e) {
        if (e instanceof SourceError) throw e;
        await jsm.consumers.add(o.stream, config);
      }
      names.push(name);
    }
    const out: ConsumerMessages[] = [];
    for (const name of names) {
      const c = await js.consumers.get(o.stream, name);
      // Pulls expire after 5 s (nats.js: 30 s): one left with a consumer leader that died is
      // noticed (missed heartbeats) and renewed in seconds.
      out.push(await c.consume({ max_messages: o.batch ?? 256, expires: 5_000 }));
    }
    return out;
  }

  [Symbol.asyncIterator](): AsyncIterator<NatsEvent> {
    const queue: JsMsg[] = [];
    const waiters: (() => void)[] = [];
    let taken: JsMsg | undefined;
    let failure: unknown;
    let live = 0;
    const wake = () => {
      for (const w of waiters.splice(0)) w();
    };
    const ready = this.open().then((subs) => {
      this.subscriptions.push(...subs);
      live = subs.length;
      for (const s of subs) {
        void (async () => {
          for await (const m of s) {
            queue.push(m);
            wake();
            // Back-pressure: the consume buffer refills only as the loop takes messages.
            while (queue.length >= (this.options.batch ?? 256) && !this.closed) {
              await new Promise<void>((r) => waiters.push(r));
            }
          }
          live--;
          wake();
        })().catch((e) => {
          failure = e;
          wake();
        });
      }
    });
    ready.catch((e) => {
      failure = e;
    });
    const finish = async (): Promise<IteratorResult<NatsEvent>> => {
      taken?.ack();
      taken = undefined;
      // Fetched but never taken: back to the stream now, rather than after ackWait.
      for (const m of queue.splice(0)) m.nak();
      await this.close();
      return { value: undefined, done: true };
    };
    return {
      next: async (): Promise<IteratorResult<NatsEvent>> => {
        // The loop asks for the next event: the one it took is handed over, so ack it.
        taken?.ack();
        taken = undefined;
        await ready;
        for (;;) {
          if (failure) throw new SourceError("reading from NATS failed", { cause: failure });
          const m = queue.shift();
          if (m) {
            wake();
            const ev = this.decode(m);
            if (!ev) continue;
            taken = m;
            this.stats.read++;
            return { value: ev, done: false };
          }
          if (this.closed || live === 0) return finish();
          await new Promise<void>((r) => waiters.push(r));
        }
      },
      return: finish,
    };
  }

  private decode(m: JsMsg): NatsEvent | undefined {
    const where = `${m.info.stream}:${m.seq}`;
    if (m.data.length > (this.options.maxEventBytes ?? 1 << 20)) {
      m.term();
      this.count("drop", {
        reason: "too large",
        count: 1,
        where,
        message: `an event of ${m.data.length} bytes dropped (maxEventBytes)`,
      });
      return undefined;
    }
    let event: Event;
    try {
      event = natsEventOf(m.string());
    } catch (e) {
      // Terminated, not nak'ed: a message that is not an event would be redelivered forever.
      m.term();
      this.count("skip", {
        reason: "not an event",
        count: 1,
        where,
        message: (e as Error).message,
      });
      return undefined;
    }
    return {
      event,
      source: { stream: m.info.stream, subject: m.subject, seq: m.seq, redelivered: m.redelivered },
    };
  }
}

/**
 * The audit event a JetStream message holds (its text: one JSON event as the sinks publish it),
 * upgraded to audit.k8s.io/v1. Throws, saying what is wrong, for anything else.
 */
export function natsEventOf(text: string): Event {
  const raw = decodeEvent(text);
  const leftovers = "timestamp" in raw || "metadata" in raw;
  const event =
    raw.apiVersion === API_VERSION && !leftovers
      ? raw
      : upgradeEvent(raw, { apiVersion: API_VERSION });
  if (typeof event.auditID !== "string" || typeof event.stage !== "string") {
    throw new Error("not an audit event (no auditID or stage)");
  }
  return event;
}

/**
 * Reads audit events from a NATS JetStream stream through a durable pull consumer (one per
 * subject with `filterSubjects`). Acknowledges each message only when the loop has taken its
 * event, so a crashed reader loses nothing. The `nats` package is an optional peer dependency.
 *
 * @example
 * for await (const { event } of readNats({ servers: "nats://127.0.0.1:4222", stream: "AUDIT", consumer: "detector" })) {
 *   console.log(event.auditID);
 * }
 */
export function readNats(options: ReadNatsOptions): NatsReader {
  return new NatsReader(options);
}
