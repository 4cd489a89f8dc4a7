import { Command, Option } from "commander";
import { coerceFlag, FLAGS, type FlagValues, loadConfigFile } from "./options";
import { startReceiver } from "./receiver";
import { startDemoServer } from "./server";

function optionFor(def: (typeof FLAGS)[number]): Option {
  const flag = def.kind === "bool" ? `--${def.name} [bool]` : `--${def.name} <value>`;
  const o = new Option(flag, `${def.help} (default ${JSON.stringify(def.default)})`);
  o.argParser((raw: string | undefined) =>
    coerceFlag(def, raw === undefined ? true : raw, "command line"),
  );
  return o;
}

function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** Runs the `kaudit-demo` command line (`serve` is the default; `receiver` starts the webhook receiver). */
export async function main(argv: string[] = process.argv): Promise<void> {
  const program = new Command("kaudit-demo")
    .description("A small Kubernetes-style API server that kubectl can drive, audited with kaudit")
    .option(
      "--config <file>",
      "YAML file of flag values (flag names without --); command-line flags win",
    )
    .showHelpAfterError();
  for (const def of FLAGS) program.addOption(optionFor(def));
  program.action(async (raw: Record<string, unknown>) => {
    const flags: FlagValues = {};
    if (typeof raw.config === "string") Object.assign(flags, loadConfigFile(raw.config));
    for (const def of FLAGS) {
      const v = raw[camel(def.name)];
      if (v !== undefined) flags[def.name] = v as string | number | boolean;
    }
    const log = (line: string) => process.stderr.write(`${line}\n`);
    const server = await startDemoServer({ flags, log });
    const out = process.stdout;
    out.write(`kaudit-demo: serving on ${server.url}\n`);
    out.write(`  audit policy:  ${server.policyFile}\n`);
    out.write(`  audit backend: ${String(server.backend)} (log: ${server.auditLogPath})\n`);
    out.write(`  token file:    ${server.files.tokenFile}\n`);
    if (server.files.adminToken) {
      out.write("\nPaste this to drive it with kubectl:\n\n");
      out.write(`  export KUBECONFIG=${server.files.kubeconfigFile}\n\n`);
    }
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      out.write(`kaudit-demo: ${signal}: draining in-flight requests and flushing audit sinks\n`);
      server.shutdown().then(
        ({ undelivered }) => {
          if (undelivered > 0)
            out.write(`kaudit-demo: ${undelivered} audit event(s) could not be delivered\n`);
          out.write("kaudit-demo: stopped\n");
          process.exit(0);
        },
        (err: unknown) => {
          process.stderr.write(`kaudit-demo: shutdown failed: ${String(err)}\n`);
          process.exit(1);
        },
      );
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
  });
  // Options after a subcommand belong to it: `receiver --port` is the receiver's port, not
  // the server's flag of the same name (issue 12 item 8).
  program.enablePositionalOptions();
  program
    .command("receiver")
    .description(
      "An HTTPS audit webhook receiver (client certificates required) appending events to a file",
    )
    .option("--port <port>", "port to listen on (0 = any free port)", "8443")
    .option("--bind-address <ip>", "address to listen on", "127.0.0.1")
    .option(
      "--out <file>",
      "file the events are appended to, one JSON line each",
      ".kaudit/webhook-events.jsonl",
    )
    .option(
      "--data-dir <dir>",
      "where the receiver's CA, certificates and sender kubeconfig go (kept across restarts)",
      ".kaudit/receiver",
    )
    .option("--regenerate-certs", "make a new CA and certificates even if the data dir has them")
    .option("--max-body-bytes <n>", "largest request body; larger gets 413", "12582912")
    .option("--max-event-bytes <n>", "largest event; larger ones are dropped and counted", "262144")
    .action(
      async (o: {
        port: string;
        bindAddress: string;
        out: string;
        dataDir: string;
        regenerateCerts?: boolean;
        maxBodyBytes: string;
        maxEventBytes: string;
      }) => {
        const int = (flag: string, v: string) => {
          const n = Number(v);
          if (!Number.isInteger(n) || n < 0) program.error(`--${flag}: not a whole number: ${v}`);
          return n;
        };
        const r = await startReceiver({
          port: int("port", o.port),
          bindAddress: o.bindAddress,
          out: o.out,
          dataDir: o.dataDir,
          regenerateCerts: o.regenerateCerts === true,
          maxBodyBytes: int("max-body-bytes", o.maxBodyBytes),
          maxEventBytes: int("max-event-bytes", o.maxEventBytes),
          log: (l) => process.stderr.write(`${l}\n`),
        });
        process.stdout.write(
          `kaudit-demo receiver: listening on ${r.url}, appending to ${r.outFile}\n`,
        );
        process.stdout.write(
          `  start the server with --audit-webhook-config-file=${r.kubeconfigFile}\n`,
        );
        const stop = () =>
          void r.close().then(() => {
            const s = r.stats;
            process.stdout.write(
              `kaudit-demo receiver: stopped after ${r.events} event(s); dropped ${s.dropped}, duplicated ${s.duplicated}, refused ${s.rejected} request(s)\n`,
            );
            process.exit(0);
          });
        process.on("SIGTERM", stop);
        process.on("SIGINT", stop);
      },
    );
  await program.parseAsync(argv);
}
