import type { Event, Issue, Sink } from "@kaudit/api";
import { API_VERSION, KauditError } from "@kaudit/api";
import { buffered } from "./buffered";
import type { Kubeconfig } from "./kubeconfig";
import { createLogPlugin } from "./log-plugin";
import type { MetricsRegistry } from "./metrics";
import { createNatsSink, fleetRoutes, type NatsTlsOptions } from "./nats-sink";
import { countReports, ReportingBase } from "./report";
import { truncate } from "./truncate";
import { ignoreErrors, union } from "./union";
import { createWebhookSink } from "./webhook-sink";

/** `batch`, `blocking` or `blocking-strict` (kube-apiserver `--audit-*-mode`). */
export type AuditMode = "batch" | "blocking" | "blocking-strict";

/** The reference's allowed modes, in its order. */
export const AUDIT_MODES: readonly AuditMode[] = ["batch", "blocking", "blocking-strict"];

/** `--audit-*-batch-*` and `--audit-*-truncate-*` flags, camelCased; durations in ms. */
export interface BackendChainOptions {
  /** `--audit-*-mode`. */
  mode?: AuditMode;
  /** `--audit-*-batch-buffer-size`. Default 10000. */
  batchBufferSize?: number;
  /** `--audit-*-batch-max-size`. Default 1 (log), 400 (webhook). */
  batchMaxSize?: number;
  /** `--audit-*-batch-max-wait`, ms. Default 0 (log), 30000 (webhook). */
  batchMaxWait?: number;
  /** `--audit-*-batch-throttle-enable`. Default false (log), true (webhook). */
  batchThrottleEnable?: boolean;
  /** `--audit-*-batch-throttle-qps`. Default 0 (log), 10 (webhook). */
  batchThrottleQPS?: number;
  /** `--audit-*-batch-throttle-burst`. Default 0 (log), 15 (webhook). */
  batchThrottleBurst?: number;
  /** Beyond the reference: spool directory of the batch buffer (see `buffered`). */
  batchSpoolDir?: string;
  /** `--audit-*-truncate-enabled`. Default false. */
  truncateEnabled?: boolean;
  /** `--audit-*-truncate-max-batch-size`. Default 10485760. */
  truncateMaxBatchSize?: number;
  /** `--audit-*-truncate-max-event-size`. Default 102400. */
  truncateMaxEventSize?: number;
  /** `--audit-*-version`. Default `audit.k8s.io/v1` (the only valid one). */
  version?: string;
}

/** `--audit-log-*` flags; the log backend is enabled when `path` is non-empty. */
export interface LogBackendOptions extends BackendChainOptions {
  /** `--audit-log-path`; `-` = standard output. */
  path: string;
  /** `--audit-log-format`: `json` (default) or `legacy`. */
  format?: string;
  /** `--audit-log-maxage`, days. Default 366. */
  maxAge?: number;
  /** `--audit-log-maxbackup`. Default 100. */
  maxBackups?: number;
  /** `--audit-log-maxsize`, MB; 0 = never rotate. Default 100. */
  maxSize?: number;
  /** `--audit-log-compress`. Default false. */
  compress?: boolean;
  /** Beyond the reference: a byte cap across rotated files. */
  maxTotalSize?: number;
  /** Beyond the reference: `"every event"` or an interval in ms. */
  fsync?: "every event" | number;
}

/** `--audit-webhook-*` flags; the webhook backend is enabled when a kubeconfig is given. */
export interface WebhookBackendOptions extends BackendChainOptions {
  /** `--audit-webhook-config-file`: the kubeconfig path. */
  configFile?: string;
  /** Or the kubeconfig itself (path or parsed object). */
  kubeconfig?: string | Kubeconfig;
  /** `--audit-webhook-initial-backoff`, ms. Default 10000. */
  initialBackoff?: number;
  /** Beyond the reference: allow `http://` servers. */
  allowInsecureHttp?: boolean;
  /** Beyond the reference: per-attempt timeout, ms. Default 30000. */
  timeout?: number;
  /** Beyond the reference: concurrent deliveries. Default 64. */
  maxInFlight?: number;
}

