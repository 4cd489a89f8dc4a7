import { readFileSync } from "node:fs";
import type { NatsTlsOptions } from "@kaudit/sinks";
import type { NatsConnection } from "nats";

/** How a fleet tier reaches NATS: the servers, TLS (server verified) and credentials. */
export interface NatsAccess {
  /** `nats://host:port` URLs (or `host:port`); the client fails over between them. */
  servers: string[];
  /** TLS from PEM files; on when given, and the server's certificate is then verified. */
  tls?: NatsTlsOptions | undefined;
  /** A NATS `.creds` file (JWT + nkey seed). */
  creds?: string | undefined;
  /** Connection name, as the server's monitoring shows it. */
  name?: string | undefined;
}

/**
 * Connects like the sink and the reader of the fleet do: reconnecting forever through an outage
 * (a restarted NATS node must not end a collector or a detector), waiting for the first server.
 */
export async function connectNats(access: NatsAccess): Promise<NatsConnection> {
  const nats = await import("nats");
  return nats.connect({
    servers: access.servers,
    name: access.name ?? "kaudit",
    waitOnFirstConnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    // No stack captured per request (a pre-made timeout Error each): a fifth of the publish cost.
    noAsyncTraces: true,
    ...(access.tls ? { tls: { ...access.tls } } : {}),
    ...(access.creds ? { authenticator: nats.credsAuthenticator(readFileSync(access.creds)) } : {}),
  });
}

/** `true` when a JetStream API error says the stream, consumer or key does not exist. */
export function isNotFound(e: unknown): boolean {
  const err = e as
    | { message?: string; code?: string; api_error?: { err_code?: number; code?: number } }
    | undefined;
  const code = err?.api_error?.err_code;
  // 10059 stream not found, 10014 consumer not found; 404 the HTTP-like code of both.
  return (
    code === 10059 ||
    code === 10014 ||
    err?.api_error?.code === 404 ||
    err?.code === "404" ||
    err?.message === "stream not found" ||
    err?.message === "consumer not found"
  );
}

/**
 * Runs a JetStream API call again while it fails with anything but "not found" (a meta leader
 * election, a node restarting: the API answers again within seconds) — for up to `ms` (default
 * 30 s), saying the first failure through `say`. "Not found" and the last failure are thrown.
 */
export async function retryTransient<T>(
  what: string,
  call: () => Promise<T>,
  say?: ((message: string) => void) | undefined,
  ms = 30_000,
): Promise<T> {
  const until = Date.now() + ms;
  for (let said = false; ; said = true) {
    try {
      return await call();
    } catch (e) {
      if (isNotFound(e) || Date.now() >= until) throw e;
      if (!said) {
        say?.(
          `${what}: ${(e as Error).message}; trying again for up to ${Math.round(ms / 1000)} s`,
        );
      }
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
