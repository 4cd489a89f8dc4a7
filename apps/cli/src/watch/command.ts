import type { Command } from "commander";
import type { CliContext } from "../context";
import type { WatchOptions } from "./run-watch";

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Adds `kaudit watch` to the program; its exit code goes to `result.code`. */
export function registerWatch(program: Command, ctx: CliContext, result: { code: number }): void {
  program
    .command("watch")
    .description(
      "watch audit events live: follow logs and/or receive kube's audit webhook, alert with rules, export metrics",
    )
    .option(
      "--rules <file>",
      "Falco rules file (repeatable; default: kaudit's rule set)",
      collect,
      [],
    )
    .option("--follow <path>", "follow this audit log across rotation (repeatable)", collect, [])
    .option(
      "--from <where>",
      "a followed log without a saved position starts at its start or end (default end)",
    )
    .option("--position-file <file>", "keep the followed position here, to resume after a restart")
    .option("--listen <host:port>", "receive kube-apiserver's audit webhook here (HTTPS)")
    .option("--tls-cert-file <file>", "the receiver's certificate (PEM)")
    .option("--tls-private-key-file <file>", "the receiver's private key (PEM)")
    .option("--client-ca-file <file>", "accept senders with a client certificate signed by this CA")
    .option(
      "--token-auth-file <file>",
      "accept bearer tokens from this static token CSV (kube's format)",
    )
    .option("--alertmanager <url>", "send alerts to this Alertmanager (repeatable)", collect, [])
    .option("--alert-webhook <url>", "POST alerts as JSON to this URL (repeatable)", collect, [])
    .option(
      "--alerts-out <file>",
      "write alerts as JSON lines here (- = standard output, the default)",
    )
    .option("--metrics-address <host:port>", "serve /metrics, /healthz and /readyz here")
    .option(
      "--time-zone <tz>",
      "time zone of kaudit.hour / kaudit.weekday and of time windows (default UTC)",
    )
    .option(
      "--config <file>",
      "read these settings from a YAML file (keys as the flags; flags win)",
    )
    .option(
      "--to-nats <urls>",
      "collector tier: publish what --follow/--listen read to this NATS JetStream (comma-separated URLs), evaluate nothing",
    )
    .option(
      "--from-nats <urls>",
      "detector tier: evaluate the rules on the events of the --nats-assign partitions of this NATS JetStream",
    )
    .option("--nats-stream <name>", "the JetStream stream (default KAUDIT)")
    .option(
      "--nats-subject <prefix>",
      "subject prefix: <prefix>.<p> and <prefix>.ip.<p> (default audit)",
    )
    .option(
      "--nats-partitions <n>",
      "partitions of each family, the same on every collector and detector (default 16)",
    )
    .option(
      "--nats-replicas <n>",
      "replicas of the stream and the checkpoint bucket when kaudit creates them (default 1)",
    )
    .option(
      "--nats-max-bytes <size>",
      "largest size of the stream when kaudit creates it, e.g. 50GiB (default unlimited)",
    )
    .option(
      "--nats-consumer <name>",
      "detector: the fleet's consumer name, the same on every detector (default kaudit)",
    )
    .option(
      "--nats-assign <list>",
      "detector: the partitions it reads, e.g. 0-7 or 0,2,4-6 (default all)",
    )
    .option("--nats-creds <file>", "a NATS .creds file")
    .option("--nats-ca-file <file>", "CA the NATS servers' certificates must chain to (TLS on)")
    .option("--nats-cert-file <file>", "client certificate for NATS (PEM)")
    .option("--nats-key-file <file>", "its private key (PEM)")
    .addHelpText(
      "after",
      `
Runs until SIGTERM or SIGINT: then it stops reading, delivers queued alerts, saves the
followed positions and exits 0. SIGHUP reloads the rules files (threshold windows are kept;
a broken file keeps the rules in use and says why on stderr).

Examples:
  $ kaudit watch --follow /var/log/kube-apiserver/audit.log --position-file /var/lib/kaudit/audit.pos \\
      --alertmanager http://127.0.0.1:9093 --metrics-address 127.0.0.1:9464
  $ kaudit watch --listen 0.0.0.0:8443 --tls-cert-file tls.crt --tls-private-key-file tls.key \\
      --client-ca-file ca.crt --rules k8s_audit_rules.yaml --alerts-out alerts.jsonl

A fleet (see "Running kaudit for a fleet" in the README): collectors publish, detectors evaluate.
  $ kaudit watch --to-nats nats://nats-1:4222,nats://nats-2:4222 --nats-replicas 3 \\
      --follow /var/log/kube-apiserver/audit.log --position-file /var/lib/kaudit/audit.pos
  $ kaudit watch --from-nats nats://nats-1:4222,nats://nats-2:4222 --nats-assign 0-7 \\
      --alertmanager http://127.0.0.1:9093`,
    )
    .action(async (opts: WatchOptions) => {
      // Imported here: @kaudit/watch (prom-client, yaml) would cost every other command's start-up.
      const { runWatch } = await import("./run-watch");
      result.code = await runWatch(ctx, opts);
    });
}
