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
  type NatsDetector,
  type OutputDrop,
  parseWatchConfig,
  receiverInput,
  type StatusServer,
  startNatsDetector,
  startStatusServer,
  type WatchConfig,
  type WatchInput,
} from "@kaudit/watch";
import type { CliContext } from "../context";
import { CliError, EXIT_OK, EXIT_USAGE, errnoText, fileError } from "../errors";
import { commonFlags, listenFlags, positionFileFor, usage } from "./flags";
import { detectorFlags, fleetFlags, runCollector } from "./run-fleet";

/** Options of `kaudit watch`: the flags, which win over a `--config` file's settings. */
export interface WatchOptions extends WatchConfig {
  config?: string | undefined;
}

/** How often drop and failure messages are summed up on stderr at most, ms. */
const REPORT_EVERY = 10_000;

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
  if (o.toNats && o.fromNats) {
    throw usage("--to-nats (collector) and --from-nats (detector) are two processes: give one");
  }
  if (o.toNats) return runCollector(ctx, o);
  const fleet = o.fromNats ? fleetFlags(o, o.fromNats) : undefined;
  const assigned = fleet ? detectorFlags(o, fleet) : undefined;
  if (!fleet) {
    const stray = (Object.keys(o) as (keyof WatchConfig)[]).filter((k) => k.startsWith("nats"));
    if (stray.length) {
      const flag = stray[0]!.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
      throw usage(`--${flag} needs --to-nats or --from-nats`);
    }
  }
  if (fleet && (follow.length || o.listen || o.positionFile)) {
    throw usage(
      "--from-nats reads the stream the --to-nats collectors fill: --follow, --position-file and --listen belong to the collectors",
    );
  }
  if (!fleet && follow.length === 0 && !o.listen) {
    throw usage(
      "nothing to read: give --follow PATH and/or --listen HOST:PORT (or --from-nats URL)",
    );
  }
  const { metricsAt } = commonFlags(o);
  const listen = listenFlags(o);
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

  // Inputs: the fleet's partitions, or followed logs and the receiver.
  const inputs: WatchInput[] = [];
  let detector: NatsDetector | undefined;
  if (fleet && assigned) {
    say(`connecting to NATS at ${fleet.access.servers.join(", ")}`);
    try {
      detector = await startNatsDetector({
        ...fleet.access,
        stream: fleet.stream,
        prefix: fleet.prefix,
        partitions: fleet.partitions,
        replicas: fleet.replicas,
        assign: assigned.assign,
        consumer: assigned.consumer,
        rules: { files: ruleFiles, timeZone: o.timeZone },
        ...(o.from ? { from: o.from as "start" | "end" } : {}),
        outputs,
        metrics,
        onWarning: (m) => say(`warning: ${m}`),
      });
    } catch (e) {
      await Promise.all(outputs.map((x) => x.close(1000)));
      throw new CliError(`kaudit watch: --from-nats: ${(e as Error).message}`, EXIT_USAGE, {
        cause: e,
      });
    }
    inputs.push(...detector.inputs);
    say(
      `reading partitions ${o.natsAssign ?? "all"} of ${fleet.partitions} (${fleet.prefix}.<p> and ${fleet.prefix}.ip.<p>) of stream ${fleet.stream} as ${assigned.consumer}; checkpoints in ${fleet.stream}_checkpoints`,
    );
  }
  for (const path of follow) {
    const follower = followLog(path, {
      ...(o.from ? { from: o.from as "start" | "end" } : {}),
      ...(o.positionFile
        ? { positionFile: positionFileFor(o.positionFile, path, follow.length > 1) }
        : {}),
    });
    inputs.push(followInput(follower, { name: `file:${path}`, metrics }));
  }
  if (listen) {
    let receiver: Awaited<ReturnType<typeof createWebhookReceiver>>;
    try {
      receiver = await createWebhookReceiver({
        host: listen.host,
        port: listen.port,
        tls: listen.tls,
        ...(o.tokenAuthFile
          ? { tokenFile: o.tokenAuthFile, onWarning: (m: string) => say(`warning: ${m}`) }
          : {}),
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
      detector?.reload(ruleFiles);
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
    say(
      `${signal}: stopping (flushing alerts, ${detector ? "storing checkpoints" : "saving positions"})`,
    );
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
      `${detector ? `${detector.plan.ip.length} of them on the source-IP partitions; ` : ""}` +
      `alerts to ${outputs.map((x) => x.name).join(", ")}`,
  );
  ready = true;
  try {
    await watcher.run();
    // Inputs only end when stopped (or a file input gave up): finish like a SIGTERM.
    stop("inputs ended");
    await stopping;
    // Every event handed over is evaluated: the last checkpoints cover them all.
    await detector?.close();
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

function describe(rules: RuleSet): Map<string, string> {
  return new Map(rules.rules.map((r) => [r.name, r.desc]));
}
