import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { WatchAlert } from "./alert";
import { createAlertmanagerOutput } from "./alertmanager-output";
import type { HttpAlertOutput } from "./http-output";
import type { OutputDrop, OutputFailure } from "./output";
import { createWebhookOutput } from "./webhook-output";

type Answer = { status: number; headers?: Record<string, string>; delayMs?: number };

/** A receiver answering from a script (then 200), keeping every body it got. */
async function scripted(script: Answer[] = []) {
  const bodies: unknown[][] = [];
  const answers = [...script];
  let hang = false;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (b: Buffer) => chunks.push(b));
    req.on("end", () => {
      if (hang) return; // never answers
      const a = answers.shift() ?? { status: 200 };
      const reply = () => {
        if (a.status >= 200 && a.status < 300) {
          bodies.push(JSON.parse(Buffer.concat(chunks).toString("utf8")));
        }
        res.writeHead(a.status, { "Content-Type": "application/json", ...(a.headers ?? {}) });
        res.end(a.status >= 400 ? '{"error":"scripted failure"}' : "");
      };
      if (a.delayMs) setTimeout(reply, a.delayMs);
      else reply();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    bodies,
    hang(on: boolean) {
      hang = on;
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

const alert = (i: number): WatchAlert => ({
  time: new Date(Date.UTC(2026, 11, 1, 10, 0, i)).toISOString(),
  rule: "Attach/Exec Pod",
  priority: "Notice",
  source: "k8s_audit",
  output: `exec ${i}`,
  output_fields: { "ka.user.name": `user-${i}` },
  tags: ["k8s"],
});

function watch(out: HttpAlertOutput) {
  const drops: OutputDrop[] = [];
  const failures: OutputFailure[] = [];
  out.on("drop", (d: OutputDrop) => drops.push(d));
  out.on("failure", (f: OutputFailure) => failures.push(f));
  return { drops, failures };
}

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

describe("HTTP outputs", () => {
  it("Alertmanager output POSTs /api/v2/alerts with the v2 shape, in order", async () => {
    const rx = await scripted();
    cleanup.push(rx.close);
    const am = createAlertmanagerOutput({
      url: rx.url,
      describe: (rule) => (rule === "Attach/Exec Pod" ? "exec into a pod" : undefined),
    });
    for (let i = 0; i < 100; i++) am.send(alert(i));
    await am.close();
    const all = rx.bodies.flat() as Array<{
      labels: Record<string, string>;
      annotations: Record<string, string>;
      startsAt: string;
    }>;
    expect(all).toHaveLength(100);
    expect(all.map((a) => a.annotations.summary)).toEqual(
      Array.from({ length: 100 }, (_, i) => `exec ${i}`),
    );
    expect(all[3]).toEqual({
      labels: {
        alertname: "Attach/Exec Pod",
        severity: "notice",
        source: "kaudit",
        ka_user_name: "user-3",
      },
      annotations: { summary: "exec 3", description: "exec into a pod" },
      startsAt: alert(3).time,
    });
    expect(rx.bodies.length).toBeGreaterThan(1); // batches of 64
    expect(am.stats()).toMatchObject({ sent: 100, dropped: 0, queued: 0 });
  });

  it("retries 503 and honours 429 Retry-After, then delivers", async () => {
    const rx = await scripted([
      { status: 503 },
      { status: 429, headers: { "Retry-After": "1" } },
      { status: 502 },
    ]);
    cleanup.push(rx.close);
    const out = createWebhookOutput({ url: `${rx.url}/hook`, initialBackoff: 20 });
    const seen = watch(out);
    const t0 = Date.now();
    out.send(alert(1));
    await new Promise<void>((r) => out.once("sent", () => r()));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000); // waited the Retry-After
    expect(seen.failures.map((f) => [f.error.message, f.retrying])).toEqual([
      [expect.stringContaining("HTTP 503"), true],
      [expect.stringContaining("HTTP 429"), true],
      [expect.stringContaining("HTTP 502"), true],
    ]);
    expect(rx.bodies).toEqual([[alert(1)]]);
    expect(seen.drops).toEqual([]);
    await out.close();
  });

  it("a 400 is not retried: the batch is dropped as rejected, with the receiver's words", async () => {
    const rx = await scripted([{ status: 400 }]);
    cleanup.push(rx.close);
    const out = createAlertmanagerOutput({ url: rx.url, initialBackoff: 10 });
    const seen = watch(out);
    out.send(alert(1));
    await out.close();
    expect(seen.drops).toHaveLength(1);
    expect(seen.drops[0]).toMatchObject({ reason: "rejected", count: 1 });
    expect(seen.drops[0]!.error?.message).toContain('HTTP 400: {"error":"scripted failure"}');
    expect(out.stats()).toMatchObject({ sent: 0, dropped: 1, failures: 1 });
  });

  it("gives up after maxAttempts, counting the batch as failed", async () => {
    const rx = await scripted(Array.from({ length: 10 }, () => ({ status: 500 })));
    cleanup.push(rx.close);
    const out = createWebhookOutput({ url: rx.url, initialBackoff: 5, maxAttempts: 3 });
    const seen = watch(out);
    out.send(alert(1));
    out.send(alert(2));
    await new Promise<void>((r) => out.once("drop", () => r()));
    expect(seen.failures.map((f) => f.retrying)).toEqual([true, true, false]);
    expect(seen.drops[0]).toMatchObject({ reason: "failed", count: 2 });
    await out.close();
  });

  it("a dead receiver: the queue is bounded, overflow is counted, send never blocks", async () => {
    const rx = await scripted();
    rx.hang(true);
    cleanup.push(rx.close);
    const out = createAlertmanagerOutput({
      url: rx.url,
      queueSize: 100,
      batchSize: 10,
      timeout: 200,
    });
    const seen = watch(out);
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++) out.send(alert(i));
    expect(performance.now() - t0).toBeLessThan(200);
    // 100 wait (the first batch leaves on the next turn), the rest overflowed at once
    const full = seen.drops
      .filter((d) => d.reason === "queue-full")
      .reduce((n, d) => n + d.count, 0);
    expect(full).toBe(900);
    await out.close(300);
    const total = seen.drops.reduce((n, d) => n + d.count, 0);
    expect(total).toBe(1000); // nothing was delivered, every alert is accounted for
    expect(out.stats().dropped).toBe(1000);
    out.send(alert(1)); // after close
    expect(seen.drops.at(-1)).toMatchObject({ reason: "shutdown", count: 1 });
  });

  it("a refused connection is retried like any network error", async () => {
    const rx = await scripted();
    const url = rx.url;
    await rx.close(); // nobody listens there now
    const out = createWebhookOutput({ url, initialBackoff: 5, maxAttempts: 2 });
    const seen = watch(out);
    out.send(alert(1));
    await new Promise<void>((r) => out.once("drop", () => r()));
    expect(seen.failures[0]!.error.message).toMatch(/ECONNREFUSED/);
    expect(seen.drops[0]).toMatchObject({ reason: "failed", count: 1 });
    await out.close();
  });

  it("rejects URLs that are not http(s)", () => {
    expect(() => createWebhookOutput({ url: "ftp://x/y" })).toThrow(
      /only http:\/\/ and https:\/\//,
    );
  });
});
