import { afterEach, describe, expect, it } from "vitest";
import { createWatchMetrics } from "./metrics";
import { type StatusServer, startStatusServer } from "./status-server";

let server: StatusServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe("status server", () => {
  it("serves /metrics, /healthz and /readyz (503 with the reason until ready)", async () => {
    const metrics = createWatchMetrics({ processMetrics: false });
    metrics.receiverRequest(200);
    let ready: true | string = "inputs not open yet";
    server = await startStatusServer({ port: 0, registry: metrics.registry, ready: () => ready });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const m = await fetch(`${server.url}/metrics`);
    expect(m.status).toBe(200);
    expect(m.headers.get("content-type")).toContain("text/plain");
    expect(await m.text()).toContain('kaudit_receiver_requests_total{code="200"} 1');

    const h = await fetch(`${server.url}/healthz`);
    expect([h.status, await h.text()]).toEqual([200, "ok\n"]);

    const r1 = await fetch(`${server.url}/readyz`);
    expect([r1.status, await r1.text()]).toEqual([503, "inputs not open yet\n"]);
    ready = true;
    const r2 = await fetch(`${server.url}/readyz`);
    expect([r2.status, await r2.text()]).toEqual([200, "ok\n"]);
  });

  it.each([
    ["GET", "/nope", 404],
    ["POST", "/metrics", 405],
    ["DELETE", "/healthz", 405],
    ["GET", "/metrics?x=1", 200],
  ])("%s %s → %i", async (method, path, status) => {
    server = await startStatusServer({
      port: 0,
      registry: createWatchMetrics({ processMetrics: false }).registry,
    });
    const r = await fetch(`${server.url}${path}`, { method });
    expect(r.status).toBe(status);
    await r.text();
  });
});