/**
 * Beyond the reference: a NATS JetStream backend (`kaudit-demo --audit-nats-*`), enabled when
 * `servers` is non-empty. Each event is published in the fleet layout ({@link fleetRoutes}):
 * `<subject>.<partition of the user>` and `<subject>.ip.<partition of the source IP>`, so
 * `kaudit watch --from-nats` detectors read it like what the collectors publish. The stream must
 * exist (a collector or an operator creates it). Chain defaults: batch mode, 400 events per batch,
 * 100 ms max wait, no throttle.
 */
export interface NatsBackendOptions extends BackendChainOptions {
  /** NATS servers (`nats://host:port`, comma-separated or a list); the client fails over. */
  servers: string | string[];
  /** Subject prefix. Default `audit`. */
  subject?: string;
  /** The stream that must store the subjects (a publish routed elsewhere fails). Default `KAUDIT`. */
  stream?: string;
  /** Partitions; the same number on every sender, collector and detector. Default 16. */
  partitions?: number;
  /** TLS (verification of the server on); PEM file paths. */
  tls?: NatsTlsOptions;
  /** A NATS `.creds` file. */
  creds?: string;
  /** Publishes awaiting their ack at once. Default 1024. */
  maxInFlight?: number;
  /** How long one publish waits for the stream's ack, ms. Default 5000. */
  ackTimeout?: number;
}

/** Options of {@link createAuditBackend}. */
export interface AuditBackendOptions {
  /** The log backend (`--audit-log-*`). */
  log?: LogBackendOptions;
  /** The webhook backend (`--audit-webhook-*`). */
  webhook?: WebhookBackendOptions;
  /** Beyond the reference: the NATS JetStream backend (`--audit-nats-*`). */
  nats?: NatsBackendOptions;
  /** A prom-client Registry for the reference's audit metrics. */
  registry?: MetricsRegistry;
}

/** Invalid backend options; `issues` lists every problem with its option path. */
export class AuditOptionsError extends KauditError {
  /** Every problem found, in the reference's words. */
  readonly issues: Issue[];
  constructor(issues: Issue[]) {
    super(
      `invalid audit backend options:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join("\n")}`,
      {
        name: "AuditOptionsError",
      },
    );
    this.issues = issues;
  }
}

type Plugin = "log" | "webhook" | "nats";

interface Resolved {
  mode: string;
  batchBufferSize: number;
  batchMaxSize: number;
  batchMaxWait: number;
  batchThrottleEnable: boolean;
  batchThrottleQPS: number;
  batchThrottleBurst: number;
  truncateEnabled: boolean;
  truncateMaxBatchSize: number;
  truncateMaxEventSize: number;
  version: string;
}

const DEFAULTS: Record<Plugin, Resolved> = {
  log: {
    mode: "blocking",
    batchBufferSize: 10_000,
    batchMaxSize: 1,
    batchMaxWait: 0,
    batchThrottleEnable: false,
    batchThrottleQPS: 0,
    batchThrottleBurst: 0,
    truncateEnabled: false,
    truncateMaxBatchSize: 10_485_760,
    truncateMaxEventSize: 102_400,
    version: API_VERSION,
  },
  webhook: {
    mode: "batch",
    batchBufferSize: 10_000,
    batchMaxSize: 400,
    batchMaxWait: 30_000,
    batchThrottleEnable: true,
    batchThrottleQPS: 10,
    batchThrottleBurst: 15,
    truncateEnabled: false,
    truncateMaxBatchSize: 10_485_760,
    truncateMaxEventSize: 102_400,
    version: API_VERSION,
  },
  // Like the webhook's chain, but prompt: JetStream acks in about a millisecond, so nothing
  // gains from waiting 30 s for a batch or throttling to 10 batches a second.
  nats: {
    mode: "batch",
    batchBufferSize: 10_000,
    batchMaxSize: 400,
    batchMaxWait: 100,
    batchThrottleEnable: false,
    batchThrottleQPS: 0,
    batchThrottleBurst: 0,
    truncateEnabled: false,
    truncateMaxBatchSize: 10_485_760,
    truncateMaxEventSize: 102_400,
    version: API_VERSION,
  },
};

function resolve(plugin: Plugin, o: BackendChainOptions): Resolved {
  const r = { ...DEFAULTS[plugin] } as Record<string, unknown>;
  for (const [k, v] of Object.entries(o)) if (v !== undefined && k in r) r[k] = v;
  return r as unknown as Resolved;
}

