import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

/** Options of {@link startStatusServer}. */
export interface StatusServerOptions {
  /** Address to listen on (default `127.0.0.1`: metrics say who does what, keep them local). */
  host?: string | undefined;
  /** Port (0 = any free one). */
  port: number;
  /** The registry `/metrics` exposes. */
  registry: Registry;
  /** Whether `/readyz` answers 200; otherwise 503 with the reason returned. */
  ready?: (() => true | string) | undefined;
}

/** A running status server. */
export interface StatusServer {
  /** The port it listens on. */
  readonly port: number;
  /** `http://host:port`. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` (Prometheus text format), `/healthz` (200 while the process runs) and
 * `/readyz` (200 once inputs are open and rules loaded, else 503 and why). Other paths 404,
 * other methods 405.
 */
export async function startStatusServer(options: StatusServerOptions): Promise<StatusServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { Allow: "GET, HEAD", "Content-Type": "text/plain" });
      res.end("method not allowed\n");
      return;
    }
    if (path === "/metrics") {
      options.registry.metrics().then(
        (text) => {
          res.writeHead(200, { "Content-Type": options.registry.contentType });
          res.end(text);
        },
        (e: Error) => {
          res.writeHead(500, { "Content-Type": "text/plain" });
          res.end(`${e.message}\n`);
        },
      );
      return;
    }
    if (path === "/healthz") {
      res.writeHead(200, { "Content-Type": "text/plain" });
      res.end("ok\n");
      return;
    }
    if (path === "/readyz") {
      const r = options.ready ? options.ready() : true;
      res.writeHead(r === true ? 200 : 503, { "Content-Type": "text/plain" });
      res.end(r === true ? "ok\n" : `${r}\n`);
      return;
    }
    res.writeHead(404, { "Content-Type": "text/plain" });
    res.end("not found\n");
  });
  server.keepAliveTimeout = 5_000;
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
