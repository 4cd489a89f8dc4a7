import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { encodeEvent } from "@kaudit/api";
import {
  createWebhookReceiver,
  type SourceReport,
  type WebhookReceiverStats,
} from "@kaudit/sources";
import { type CertPair, generateMutualTLS, kubeconfigYAML } from "./bootstrap";

/** A running webhook receiver. */
export interface Receiver {
  url: string;
  port: number;
  /** The kubeconfig to pass as `--audit-webhook-config-file` (server CA + client certificate). */
  kubeconfigFile: string;
  /** Where received events are appended, one JSON line each. */
  outFile: string;
  /** Number of EventList POSTs accepted so far. */
  readonly batches: number;
  /** Number of events appended so far. */
  readonly events: number;
  /** The receiver's counters (read, dropped, rejected, throttled, …). */
  readonly stats: WebhookReceiverStats;
  close(): Promise<void>;
}

/** Options of {@link startReceiver}. */
export interface ReceiverOptions {
  port?: number;
  bindAddress?: string;
  out: string;
  dataDir: string;
  /** Make a new CA and certificates even if the data directory has them. Default false. */
  regenerateCerts?: boolean;
  /** Largest request body (bytes). Default: @kaudit/sources' (12 MiB). */
  maxBodyBytes?: number;
  /** Largest single event (bytes); larger ones are dropped and counted. Default 256 KiB. */
  maxEventBytes?: number;
  log?: (line: string) => void;
}

const FILES = ["ca.crt", "ca.key", "server.crt", "server.key", "client.crt", "client.key"];

/**
 * The receiver's CA and certificates: generated on first start and kept in the data directory,
 * so a restarted receiver still matches the kubeconfig the server was given.
 */
async function receiverPki(
  dataDir: string,
  regenerate: boolean,
): Promise<{ ca: CertPair; server: CertPair; client: CertPair; generated: boolean }> {
  const paths = FILES.map((f) => join(dataDir, f));
  if (!regenerate && paths.every((p) => existsSync(p))) {
    const [caCert, caKey, serverCert, serverKey, clientCert, clientKey] = paths.map((p) =>
      readFileSync(p, "utf8"),
    ) as [string, string, string, string, string, string];
    return {
      ca: { cert: caCert, key: caKey },
      server: { cert: serverCert, key: serverKey },
      client: { cert: clientCert, key: clientKey },
      generated: false,
    };
  }
  const tls = await generateMutualTLS();
  const values = [
    tls.ca.cert,
    tls.ca.key,
    tls.server.cert,
    tls.server.key,
    tls.client.cert,
    tls.client.key,
  ];
  paths.forEach((p, i) => {
    writeFileSync(p, values[i]!, { mode: p.endsWith(".key") ? 0o600 : 0o644 });
  });
  return { ...tls, generated: true };
}

/**
 * Starts the demo's HTTPS audit webhook receiver (@kaudit/sources' createWebhookReceiver) that
 * requires a client certificate signed by its own CA, at path `/audit`. Every event is appended
 * to `out` as one JSON line before the request is answered 200. The CA and certificates live in
 * `dataDir` (made on first start; `regenerateCerts` makes new ones), and a kubeconfig for the
 * sender is written to `<dataDir>/webhook-kubeconfig`.
 */
export async function startReceiver(opts: ReceiverOptions): Promise<Receiver> {
  const dataDir = resolve(opts.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const outFile = resolve(opts.out);
  mkdirSync(dirname(outFile), { recursive: true });
  const log = opts.log ?? (() => {});
  const pki = await receiverPki(dataDir, opts.regenerateCerts ?? false);
  if (pki.generated) log(`generated a CA and certificates in ${dataDir}`);
  const fd = openSync(outFile, "a", 0o600);
  let batches = 0;
  let events = 0;
  const receiver = await createWebhookReceiver({
    host: opts.bindAddress ?? "127.0.0.1",
    port: opts.port ?? 0,
    path: "/audit",
    tls: { cert: pki.server.cert, key: pki.server.key, clientCA: pki.ca.cert },
    ...(opts.maxBodyBytes !== undefined ? { maxBodyBytes: opts.maxBodyBytes } : {}),
    ...(opts.maxEventBytes !== undefined ? { maxEventBytes: opts.maxEventBytes } : {}),
    onEvents: ({ events: batch }) => {
      let text = "";
      for (const e of batch) text += `${encodeEvent(e)}\n`;
      writeSync(fd, text);
      batches++;
      events += batch.length;
      log(`received ${batch.length} event(s)`);
    },
  });
  const report = (r: SourceReport) => log(`${r.where}: ${r.message}`);
  receiver.on("drop", report);
  receiver.on("skip", report);
  const host = opts.bindAddress ?? "127.0.0.1";
  const urlHost =
    host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  const url = `https://${urlHost}:${receiver.port}/audit`;
  const kubeconfigFile = join(dataDir, "webhook-kubeconfig");
  writeFileSync(
    kubeconfigFile,
    kubeconfigYAML({
      name: "kaudit-demo-receiver",
      server: url,
      caPEM: pki.ca.cert,
      clientCert: pki.client,
    }),
    { mode: 0o600 },
  );
  return {
    url,
    port: receiver.port,
    kubeconfigFile,
    outFile,
    get batches() {
      return batches;
    },
    get events() {
      return events;
    },
    stats: receiver.stats,
    close: async () => {
      await receiver.close();
      closeSync(fd);
    },
  };
}
