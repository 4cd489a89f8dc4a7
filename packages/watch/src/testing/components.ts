/**
 * Real Prometheus and Alertmanager for tests: started on free loopback ports with configs
 * written here, each with its own storage directory, stopped by the test. Not exported.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import net from "node:net";
import { join } from "node:path";

export const ALERTMANAGER_BIN = "/usr/bin/prometheus-alertmanager";
export const PROMETHEUS_BIN = "/usr/bin/prometheus";

/**
 * Whether the binary is there. Outside CI a missing binary skips the test (with the reason);
 * in CI it is a failure, since `.ci/run` installs them.
 */
export function haveBinary(bin: string): boolean {
  if (existsSync(bin)) return true;
  if (process.env.CI) {
    throw new Error(`${bin} is missing (CI installs it with scripts/ci-deps.sh)`);
  }
  console.warn(
    `skipping: ${bin} is not installed (apt-get install prometheus prometheus-alertmanager)`,
  );
  return false;
}

/** A port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** A started component. */
export interface Component {
  url: string;
  port: number;
  child: ChildProcess;
  /** What it printed, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

async function waitReady(url: string, child: ChildProcess, log: () => string, ms = 30_000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}:\n${log()}`);
    try {
      const r = await fetch(`${url}/-/ready`);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} not ready within ${ms} ms:\n${log()}`);
}

async function start(bin: string, args: string[], port: number): Promise<Component> {
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const keep = (b: Buffer) => {
    out = (out + b.toString("utf8")).slice(-20_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const url = `http://127.0.0.1:${port}`;
  const c: Component = {
    url,
    port,
    child,
    log: () => out,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const t = setTimeout(() => child.kill("SIGKILL"), 5_000);
        child.once("exit", () => {
          clearTimeout(t);
          resolve();
        });
        child.kill("SIGTERM");
      }),
  };
  try {
    await waitReady(url, child, c.log);
  } catch (e) {
    await c.stop();
    throw e;
  }
  return c;
}

/** Starts Alertmanager with one receiver that goes nowhere (the test reads its API). */
export async function startAlertmanager(dir: string): Promise<Component> {
  await mkdir(join(dir, "am-data"), { recursive: true });
  const config = join(dir, "alertmanager.yml");
  await writeFile(
    config,
    [
      "route:",
      "  receiver: blackhole",
      "  group_wait: 1s",
      "  group_interval: 1s",
      "receivers:",
      "  - name: blackhole",
      "",
    ].join("\n"),
  );
  const port = await freePort();
  return start(
    ALERTMANAGER_BIN,
    [
      `--config.file=${config}`,
      `--storage.path=${join(dir, "am-data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--cluster.listen-address=",
      "--log.level=warn",
    ],
    port,
  );
}

/** Starts Prometheus scraping `targets` (host:port) every second. */
export async function startPrometheus(dir: string, targets: string[]): Promise<Component> {
  await mkdir(join(dir, "prom-data"), { recursive: true });
  const config = join(dir, "prometheus.yml");
  await writeFile(
    config,
    [
      "global:",
      "  scrape_interval: 1s",
      "  evaluation_interval: 1s",
      "scrape_configs:",
      "  - job_name: kaudit",
      "    static_configs:",
      `      - targets: [${targets.map((t) => `"${t}"`).join(", ")}]`,
      "",
    ].join("\n"),
  );
  const port = await freePort();
  return start(
    PROMETHEUS_BIN,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, "prom-data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ],
    port,
  );
}

/** Alertmanager's active alerts (`GET /api/v2/alerts`). */
export async function alertmanagerAlerts(
  am: Component,
): Promise<
  Array<
    { labels: Record<string, string>; annotations: Record<string, string> } & Record<
      string,
      unknown
    >
  >
> {
  const r = await fetch(`${am.url}/api/v2/alerts`);
  if (!r.ok) throw new Error(`GET /api/v2/alerts: ${r.status}`);
  return (await r.json()) as never;
}

/** An instant query through Prometheus' HTTP API: the series and their values. */
export async function promQuery(
  prom: Component,
  query: string,
): Promise<Array<{ metric: Record<string, string>; value: number }>> {
  const r = await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await r.json()) as {
    status: string;
    error?: string;
    data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
  };
  if (body.status !== "success") throw new Error(`${query}: ${body.error}`);
  return (body.data?.result ?? []).map((s) => ({ metric: s.metric, value: Number(s.value[1]) }));
}

/** Polls `probe` until it returns a value that `ok` accepts, or throws the last one after `ms`. */
export async function eventually<T>(
  probe: () => Promise<T>,
  ok: (v: T) => boolean,
  ms = 20_000,
): Promise<T> {
  const until = Date.now() + ms;
  let last: T | undefined;
  let lastErr: unknown;
  while (Date.now() < until) {
    try {
      last = await probe();
      if (ok(last)) return last;
    } catch (e) {
      lastErr = e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(
    `condition not met within ${ms} ms; last value: ${JSON.stringify(last)}${lastErr ? `; last error: ${String(lastErr)}` : ""}`,
  );
}
