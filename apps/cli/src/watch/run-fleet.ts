import { readFileSync } from "node:fs";
import { createWebhookReceiver, followLog } from "@kaudit/sources";
import {
  createWatchMetrics,
  type NatsAccess,
  parseAssignment,
  receiverMetrics,
  type StatusServer,
  startNatsCollector,
  startStatusServer,
  type WatchConfig,
} from "@kaudit/watch";
import type { CliContext } from "../context";
import { CliError, EXIT_OK, EXIT_USAGE, errnoText, fileError } from "../errors";
import { commonFlags, listenFlags, positionFileFor, usage } from "./flags";

/** The NATS settings shared by both tiers, checked. */
export interface FleetFlags {
  access: NatsAccess;
  stream: string;
  prefix: string;
  partitions: number;
  replicas: number;
}

function wholeNumber(
  value: string | undefined,
  flag: string,
  min: number,
  max: number,
  dflt: number,
): number {
  if (value === undefined) return dflt;
  const n = Number(value);
  if (!/^\d+$/.test(String(value).trim()) || n < min || n > max) {
    throw usage(`${flag} ${JSON.stringify(value)}: expected a whole number from ${min} to ${max}`);
  }
  return n;
}

/** `10GiB`, `512MB`, `1073741824` → bytes. */
function byteSize(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const m = /^\s*(\d+)\s*(|k|ki|m|mi|g|gi|t|ti)b?\s*$/i.exec(value);
  if (!m)
    throw usage(
      `${flag} ${JSON.stringify(value)}: expected a size like 10GiB, 512MB or 1073741824`,
    );
  const unit = m[2]!.toLowerCase();
  const pow = { "": 0, k: 1, m: 2, g: 3, t: 4 }[unit[0] ?? ""] ?? 0;
  const base = unit.endsWith("i") ? 1024 : 1000;
  return Number(m[1]) * base ** pow;
}

/** Reads and checks the `--nats-*` flags; `urls` is the value of --to-nats or --from-nats. */
export function fleetFlags(o: WatchConfig, urls: string): FleetFlags {
  const servers = urls
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (servers.length === 0) throw usage("--to-nats/--from-nats: give at least one NATS URL");
  for (const s of servers) {
    if (!/^(nats|tls):\/\/[^/\s]+$|^[^/\s:]+:\d+$/.test(s)) {
      throw usage(
        `NATS URL ${JSON.stringify(s)}: expected nats://HOST:PORT (or tls://, or HOST:PORT)`,
      );
    }
  }
  const prefix = o.natsSubject ?? "audit";
  if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(prefix)) {
    throw usage(
      `--nats-subject ${JSON.stringify(prefix)}: expected tokens like audit or k8s.audit (no wildcards)`,
    );
  }
  const stream = o.natsStream ?? "KAUDIT";
  if (!/^[A-Za-z0-9_-]+$/.test(stream)) {
    throw usage(`--nats-stream ${JSON.stringify(stream)}: use letters, digits, - and _`);
  }
  for (const [flag, file] of [
    ["--nats-ca-file", o.natsCaFile],
    ["--nats-cert-file", o.natsCertFile],
    ["--nats-key-file", o.natsKeyFile],
    ["--nats-creds", o.natsCreds],
  ] as const) {
    if (file === undefined) continue;
    try {
      readFileSync(file);
    } catch (e) {
      throw fileError(file, e, `${flag}: cannot read`);
    }
  }
  if ((o.natsCertFile === undefined) !== (o.natsKeyFile === undefined)) {
    throw usage("--nats-cert-file and --nats-key-file go together");
  }
  const tls =
    o.natsCaFile || o.natsCertFile
      ? {
          ...(o.natsCaFile ? { caFile: o.natsCaFile } : {}),
          ...(o.natsCertFile ? { certFile: o.natsCertFile } : {}),
          ...(o.natsKeyFile ? { keyFile: o.natsKeyFile } : {}),
        }
      : undefined;
  return {
    access: { servers, ...(tls ? { tls } : {}), ...(o.natsCreds ? { creds: o.natsCreds } : {}) },
    stream,
    prefix,
    partitions: wholeNumber(o.natsPartitions, "--nats-partitions", 1, 4096, 16),
    replicas: wholeNumber(o.natsReplicas, "--nats-replicas", 1, 5, 1),
  };
}

/** The detector's `--nats-consumer` and `--nats-assign`, checked. */
export function detectorFlags(
  o: WatchConfig,
  flags: FleetFlags,
): { consumer: string; assign: number[] } {
  const consumer = o.natsConsumer ?? "kaudit";
  if (!/^[A-Za-z0-9_-]+$/.test(consumer)) {
    throw usage(`--nats-consumer ${JSON.stringify(consumer)}: use letters, digits, - and _`);
  }
  let assign: number[];
  try {
    assign = parseAssignment(o.natsAssign ?? "all", flags.partitions);
  } catch (e) {
    throw usage(`--nats-assign: ${(e as Error).message}`);
  }
  return { consumer, assign };
}

/**
 * `kaudit watch --to-nats URL`: the collector tier. Follows logs and/or receives kube's webhook
 * and publishes every event to JetStream on both partition families; acknowledges the source only
 * after the stream did. No rules, no alerts. Runs until SIGTERM/SIGINT: stops reading, waits for
 * the last acks, saves the followed positions, exits 0.
 */
