import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { dirname, join, resolve } from "node:path";
import { generateMutualTLS, kubeconfigYAML } from "./bootstrap";

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
  close(): Promise<void>;
}

/**
 * Starts an HTTPS audit webhook receiver that requires a client certificate signed by its own
 * CA. It accepts `audit.k8s.io/v1` `EventList` POSTs and appends each event to `out` as one
 * JSON line. A kubeconfig for the sender is written to `<dataDir>/webhook-kubeconfig`.
 */
export async function startReceiver(opts: {
  port?: number;
  bindAddress?: string;
  out: string;
  dataDir: string;
  log?: (line: string) => void;
}): Promise<Receiver> {
  const dataDir = resolve(opts.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const outFile = resolve(opts.out);
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, "", { flag: "a" });
  const tls = await generateMutualTLS();
  const log = opts.log ?? (() => {});
  let batches = 0;
  let events = 0;
  const server: Server = createServer(
    {
      cert: tls.server.cert,
      key: tls.server.key,
      ca: tls.ca.cert,
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => {
      const reply = (code: number, message: string) => {
        const body = `${JSON.stringify({ kind: "Status", apiVersion: "v1", metadata: {}, status: code < 300 ? "Success" : "Failure", message, code })}\n`;
        res.writeHead(code, {
          "Content-Type": "application/json",
          "Content-Length": Buffer.byteLength(body),
        });
        res.end(body);
      };
      if (req.method !== "POST") {
        reply(405, `method ${req.method} not allowed`);
        return;
      }
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        let list: { kind?: unknown; apiVersion?: unknown; items?: unknown };
        try {
          list = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        } catch (e) {
          reply(400, `invalid JSON: ${(e as Error).message}`);
          return;
        }
        if (list?.kind !== "EventList" || !Array.isArray(list.items)) {
          reply(400, 'expected an audit.k8s.io EventList with "items"');
          return;
        }
        const lines = list.items.map((e) => `${JSON.stringify(e)}\n`).join("");
        appendFileSync(outFile, lines);
        batches++;
        events += list.items.length;
        log(`received ${list.items.length} event(s)`);
        reply(200, "ok");
      });
    },
  );
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(opts.port ?? 0, opts.bindAddress ?? "127.0.0.1", () => ok());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `https://127.0.0.1:${port}/audit`;
  const kubeconfigFile = join(dataDir, "webhook-kubeconfig");
  writeFileSync(
    kubeconfigFile,
    kubeconfigYAML({
      name: "kaudit-demo-receiver",
      server: url,
      caPEM: tls.ca.cert,
      clientCert: tls.client,
    }),
    { mode: 0o600 },
  );
  return {
    url,
    port,
    kubeconfigFile,
    outFile,
    get batches() {
      return batches;
    },
    get events() {
      return events;
    },
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}
