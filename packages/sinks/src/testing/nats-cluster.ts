import { connect } from "nats";
import { freePort, type NatsServer, startNatsServer } from "./nats-server";

/** A JetStream cluster of `nats-server -js` processes on loopback, started by a test. */
export interface NatsCluster {
  /** Client URL of each node, `nats://127.0.0.1:<port>`. */
  urls: string[];
  /** Every client URL, comma-separated (what `--to-nats` / `--audit-nats-servers` take). */
  servers: string;
  /** The nodes' server names (`n0`, `n1`, …), as stream cluster info names them. */
  names: string[];
  /** Process ids of the running nodes (undefined for one that is down). */
  pids(): (number | undefined)[];
  /** kill -9 node `i`, as a crash would. */
  kill(i: number): Promise<void>;
  /** Starts node `i` again on its ports and store (killing it first if it runs). */
  restart(i: number): Promise<void>;
  /** Resolves once JetStream answers with a meta leader (after start, a kill or a restart). */
  ready(timeoutMs?: number): Promise<void>;
  /** Stops every node and removes the stores. */
  stop(): Promise<void>;
}

/**
 * Starts `nodes` nats-server processes with JetStream, each with its own store directory, joined
 * by cluster routes on free loopback ports, and waits until the cluster has elected its JetStream
 * meta leader (streams with replicas can be created then).
 */
export async function startNatsCluster(options: { nodes?: number } = {}): Promise<NatsCluster> {
  const n = options.nodes ?? 3;
  const clientPorts = await Promise.all(Array.from({ length: n }, () => freePort()));
  const routePorts = await Promise.all(Array.from({ length: n }, () => freePort()));
  const routes = routePorts.map((p) => `nats://127.0.0.1:${p}`).join(",");
  const names = clientPorts.map((_, i) => `n${i}`);
  const nodes: NatsServer[] = [];
  try {
    // Started together: each waits for its routes, and JetStream needs a quorum to elect a leader.
    const started = await Promise.allSettled(
      clientPorts.map((port, i) =>
        startNatsServer({
          port,
          extraArgs: [
            "--server_name",
            names[i]!,
            "--cluster_name",
            "kaudit",
            "--cluster",
            `nats://127.0.0.1:${routePorts[i]}`,
            "--routes",
            routes,
          ],
        }),
      ),
    );
    for (const s of started) if (s.status === "fulfilled") nodes.push(s.value);
    const failed = started.find((s) => s.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
  } catch (err) {
    await Promise.all(nodes.map((s) => s.stop()));
    throw err;
  }
  const urls = nodes.map((s) => s.url);
  const ready = async (timeoutMs = 30_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
      try {
        const nc = await connect({ servers: urls, timeout: 2000 });
        try {
          const jsm = await nc.jetstreamManager({ timeout: 2000 });
          await jsm.getAccountInfo();
          return;
        } finally {
          await nc.close();
        }
      } catch (err) {
        last = err;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`JetStream cluster not ready in ${timeoutMs} ms: ${String(last)}`);
  };
  const cluster: NatsCluster = {
    urls,
    servers: urls.join(","),
    names,
    pids: () => nodes.map((s) => s.pid()),
    kill: (i) => nodes[i]!.kill(),
    restart: (i) => nodes[i]!.restart(),
    ready,
    stop: async () => {
      await Promise.all(nodes.map((s) => s.stop()));
    },
  };
  try {
    await ready();
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}