export async function runCollector(ctx: CliContext, o: WatchConfig): Promise<number> {
  const say = (line: string) => ctx.stderr.write(`kaudit watch: ${line}\n`);
  const flags = fleetFlags(o, o.toNats ?? "");
  if (o.rules?.length || o.alertmanager?.length || o.alertWebhook?.length || o.alertsOut) {
    throw usage(
      "--to-nats is the collector tier: it publishes events and evaluates no rules (--rules, --alertmanager, --alert-webhook and --alerts-out belong to the --from-nats detectors)",
    );
  }
  if (o.natsConsumer || o.natsAssign)
    throw usage("--nats-consumer and --nats-assign belong to --from-nats");
  const follow = o.follow ?? [];
  if (follow.length === 0 && !o.listen) {
    throw usage("nothing to read: give --follow PATH and/or --listen HOST:PORT");
  }
  const { metricsAt } = commonFlags(o);
  const listen = listenFlags(o);
  const maxBytes = byteSize(o.natsMaxBytes, "--nats-max-bytes");

  const metrics = createWatchMetrics();
  const pending = new Map<string, number>();
  const note = (what: string) => pending.set(what, (pending.get(what) ?? 0) + 1);
  const flushReports = () => {
    for (const [what, n] of pending) say(`${what} (${n}×)`);
    pending.clear();
  };
  const reporter = setInterval(flushReports, 10_000);
  reporter.unref();

  say(`connecting to NATS at ${flags.access.servers.join(", ")}`);
  let collector: Awaited<ReturnType<typeof startNatsCollector>>;
  try {
    collector = await startNatsCollector({
      ...flags.access,
      stream: flags.stream,
      prefix: flags.prefix,
      partitions: flags.partitions,
      replicas: flags.replicas,
      ...(maxBytes !== undefined ? { maxBytes } : {}),
      metrics,
      onPublishError: (m) => note(`publish failed, retrying: ${m}`),
      onWarning: (m) => say(`warning: ${m}`),
      onProblem: (input, m) => note(`${input}: skipped: ${m}`),
    });
  } catch (e) {
    clearInterval(reporter);
    throw new CliError(`kaudit watch: --to-nats: ${(e as Error).message}`, EXIT_USAGE, {
      cause: e,
    });
  }
  const s = collector.stream.info;
  say(
    `${collector.stream.created ? "created" : "using"} stream ${s.config.name} (${s.config.subjects?.join(", ")}, ${s.config.num_replicas} replica(s), duplicate window ${Math.round(s.config.duplicate_window / 1e9)} s, max bytes ${s.config.max_bytes < 0 ? "unlimited" : s.config.max_bytes}); publishing to ${flags.prefix}.<0-${flags.partitions - 1}> and ${flags.prefix}.ip.<0-${flags.partitions - 1}>`,
  );
  for (const path of follow) {
    const follower = followLog(path, {
      ack: "manual",
      ...(o.from ? { from: o.from as "start" | "end" } : {}),
      ...(o.positionFile
        ? { positionFile: positionFileFor(o.positionFile, path, follow.length > 1) }
        : {}),
    });
    collector.follow(follower, `file:${path}`);
    say(`following ${path}`);
  }
  if (listen) {
    try {
      const receiver = await createWebhookReceiver({
        host: listen.host,
        port: listen.port,
        tls: listen.tls,
        ...(o.tokenAuthFile
          ? { tokenFile: o.tokenAuthFile, onWarning: (m: string) => say(`warning: ${m}`) }
          : {}),
        onEvents: collector.receive("webhook"),
      });
      receiverMetrics(receiver, metrics);
      collector.onClose(() => receiver.close());
      say(`receiving kube-apiserver's audit webhook on ${receiver.url}`);
    } catch (e) {
      await collector.close();
      clearInterval(reporter);
      throw usage(`--listen ${o.listen}: ${errnoText(e)}`);
    }
  }
  let status: StatusServer | undefined;
  if (metricsAt) {
    try {
      status = await startStatusServer({
        host: metricsAt.host,
        port: metricsAt.port,
        registry: metrics.registry,
        ready: () => true,
      });
    } catch (e) {
      await collector.close();
      clearInterval(reporter);
      throw usage(`--metrics-address ${o.metricsAddress}: ${errnoText(e)}`);
    }
    say(`metrics on ${status.url}/metrics (also /healthz, /readyz)`);
  }
  let stopping: Promise<void> | undefined;
  let requested!: () => void;
  const stopRequested = new Promise<void>((r) => {
    requested = r;
  });
  const stop = (why: string) => {
    if (stopping) return;
    say(`${why}: stopping (waiting for the stream's acks, saving positions)`);
    stopping = collector.close();
    requested();
  };
  const onTerm = () => stop("SIGTERM");
  const onInt = () => stop("SIGINT");
  process.on("SIGTERM", onTerm);
  process.on("SIGINT", onInt);
  try {
    // Followers end only when stopped (or their file could not be read); a receiver never does.
    await (listen ? stopRequested : Promise.race([collector.done(), stopRequested]));
    stop("inputs ended");
    await stopping;
  } finally {
    process.off("SIGTERM", onTerm);
    process.off("SIGINT", onInt);
    clearInterval(reporter);
    flushReports();
    await status?.close();
  }
  const c = collector.stats;
  say(
    `stopped: ${c.read} events read, ${c.published} published to ${flags.stream}, ${c.problems} skipped, ${c.refused} webhook batches refused (500, resent by the sender)`,
  );
  return EXIT_OK;
}
