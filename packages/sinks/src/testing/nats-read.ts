import { AckPolicy, connect, DeliverPolicy } from "nats";

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
  } finally {
    await nc.close();
  }
}