// pkg/server/options/audit.go validateBackendBatchOptions: the first problem only.
function validateBatch(plugin: Plugin, o: Resolved): Issue | undefined {
  if (!(AUDIT_MODES as readonly string[]).includes(o.mode)) {
    return {
      path: "mode",
      message: `invalid audit ${plugin} mode ${o.mode}, allowed modes are "${AUDIT_MODES.join(",")}"`,
    };
  }
  if (o.mode !== "batch") return undefined;
  if (!(o.batchBufferSize > 0)) {
    return {
      path: "batchBufferSize",
      message: `invalid audit batch ${plugin} buffer size ${o.batchBufferSize}, must be a positive number`,
    };
  }
  if (!(o.batchMaxSize > 0)) {
    return {
      path: "batchMaxSize",
      message: `invalid audit batch ${plugin} max batch size ${o.batchMaxSize}, must be a positive number`,
    };
  }
  if (o.batchThrottleEnable) {
    if (!(o.batchThrottleQPS > 0)) {
      return {
        path: "batchThrottleQPS",
        message: `invalid audit batch ${plugin} throttle QPS ${o.batchThrottleQPS}, must be a positive number`,
      };
    }
    if (!(o.batchThrottleBurst > 0)) {
      return {
        path: "batchThrottleBurst",
        message: `invalid audit batch ${plugin} throttle burst ${o.batchThrottleBurst}, must be a positive number`,
      };
    }
  }
  return undefined;
}

// AuditTruncateOptions.Validate, checked even when truncation is off.
function validateTruncate(plugin: Plugin, o: Resolved): Issue | undefined {
  if (!(o.truncateMaxEventSize > 0)) {
    return {
      path: "truncateMaxEventSize",
      message: `invalid audit truncate ${plugin} max event size ${o.truncateMaxEventSize}, must be a positive number`,
    };
  }
  if (o.truncateMaxBatchSize < o.truncateMaxEventSize) {
    return {
      path: "truncateMaxBatchSize",
      message: `invalid audit truncate ${plugin} max batch size ${o.truncateMaxBatchSize}, must be greater than max event size (${o.truncateMaxEventSize})`,
    };
  }
  return undefined;
}

