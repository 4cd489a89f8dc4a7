import { readFileSync } from "node:fs";
import { loadRules, type RuleSet } from "@kaudit/rules";
import { createWebhookReceiver, followLog } from "@kaudit/sources";
import {
  type AlertOutput,
  createAlertmanagerOutput,
  createJsonLinesOutput,
  createWatcher,
  createWatchMetrics,
  createWebhookOutput,
  followInput,
  type OutputDrop,
  parseHostPort,
  parseWatchConfig,
  receiverInput,
  type StatusServer,
  startStatusServer,
  type WatchConfig,
  type WatchInput,
} from "@kaudit/watch";
import type { CliContext } from "../context";
import { CliError, EXIT_OK, EXIT_USAGE, errnoText, fileError } from "../errors";

/** Options of `kaudit watch`: the flags, which win over a `--config` file's settings. */
export interface WatchOptions extends WatchConfig {
  config?: string | undefined;
}

/** How often drop and failure messages are summed up on stderr at most, ms. */
const REPORT_EVERY = 10_000;

function usage(message: string): CliError {
  return new CliError(`kaudit watch: ${message}`, EXIT_USAGE);
}

/** The config file's settings overlaid with the flags that were given. */
function settings(options: WatchOptions): WatchConfig {
  let fromFile: WatchConfig = {};
  if (options.config) {
    let text: string;
    try {
      text = readFileSync(options.config, "utf8");
    } catch (e) {
      throw fileError(options.config, e);
    }
    try {
      fromFile = parseWatchConfig(text, options.config);
    } catch (e) {
      throw new CliError((e as Error).message, EXIT_USAGE, { cause: e });
    }
  }
  const merged: Record<string, unknown> = { ...fromFile };
  for (const [k, v] of Object.entries(options)) {
    if (k === "config" || v === undefined) continue;
    if (Array.isArray(v) && v.length === 0) continue;
    merged[k] = v;
  }
  return merged as WatchConfig;
}

function load(files: string[], timeZone: string | undefined, previous?: RuleSet): RuleSet {
  return loadRules(files, {
    ...(timeZone ? { timeZone } : {}),
    ...(previous ? { state: previous.state } : {}),
  });
}

/** Where the position of the n-th followed path is kept: one path uses the file itself. */
function positionFileFor(
  base: string | undefined,
  path: string,
  many: boolean,
): string | undefined {
  if (base === undefined) return undefined;
  return many ? `${base}.${path.replace(/[^A-Za-z0-9]+/g, "_")}` : base;
}

/**
 * `kaudit watch`: follows logs and/or receives kube's audit webhook, evaluates every event with
 * the rules, sends alerts to the outputs and serves metrics, until SIGTERM or SIGINT (then: stop
 * reading, flush the outputs, save positions, exit 0). SIGHUP reloads the rules, keeping the
 * threshold windows; a broken file keeps the rules in use and says why.
 */
