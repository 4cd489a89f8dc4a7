import type { Command } from "commander";
import type { CliContext } from "../context";
import { runWatch, type WatchOptions } from "./run-watch";

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
      --client-ca-file ca.crt --rules k8s_audit_rules.yaml --alerts-out alerts.jsonl`,
    )
    .action(async (opts: WatchOptions) => {
      result.code = await runWatch(ctx, opts);
    });
}
