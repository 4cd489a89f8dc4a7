/** Test helpers (not exported from the package). */
import http, { type IncomingMessage, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import net from "node:net";
import type {
  Event,
  Level,
  PolicyDecision,
  PolicyEvaluator,
  RequestAttributes,
  Sink,
  Stage,
} from "@kaudit/api";

/** A sink that keeps deep copies of what it receives, and lets a test wait for a stage. */
export class MemorySink implements Sink {
  events: Event[] = [];
  /** What processEvents returns (or resolves to, when `async`). */
  result = true;
  async = false;
  private waiters: { pred: (e: Event) => boolean; resolve: (e: Event) => void }[] = [];
  processEvents(events: readonly Event[]): boolean | Promise<boolean> {
    for (const e of events) {
      const copy = JSON.parse(JSON.stringify(e)) as Event;
      this.events.push(copy);
      this.waiters = this.waiters.filter((w) => {
        if (!w.pred(copy)) return true;
        w.resolve(copy);
        return false;
      });
    }
    return this.async ? Promise.resolve(this.result) : this.result;
  }
  async shutdown(): Promise<void> {}
  toString(): string {
    return "memory";
  }
  /** Resolves with the first event (already received or future) matching. */
  waitFor(pred: (e: Event) => boolean, timeoutMs = 5000): Promise<Event> {
    const found = this.events.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error("timed out waiting for an audit event")),
        timeoutMs,
      );
      this.waiters.push({
        pred,
        resolve: (e) => {
          clearTimeout(t);
          resolve(e);
        },
      });
    });
  }
  /** Waits until the request with this audit ID reached a final stage, then returns its events. */
  async final(auditID: string, stages: Stage[] = ["ResponseComplete", "Panic"]): Promise<Event[]> {
    await this.waitFor((e) => e.auditID === auditID && stages.includes(e.stage));
    // Let anything emitted in the same tick arrive.
    await new Promise((r) => setImmediate(r));
    return this.of(auditID);
  }
  of(auditID: string): Event[] {
    return this.events.filter((e) => e.auditID === auditID);
  }
  stages(auditID: string): Stage[] {
    return this.of(auditID).map((e) => e.stage);
  }
}

/** A policy deciding one level for everything (or per request through a function). */
export function fixedPolicy(
  level: Level | ((attrs: RequestAttributes) => Level),
  extra: Partial<PolicyDecision> = {},
): PolicyEvaluator & { seen: RequestAttributes[] } {
  const seen: RequestAttributes[] = [];
  return {
    seen,
    evaluate(attrs) {
      seen.push(attrs);
      return {
        level: typeof level === "function" ? level(attrs) : level,
        omitStages: extra.omitStages ?? [],
        omitManagedFields: extra.omitManagedFields ?? false,
        ruleIndex: 0,
      };
    },
  };
}

/** Starts a server on 127.0.0.1:0. */
export async function listen(
  handler: RequestListener | Server,
): Promise<{ server: Server; port: number; close: () => Promise<void> }> {
  const server = typeof handler === "function" ? http.createServer(handler) : handler;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections?.();
        server.close(() => r());
      }),
  };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP request over a fresh connection. */
export function request(
  port: number,
  opts: {
    method?: string;
    path?: string;
    headers?: Record<string, string | string[]>;
    body?: string | Buffer;
  },
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        method: opts.method ?? "GET",
        path: opts.path ?? "/",
        headers: opts.headers,
        agent: false,
      },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(opts.body);
  });
}

/** Sends raw bytes and collects everything until the server closes (or `until` matches). */
export function rawExchange(port: number, data: string, until?: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    let got = "";
    sock.on("data", (d) => {
      got += d.toString("latin1");
      if (until?.test(got)) {
        sock.destroy();
        resolve(got);
      }
    });
    sock.on("end", () => resolve(got));
    sock.on("close", () => resolve(got));
    sock.on("error", reject);
    sock.write(data, "latin1");
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The outer panic recovery a server puts around an audited handler (kube's WithPanicRecovery):
 * a thrown error or rejected promise is answered with 500 (or the connection is cut when
 * headers are out), and recorded in `errors`.
 */
export function recovering(
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => unknown,
  errors: unknown[] = [],
): RequestListener {
  const recover = (res: http.ServerResponse, err: unknown) => {
    errors.push(err);
    if (res.headersSent) res.destroy();
    else {
      res.statusCode = 500;
      res.end("recovered");
    }
  };
  return (req, res) => {
    try {
      const r = handler(req, res) as Promise<unknown> | undefined;
      if (r && typeof r.then === "function") r.then(undefined, (e) => recover(res, e));
    } catch (e) {
      recover(res, e);
    }
  };
}

/** Opens a raw connection, sends a request head, and gives the socket back. */
export function openRaw(port: number, head: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1", () => {
      sock.write(head);
      resolve(sock);
    });
    sock.on("error", reject);
  });
}
