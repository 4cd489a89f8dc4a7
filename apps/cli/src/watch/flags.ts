import { readFileSync } from "node:fs";
import { parseHostPort, type WatchConfig } from "@kaudit/watch";
import { CliError, EXIT_USAGE, fileError } from "../errors";

/** A usage error of `kaudit watch` (exit 2). */
export function usage(message: string): CliError {
  return new CliError(`kaudit watch: ${message}`, EXIT_USAGE);
}

/** `HOST:PORT` of `flag`, or a usage error naming it. */
export function parseAddress(value: string, flag: string): { host: string; port: number } {
  try {
    return parseHostPort(value, flag);
  } catch (e) {
    throw usage((e as Error).message);
  }
}

/**
 * The flags both tiers and the single-machine watch check the same way: `--from` (start or end)
 * and `--metrics-address`.
 */
export function commonFlags(o: WatchConfig): {
  from: "start" | "end" | undefined;
  metricsAt: { host: string; port: number } | undefined;
} {
  if (o.from !== undefined && o.from !== "start" && o.from !== "end") {
    throw usage(`--from ${JSON.stringify(o.from)}: expected start or end`);
  }
  return {
    from: o.from,
    metricsAt: o.metricsAddress ? parseAddress(o.metricsAddress, "--metrics-address") : undefined,
  };
}

/** A file's bytes, or an error naming the file and why. */
export function readOrFail(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw fileError(path, e);
  }
}

/** Where the position of the n-th followed path is kept: one path uses the file itself. */
export function positionFileFor(
  base: string | undefined,
  path: string,
  many: boolean,
): string | undefined {
  if (base === undefined) return undefined;
  return many ? `${base}.${path.replace(/[^A-Za-z0-9]+/g, "_")}` : base;
}

/**
 * The receiver's address and TLS material of `--listen`, checked: a certificate and key, and a
 * way to authenticate senders (client certificates and/or tokens) — the receiver never accepts
 * anonymous senders. Undefined without `--listen`.
 */
export function listenFlags(
  o: WatchConfig,
):
  | { host: string; port: number; tls: { cert: Buffer; key: Buffer; clientCA?: Buffer } }
  | undefined {
  if (!o.listen) return undefined;
  const at = parseAddress(o.listen, "--listen");
  if (!o.tlsCertFile || !o.tlsPrivateKeyFile) {
    throw usage("--listen needs --tls-cert-file and --tls-private-key-file");
  }
  if (!o.clientCaFile && !o.tokenAuthFile) {
    throw usage(
      "--listen needs --client-ca-file and/or --token-auth-file: the receiver accepts only senders it can authenticate",
    );
  }
  return {
    ...at,
    tls: {
      cert: readOrFail(o.tlsCertFile),
      key: readOrFail(o.tlsPrivateKeyFile),
      ...(o.clientCaFile ? { clientCA: readOrFail(o.clientCaFile) } : {}),
    },
  };
}
