import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";

/** What the receiver answers to one POST: a status and headers, or `hang` (never answer). */
export type Answer = { status: number; headers?: Record<string, string>; delay?: number } | "hang";

/** One POST the receiver got. */
export interface Received {
  at: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  items: { auditID: string; [k: string]: unknown }[];
  clientCN: string | undefined;
  answered: number | "hang";
}

/** A webhook receiver on 127.0.0.1 for tests (http or https, optionally requiring client certs). */
export interface TestReceiver {
  url: string;
  port: number;
  requests: Received[];
  /** Requests being answered right now, and the most at once. */
  open: number;
  peakOpen: number;
  /** Decides each answer; default 200. */
  answer: (n: number, req: http.IncomingMessage) => Answer;
  /** Event IDs accepted (answered 2xx), in arrival order. */
  accepted(): string[];
  /** Stops listening and drops connections (the receiver is "down"). */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Starts a receiver; `tls` makes it https (with `requestCert` when `ca` is given). */
export async function startReceiver(options?: {
  tls?: { cert: string; key: string; ca?: string };
  port?: number;
}): Promise<TestReceiver> {
  const hanging = new Set<http.ServerResponse>();
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const answer = r.answer(r.requests.length, req);
      let items: Received["items"] = [];
      try {
        items = (JSON.parse(body) as { items: Received["items"] }).items ?? [];
      } catch {
        items = [];
      }
      const sock = req.socket as TLSSocket;
      const peer =
        typeof sock.getPeerCertificate === "function" ? sock.getPeerCertificate() : undefined;
      r.requests.push({
        at: performance.now(),
        headers: req.headers,
        body,
        items,
        clientCN: peer && "subject" in peer && peer.subject ? String(peer.subject.CN) : undefined,
        answered: answer === "hang" ? "hang" : answer.status,
      });
      if (answer === "hang") {
        hanging.add(res);
        return;
      }
      r.open++;
      r.peakOpen = Math.max(r.peakOpen, r.open);
      const reply = () => {
        r.open--;
        res.writeHead(answer.status, {
          "Content-Type": "application/json",
          ...(answer.headers ?? {}),
        });
        res.end("{}");
      };
      if (answer.delay) setTimeout(reply, answer.delay);
      else reply();
    });
  };
  const make = () =>
    options?.tls
      ? https.createServer(
          {
            cert: options.tls.cert,
            key: options.tls.key,
            ...(options.tls.ca
              ? { ca: options.tls.ca, requestCert: true, rejectUnauthorized: true }
              : {}),
          },
          handler,
        )
      : http.createServer(handler);
  let server = make();
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
    });
  const port = await listen(options?.port ?? 0);
  const scheme = options?.tls ? "https" : "http";
  const r: TestReceiver = {
    url: `${scheme}://127.0.0.1:${port}/audit`,
    port,
    requests: [],
    open: 0,
    peakOpen: 0,
    answer: () => ({ status: 200 }),
    accepted() {
      return r.requests
        .filter((q) => typeof q.answered === "number" && q.answered >= 200 && q.answered < 300)
        .flatMap((q) => q.items.map((i) => i.auditID));
    },
    async stop() {
      for (const res of hanging) res.destroy();
      hanging.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
    async start() {
      server = make();
      await listen(port);
    },
    async close() {
      if (server.listening) await r.stop();
    },
  };
  return r;
}
