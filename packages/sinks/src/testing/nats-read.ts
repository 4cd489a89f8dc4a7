import {
  AckPolicy,
  connect,
  DeliverPolicy,
  type JetStreamManager,
  type NatsConnection,
  type StreamInfo,
} from "nats";

/** One stored message: subject, data as text, and its `Nats-Msg-Id`. */
export interface StoredMessage {
  subject: string;
  data: string;
  msgId: string | undefined;
}

/**
 * Every message of `stream` matching `filter` (default: all), in stream order — for tests that
 * check what reached JetStream. Reads with a throw-away consumer, so it never moves anyone's acks.
 */
export async function readStream(
  servers: string | string[],
  stream: string,
  filter?: string,
): Promise<StoredMessage[]> {
  const nc = await connect({ servers, maxReconnectAttempts: 10 });
  try {
    const jsm = await nc.jetstreamManager();
    // A consumer made just after a node restarted once counted one message fewer than the stream
    // holds (CI: 199 of 200): without a filter the read is checked against the stream's own
    // count and made again with a new consumer when it falls short.
    const expected = filter ? undefined : (await jsm.streams.info(stream)).state.messages;
    let out: StoredMessage[] = [];
    for (let attempt = 1; ; attempt++) {
      out = await readOnce(nc, jsm, stream, filter);
      if (expected === undefined || out.length >= expected || attempt === 5) return out;
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await nc.close();
  }
}

async function readOnce(
  nc: NatsConnection,
  jsm: JetStreamManager,
  stream: string,
  filter: string | undefined,
): Promise<StoredMessage[]> {
  const name = `read-${process.pid}-${Math.random().toString(36).slice(2)}`;
  await jsm.consumers.add(stream, {
    name,
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.All,
    inactive_threshold: 30e9,
    ...(filter ? { filter_subject: filter } : {}),
  });
  const c = await nc.jetstream().consumers.get(stream, name);
  const out: StoredMessage[] = [];
  let pending = (await c.info()).num_pending;
  while (pending > 0) {
    const batch = Math.min(pending, 10_000);
    let got = 0;
    for await (const m of await c.fetch({ max_messages: batch, expires: 5000 })) {
      out.push({ subject: m.subject, data: m.string(), msgId: m.headers?.get("Nats-Msg-Id") });
      got++;
    }
    if (got === 0) throw new Error(`${stream}: ${pending} messages pending but none fetched`);
    pending -= got;
  }
  await jsm.consumers.delete(stream, name).catch(() => {});
  return out;
}

/** A stream's configuration and state as the cluster reports it (leader, replicas, messages). */
export async function streamInfo(servers: string | string[], stream: string): Promise<StreamInfo> {
  const nc = await connect({ servers, maxReconnectAttempts: 10 });
  try {
    return await (await nc.jetstreamManager()).streams.info(stream);
  } finally {
    await nc.close();
  }
}

/** Deletes a stream if it exists (a benchmark's fresh start). */
export async function deleteStream(servers: string | string[], stream: string): Promise<void> {
  const nc = await connect({ servers, maxReconnectAttempts: 10 });
  try {
    await (await nc.jetstreamManager()).streams.delete(stream).catch(() => false);
  } finally {
    await nc.close();
  }
}

/** What each consumer of a stream has left: not yet delivered, and delivered but not acked. */
export async function consumerBacklog(
  servers: string | string[],
  stream: string,
): Promise<{ name: string; pending: number; unacked: number }[]> {
  const nc = await connect({ servers, maxReconnectAttempts: 10 });
  try {
    const out: { name: string; pending: number; unacked: number }[] = [];
    const jsm = await nc.jetstreamManager();
    for await (const c of jsm.consumers.list(stream)) {
      out.push({ name: c.name, pending: c.num_pending, unacked: c.num_ack_pending });
    }
    return out;
  } finally {
    await nc.close();
  }
}