// validateGroupVersionString (apimachinery schema.ParseGroupVersion + the known list).
function validateVersion(version: string): Issue | undefined {
  if ((version.match(/\//g) ?? []).length > 1) {
    return { path: "version", message: `unexpected GroupVersion string: ${version}` };
  }
  if (version !== API_VERSION) {
    return {
      path: "version",
      message: `invalid group version, allowed versions are ["${API_VERSION}"]`,
    };
  }
  return undefined;
}

const LOG_FORMATS = ["legacy", "json"];

/**
 * Checks backend options as kube-apiserver checks its `--audit-log-*` / `--audit-webhook-*`
 * flags (only for enabled backends) and returns every problem, paths prefixed `log.` or `webhook.`.
 */
export function validateAuditBackendOptions(options: AuditBackendOptions): Issue[] {
  const issues: Issue[] = [];
  const add = (prefix: string, i: Issue | undefined) => {
    if (i) issues.push({ path: `${prefix}.${i.path}`, message: i.message });
  };
  const log = options.log;
  if (log?.path) {
    const r = resolve("log", log);
    add("log", validateBatch("log", r));
    add("log", validateTruncate("log", r));
    add("log", validateVersion(r.version));
    const format = log.format ?? "json";
    if (!LOG_FORMATS.includes(format)) {
      add("log", {
        path: "format",
        message: `invalid audit log format ${format}, allowed formats are "${LOG_FORMATS.join(",")}"`,
      });
    }
    for (const [key, flag] of [
      ["maxAge", "maxage"],
      ["maxBackups", "maxbackup"],
      ["maxSize", "maxsize"],
    ] as const) {
      const v = log[key];
      if (v !== undefined && v < 0) {
        add("log", { path: key, message: `--audit-log-${flag} ${v} can't be a negative number` });
      }
    }
  }
  const wh = options.webhook;
  if (wh && webhookEnabled(wh)) {
    const r = resolve("webhook", wh);
    add("webhook", validateBatch("webhook", r));
    add("webhook", validateTruncate("webhook", r));
    add("webhook", validateVersion(r.version));
  }
  const nats = options.nats;
  if (nats && natsEnabled(nats)) {
    const r = resolve("nats", nats);
    add("nats", validateBatch("nats", r));
    add("nats", validateTruncate("nats", r));
    add("nats", validateVersion(r.version));
    const n = nats.partitions ?? 16;
    if (!Number.isInteger(n) || n < 1) {
      add("nats", {
        path: "partitions",
        message: `invalid audit nats partitions ${n}, must be a whole number ≥ 1`,
      });
    }
    const subject = nats.subject ?? "audit";
    // A prefix with wildcards or empty tokens would publish where no detector reads.
    if (!/^[^.*>\s]+(\.[^.*>\s]+)*$/.test(subject)) {
      add("nats", {
        path: "subject",
        message: `invalid audit nats subject ${JSON.stringify(subject)}: dot-separated tokens without spaces, * or >`,
      });
    }
  }
  return issues;
}

function natsServers(o: NatsBackendOptions): string[] {
  const list = Array.isArray(o.servers) ? o.servers : [o.servers];
  return list
    .flatMap((s) => s.split(","))
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

function natsEnabled(o: NatsBackendOptions): boolean {
  return natsServers(o).length > 0;
}

function webhookEnabled(o: WebhookBackendOptions): boolean {
  return !!(o.configFile || o.kubeconfig);
}

/** Plugin constructors; replaceable (tests, custom plugins). */
export interface AuditPlugins {
  /** Builds the log plugin (default: `createLogSink`). */
  log?: (options: LogBackendOptions) => Sink;
  /** Builds the webhook plugin (default: `createWebhookSink`). */
  webhook?: (options: WebhookBackendOptions) => Sink;
  /** Builds the NATS plugin (default: `createNatsSink` with {@link fleetRoutes}). */
  nats?: (options: NatsBackendOptions) => Sink;
}

function chain(
  plugin: Plugin,
  sink: Sink,
  r: Resolved,
  o: BackendChainOptions,
  reg: AuditBackendOptions["registry"],
): Sink {
  let s = sink;
  const registry = reg === undefined ? {} : { registry: reg };
  if (r.mode === "batch") {
    s = buffered(s, {
      ...registry,
      bufferSize: r.batchBufferSize,
      maxBatchSize: r.batchMaxSize,
      maxBatchWait: r.batchMaxWait,
      throttleEnable: r.batchThrottleEnable,
      throttleQPS: r.batchThrottleQPS,
      throttleBurst: r.batchThrottleBurst,
      // The reference's log backend is called inline; the webhook gets one goroutine per batch.
      async: plugin !== "log",
      ...(o.batchSpoolDir !== undefined ? { spoolDir: o.batchSpoolDir } : {}),
    });
  } else if (r.mode === "blocking") {
    s = ignoreErrors(s);
  }
  if (r.truncateEnabled) {
    s = truncate(s, {
      ...registry,
      maxEventSize: r.truncateMaxEventSize,
      maxBatchSize: r.truncateMaxBatchSize,
    });
  }
  return s;
}

/** The sink {@link createAuditBackend} returns: the chain, counting `apiserver_audit_event_total`. */
export class AuditBackend extends ReportingBase {
  constructor(
    readonly sink: Sink,
    registry: MetricsRegistry | undefined,
    /** Webhook plugins, given up on when a shutdown's deadline passes. */
    private readonly abortable: readonly { abort(reason: string): void }[] = [],
  ) {
    super(registry === undefined ? {} : { registry });
    this.forward(sink);
  }

  processEvents(events: readonly Event[]): boolean | Promise<boolean> {
    this.metrics?.eventTotal.inc(events.length);
    return this.sink.processEvents(events);
  }

  /**
   * Flushes and shuts the chain down. The reference waits for the webhook's retries (minutes
   * with the receiver down); with `timeout` (ms), once it passes the webhook gives up and
   * everything still undelivered is reported (`error` events, counted) rather than retried.
   */
  async shutdown(options?: { timeout?: number }): Promise<void> {
    const done = this.sink.shutdown();
    const timeout = options?.timeout;
    if (timeout === undefined || this.abortable.length === 0) return done;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"late">((r) => {
      timer = setTimeout(() => r("late"), timeout);
    });
    if ((await Promise.race([done, late])) === "late") {
      for (const a of this.abortable)
        a.abort(`audit webhook not drained within ${timeout} ms of shutdown`);
    }
    clearTimeout(timer);
    await done;
  }

  override toString(): string {
    return String(this.sink);
  }
}

/**
 * Builds kube-apiserver's audit backend from options named after its flags: for each enabled
 * backend the chain truncate? → mode wrapper (`batch` ⇒ `buffered`, `blocking` ⇒
 * `ignoreErrors`, `blocking-strict` ⇒ none) → plugin, both joined by `union`. Defaults are the
 * reference's (log: blocking, batch max size 1; webhook: batch of 400, 10 QPS). Invalid options
 * throw {@link AuditOptionsError} listing every problem; a kubeconfig that cannot be used throws
 * `initializing audit webhook: <reason>`. Beyond the reference, `nats` adds a JetStream backend
 * (see {@link NatsBackendOptions}). With no backend enabled the result is an empty union that
 * records nothing.
 *
 * @example
 * ```ts
 * const backend = createAuditBackend({
 *   log: { path: "/var/log/kube-audit/audit.log" },
 *   webhook: { configFile: "/etc/kubernetes/audit-webhook.yaml" },
 * });
 * String(backend); // "union[ignoreErrors<log>,buffered<webhook>]"
 * ```
 */
export function createAuditBackend(
  options: AuditBackendOptions,
  plugins: AuditPlugins = {},
): AuditBackend {
  const issues = validateAuditBackendOptions(options);
  if (issues.length > 0) throw new AuditOptionsError(issues);
  const sinks: Sink[] = [];
  const abortable: { abort(reason: string): void }[] = [];
  const log = options.log;
  if (log?.path) {
    const plugin = (plugins.log ?? createLogPlugin)(log);
    countReports(plugin, options.registry);
    sinks.push(chain("log", plugin, resolve("log", log), log, options.registry));
  }
  const wh = options.webhook;
  if (wh && webhookEnabled(wh)) {
    let plugin: Sink;
    try {
      plugin = (plugins.webhook ?? defaultWebhook(options.registry))(wh);
    } catch (err) {
      for (const s of sinks) void s.shutdown();
      throw new KauditError(`initializing audit webhook: ${(err as Error).message}`, {
        name: "AuditWebhookInitError",
        cause: err,
      });
    }
    if (typeof (plugin as { abort?: unknown }).abort === "function")
      abortable.push(plugin as unknown as { abort(reason: string): void });
    sinks.push(chain("webhook", plugin, resolve("webhook", wh), wh, options.registry));
  }
  const nats = options.nats;
  if (nats && natsEnabled(nats)) {
    const plugin = (plugins.nats ?? defaultNats(options.registry))(nats);
    countReports(plugin, options.registry);
    sinks.push(chain("nats", plugin, resolve("nats", nats), nats, options.registry));
  }
  const top = sinks.length === 1 ? sinks[0]! : union(...sinks);
  return new AuditBackend(top, options.registry, abortable);
}

function defaultWebhook(registry: MetricsRegistry | undefined) {
  return (o: WebhookBackendOptions): Sink =>
    createWebhookSink({
      kubeconfig: (o.kubeconfig ?? o.configFile)!,
      ...(registry !== undefined ? { registry } : {}),
      ...(o.allowInsecureHttp !== undefined ? { allowInsecureHttp: o.allowInsecureHttp } : {}),
      ...(o.timeout !== undefined ? { timeout: o.timeout } : {}),
      ...(o.initialBackoff !== undefined ? { initialBackoff: o.initialBackoff } : {}),
      ...(o.maxInFlight !== undefined ? { maxInFlight: o.maxInFlight } : {}),
    });
}

function defaultNats(registry: MetricsRegistry | undefined) {
  return (o: NatsBackendOptions): Sink =>
    createNatsSink({
      servers: natsServers(o),
      routes: fleetRoutes(o.subject ?? "audit", o.partitions ?? 16),
      stream: o.stream ?? "KAUDIT",
      ...(registry !== undefined ? { registry } : {}),
      ...(o.tls !== undefined ? { tls: o.tls } : {}),
      ...(o.creds !== undefined ? { creds: o.creds } : {}),
      ...(o.maxInFlight !== undefined ? { maxInFlight: o.maxInFlight } : {}),
      ...(o.ackTimeout !== undefined ? { ackTimeout: o.ackTimeout } : {}),
    });
}