export async function runWatch(ctx: CliContext, options: WatchOptions): Promise<number> {
  const o = settings(options);
  const follow = o.follow ?? [];
  const say = (line: string) => ctx.stderr.write(`kaudit watch: ${line}\n`);
  if (follow.length === 0 && !o.listen) {
    throw usage("nothing to read: give --follow PATH and/or --listen HOST:PORT");
  }
  if (o.from !== undefined && o.from !== "start" && o.from !== "end") {
    throw usage(`--from ${JSON.stringify(o.from)}: expected start or end`);
  }
  const listen = o.listen ? parseAddress(o.listen, "--listen") : undefined;
  const metricsAt = o.metricsAddress
    ? parseAddress(o.metricsAddress, "--metrics-address")
    : undefined;
  let tls: { cert: Buffer; key: Buffer; clientCA?: Buffer } | undefined;
  if (listen) {
    if (!o.tlsCertFile || !o.tlsPrivateKeyFile) {
      throw usage("--listen needs --tls-cert-file and --tls-private-key-file");
    }
    if (!o.clientCaFile && !o.tokenAuthFile) {
      throw usage(
        "--listen needs --client-ca-file and/or --token-auth-file: the receiver accepts only senders it can authenticate",
      );
    }
    tls = {
      cert: readOrFail(o.tlsCertFile),
      key: readOrFail(o.tlsPrivateKeyFile),
      ...(o.clientCaFile ? { clientCA: readOrFail(o.clientCaFile) } : {}),
    };
  }
  const ruleFiles = o.rules ?? [];
  let rules: RuleSet;
  try {
    rules = load(ruleFiles, o.timeZone);
  } catch (e) {
    throw new CliError(`kaudit watch: rules not loaded: ${(e as Error).message}`, EXIT_USAGE, {
      cause: e,
    });
  }
  for (const w of rules.warnings) say(`warning: ${w.file}:${w.line}:${w.column}: ${w.message}`);
  let descriptions = describe(rules);

  const metrics = createWatchMetrics();
  metrics.rulesLoadedCount(rules.rules.length, "initial");

  // Outputs: JSON lines (standard output unless --alerts-out says otherwise), then HTTP ones.
  const outputs: AlertOutput[] = [
    createJsonLinesOutput({ path: o.alertsOut ?? "-", stream: ctx.stdout }),
  ];
  try {
    for (const url of o.alertmanager ?? []) {
      outputs.push(createAlertmanagerOutput({ url, describe: (r) => descriptions.get(r) }));
    }
    for (const url of o.alertWebhook ?? []) outputs.push(createWebhookOutput({ url }));
  } catch (e) {
    throw usage((e as Error).message);
  }

  // Inputs.
  const inputs: WatchInput[] = [];
  for (const path of follow) {
    const follower = followLog(path, {
      ...(o.from ? { from: o.from as "start" | "end" } : {}),
      ...(o.positionFile
        ? { positionFile: positionFileFor(o.positionFile, path, follow.length > 1) }
        : {}),
    });
    inputs.push(followInput(follower, { name: `file:${path}`, metrics }));
  }
  if (listen && tls) {
    let receiver: Awaited<ReturnType<typeof createWebhookReceiver>>;
    try {
      receiver = await createWebhookReceiver({
        host: listen.host,
        port: listen.port,
        tls,
        ...(o.tokenAuthFile ? { tokenFile: o.tokenAuthFile } : {}),
      });
    } catch (e) {
      await Promise.all(inputs.map((i) => i.stop()));
      throw usage(`--listen ${o.listen}: ${errnoText(e)}`);
    }
    inputs.push(receiverInput(receiver, { metrics }));
    say(`receiving kube-apiserver's audit webhook on ${receiver.url}`);
  }

  // Drops and failures are summed up, so a dead Alertmanager does not flood stderr.
  const pending = new Map<string, number>();
  const flushReports = () => {
    for (const [what, n] of pending) say(`${what} (${n}×)`);
    pending.clear();
  };
  const note = (what: string, n = 1) => pending.set(what, (pending.get(what) ?? 0) + n);
  const reporter = setInterval(flushReports, REPORT_EVERY);
  reporter.unref();

  const watcher = createWatcher({
    inputs,
    rules,
    outputs,
    metrics,
    onProblem: (input, p) => note(`${input}: skipped: ${p.message}`),
    onRuleError: (input, e) => note(`${input}: rules failed on an event: ${e.message}`),
    onDrop: (d: OutputDrop) =>
      note(
        `${d.output}: alerts dropped (${d.reason})${d.error ? `: ${d.error.message}` : ""}`,
        d.count,
      ),
    onOutputFailure: (f) => {
      if (f.retrying) note(`${f.output}: delivery failed, retrying: ${f.error.message}`);
    },
  });

  let status: StatusServer | undefined;
  let ready = false;
  if (metricsAt) {
    try {
      status = await startStatusServer({
        host: metricsAt.host,
        port: metricsAt.port,
        registry: metrics.registry,
        ready: () => (ready ? true : "starting"),
      });
    } catch (e) {
      await Promise.all(inputs.map((i) => i.stop()));
      throw usage(`--metrics-address ${o.metricsAddress}: ${errnoText(e)}`);
    }
    say(`metrics on ${status.url}/metrics (also /healthz, /readyz)`);
  }

  const reload = () => {
    try {
      const next = load(ruleFiles, o.timeZone, rules);
      rules = next;
      descriptions = describe(next);
      watcher.setRules(next);
      metrics.rulesLoadedCount(next.rules.length, "ok");
      say(`rules reloaded: ${next.rules.length} rules (threshold windows kept)`);
      for (const w of next.warnings) say(`warning: ${w.file}:${w.line}:${w.column}: ${w.message}`);
    } catch (e) {
      metrics.rulesLoadedCount(0, "error");
      say(
        `rules not reloaded, still using the ${rules.rules.length} rules loaded before: ${(e as Error).message}`,
      );
    }
  };
  let stopping: Promise<void> | undefined;
  const stop = (signal: string) => {
    if (stopping) return;
    say(`${signal}: stopping (flushing alerts, saving positions)`);
    stopping = watcher.stop();
  };
  const onTerm = () => stop("SIGTERM");
  const onInt = () => stop("SIGINT");
  process.on("SIGHUP", reload);
  process.on("SIGTERM", onTerm);
  process.on("SIGINT", onInt);

  say(
    `${rules.rules.length} rules${ruleFiles.length ? "" : " (kaudit's default set)"}; ` +
      `${follow.length ? `following ${follow.join(", ")}; ` : ""}` +
      `alerts to ${outputs.map((x) => x.name).join(", ")}`,
  );
  ready = true;
  try {
    await watcher.run();
    // Inputs only end when stopped (or a file input gave up): finish like a SIGTERM.
    stop("inputs ended");
    await stopping;
  } finally {
    process.off("SIGHUP", reload);
    process.off("SIGTERM", onTerm);
    process.off("SIGINT", onInt);
    clearInterval(reporter);
    flushReports();
    await status?.close();
  }
  const s = watcher.stats();
  const dropped = outputs.reduce((n, x) => n + x.stats().dropped, 0);
  say(
    `stopped: ${s.events} events read, ${s.alerts} alerts, ${s.problems} skipped, ${dropped} alert deliveries dropped`,
  );
  return EXIT_OK;
}

function parseAddress(value: string, flag: string): { host: string; port: number } {
  try {
    return parseHostPort(value, flag);
  } catch (e) {
    throw usage((e as Error).message);
  }
}

function readOrFail(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw fileError(path, e);
  }
}

function describe(rules: RuleSet): Map<string, string> {
  return new Map(rules.rules.map((r) => [r.name, r.desc]));
}
