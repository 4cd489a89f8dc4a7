import { readFileSync } from "node:fs";
import type { AuditBackendOptions, AuditMode, BackendChainOptions } from "@kaudit/sinks";
import { parseDocument, parse as parseYAML } from "yaml";
import { DemoConfigError } from "./auth";

type Kind = "string" | "int" | "float" | "bool" | "duration";

/** One command-line flag: its kube-apiserver name, type, default and help. */
export interface FlagDef {
  name: string;
  kind: Kind;
  default: string | number | boolean;
  help: string;
}

// The chain defaults of each backend (@kaudit/sinks createAuditBackend's): log and webhook are
// kube-apiserver's; nats (beyond kube) batches promptly without a throttle.
const CHAIN_DEFAULTS = {
  log: { mode: "blocking", maxSize: 1, maxWait: "0s", throttle: false, qps: 0, burst: 0 },
  webhook: { mode: "batch", maxSize: 400, maxWait: "30s", throttle: true, qps: 10, burst: 15 },
  nats: { mode: "batch", maxSize: 400, maxWait: "100ms", throttle: false, qps: 0, burst: 0 },
};

const chainFlags = (plugin: "log" | "webhook" | "nats"): FlagDef[] => {
  const d = CHAIN_DEFAULTS[plugin];
  return [
    {
      name: `audit-${plugin}-mode`,
      kind: "string",
      default: d.mode,
      help: `Strategy for sending audit events. Blocking indicates sending events should block server responses. Batch causes the backend to buffer and write events asynchronously. Known modes are batch,blocking,blocking-strict.`,
    },
    {
      name: `audit-${plugin}-batch-buffer-size`,
      kind: "int",
      default: 10000,
      help: "The size of the buffer to store events before batching and writing. Only used in batch mode.",
    },
    {
      name: `audit-${plugin}-batch-max-size`,
      kind: "int",
      default: d.maxSize,
      help: "The maximum size of a batch. Only used in batch mode.",
    },
    {
      name: `audit-${plugin}-batch-max-wait`,
      kind: "duration",
      default: d.maxWait,
      help: "The amount of time to wait before force writing the batch that hadn't reached the max size. Only used in batch mode.",
    },
    {
      name: `audit-${plugin}-batch-throttle-enable`,
      kind: "bool",
      default: d.throttle,
      help: "Whether batching throttling is enabled. Only used in batch mode.",
    },
    {
      name: `audit-${plugin}-batch-throttle-qps`,
      kind: "float",
      default: d.qps,
      help: "Maximum average number of batches per second. Only used in batch mode.",
    },
    {
      name: `audit-${plugin}-batch-throttle-burst`,
      kind: "int",
      default: d.burst,
      help: "Maximum number of requests sent at the same moment if ThrottleQPS was not utilized before. Only used in batch mode.",
    },
    {
      name: `audit-${plugin}-truncate-enabled`,
      kind: "bool",
      default: false,
      help: "Whether event and batch truncating is enabled.",
    },
    {
      name: `audit-${plugin}-truncate-max-batch-size`,
      kind: "int",
      default: 10485760,
      help: "Maximum size of the batch sent to the underlying backend. Actual serialized size can be several hundreds of bytes greater.",
    },
    {
      name: `audit-${plugin}-truncate-max-event-size`,
      kind: "int",
      default: 102400,
      help: "Maximum size of the audit event sent to the underlying backend.",
    },
    {
      name: `audit-${plugin}-version`,
      kind: "string",
      default: "audit.k8s.io/v1",
      help: `API group and version used for serializing audit events written to ${plugin}.`,
    },
  ];
};

/** Every flag of `kaudit-demo` (serve), with kube-apiserver's names and defaults where kube has them. */
export const FLAGS: FlagDef[] = [
  {
    name: "bind-address",
    kind: "string",
    default: "127.0.0.1",
    help: "The IP address on which to listen for the --port port.",
  },
  {
    name: "port",
    kind: "int",
    default: 6443,
    help: "The port on which to serve HTTPS (kube-apiserver's --secure-port; 0 picks a free port).",
  },
  {
    name: "tls-cert-file",
    kind: "string",
    default: "",
    help: "File containing the default x509 certificate for HTTPS. If empty, a self-signed certificate for 127.0.0.1 and localhost is generated in --data-dir.",
  },
  {
    name: "tls-private-key-file",
    kind: "string",
    default: "",
    help: "File containing the default x509 private key matching --tls-cert-file.",
  },
  {
    name: "token-auth-file",
    kind: "string",
    default: "",
    help: 'Static token file (CSV token,user,uid,"group1,group2"). If empty, one with an admin token is generated in --data-dir.',
  },
  {
    name: "anonymous-auth",
    kind: "bool",
    default: true,
    help: "Enables anonymous requests (user system:anonymous, group system:unauthenticated).",
  },
  {
    name: "authorization-policy-file",
    kind: "string",
    default: "",
    help: "ABAC policy file (one JSON Policy per line) for users outside system:masters.",
  },
  {
    name: "max-request-body-bytes",
    kind: "int",
    default: 3145728,
    help: "Limit on a request body; larger bodies get 413 (a larger declared Content-Length at once, unread).",
  },
  {
    name: "max-requests-inflight",
    kind: "int",
    default: 400,
    help: "Maximum number of non-mutating requests in flight at a given time; beyond it the server answers 429. system:masters and long-running requests (watch, logs) are not counted. 0 means no limit.",
  },
  {
    name: "max-mutating-requests-inflight",
    kind: "int",
    default: 200,
    help: "Maximum number of mutating requests in flight at a given time; beyond it the server answers 429. 0 means no limit.",
  },
  {
    name: "request-timeout",
    kind: "duration",
    default: "1m0s",
    help: "How long the server waits for a whole request (headers and body) to arrive; slower clients get 408 and are disconnected.",
  },
  {
    name: "max-connections",
    kind: "int",
    default: 2048,
    help: "Connections held open at once (not a kube-apiserver flag); further connections are closed as they arrive.",
  },
  {
    name: "max-header-bytes",
    kind: "int",
    default: 65536,
    help: "Limit on the request line and headers (kube-apiserver allows 1 MiB; the demo less, so that max-connections × this stays small); larger gets 431.",
  },
  {
    name: "max-watch-buffer-bytes",
    kind: "int",
    default: 4194304,
    help: "Bytes a watch may have queued for a client that does not read (not a kube-apiserver flag); past it the watch is closed, as kube closes a watcher that falls behind. One event always fits.",
  },
  {
    name: "watch-history-events",
    kind: "int",
    default: 5000,
    help: "Events kept for watches that resume from a resourceVersion; older ones answer 410 'too old resource version'.",
  },
  {
    name: "watch-history-bytes",
    kind: "int",
    default: 33554432,
    help: "Bytes of objects (as JSON) kept in the watch history; past it the oldest events go, as past watch-history-events.",
  },
  {
    name: "data-dir",
    kind: "string",
    default: ".kaudit",
    help: "Where generated files go: certificate, token file, kubeconfig and (by default) the audit log.",
  },
  {
    name: "audit-policy-file",
    kind: "string",
    default: "",
    help: "Path to the file that defines the audit policy configuration. Default: the bundled GCE policy (kube-apiserver itself audits nothing without one).",
  },
  {
    name: "audit-log-path",
    kind: "string",
    default: "",
    help: "If set, all requests coming to the apiserver will be logged to this file. '-' means standard out. Default: <data-dir>/audit.log.",
  },
  {
    name: "audit-log-format",
    kind: "string",
    default: "json",
    help: 'Format of saved audits. "legacy" indicates 1-line text format for each event. "json" indicates structured json format. Known formats are legacy,json.',
  },
  {
    name: "audit-log-maxage",
    kind: "int",
    default: 366,
    help: "The maximum number of days to retain old audit log files based on the timestamp encoded in their filename.",
  },
  {
    name: "audit-log-maxbackup",
    kind: "int",
    default: 100,
    help: "The maximum number of old audit log files to retain. Setting a value of 0 will mean there's no restriction on the number of files.",
  },
  {
    name: "audit-log-maxsize",
    kind: "int",
    default: 100,
    help: "The maximum size in megabytes of the audit log file before it gets rotated.",
  },
  {
    name: "audit-log-compress",
    kind: "bool",
    default: false,
    help: "If set, the rotated log files will be compressed using gzip.",
  },
  ...chainFlags("log"),
  {
    name: "audit-webhook-config-file",
    kind: "string",
    default: "",
    help: "Path to a kubeconfig formatted file that defines the audit webhook configuration.",
  },
  {
    name: "audit-webhook-initial-backoff",
    kind: "duration",
    default: "10s",
    help: "The amount of time to wait before retrying the first failed request.",
  },
  {
    // Beyond kube-apiserver, which waits for the webhook's retries (about 90 s with the
    // receiver down): on SIGTERM, give up after this long and report what was not delivered.
    name: "audit-webhook-drain-timeout",
    kind: "duration",
    default: "5s",
    help: "On shutdown, how long to wait for the audit webhook to deliver what is queued; then the rest is reported as undelivered. 0 waits for every retry.",
  },
  ...chainFlags("webhook"),
  // Beyond kube-apiserver: a NATS JetStream backend (the fleet layout of @kaudit/sinks).
  {
    name: "audit-nats-servers",
    kind: "string",
    default: "",
    help: "Comma-separated NATS servers (nats://host:port); if set, audit events are also published to JetStream, to <subject>.<partition of the user> and <subject>.ip.<partition of the source IP>.",
  },
  {
    name: "audit-nats-subject",
    kind: "string",
    default: "audit",
    help: "Subject prefix of the published events.",
  },
  {
    name: "audit-nats-stream",
    kind: "string",
    default: "KAUDIT",
    help: "The JetStream stream that must store the subjects (it must exist: kaudit watch --to-nats or an operator creates it).",
  },
  {
    name: "audit-nats-partitions",
    kind: "int",
    default: 16,
    help: "Partitions of the subjects; the same number on every sender, collector and detector.",
  },
  {
    name: "audit-nats-creds-file",
    kind: "string",
    default: "",
    help: "NATS credentials file (JWT and nkey seed).",
  },
  {
    name: "audit-nats-ca-file",
    kind: "string",
    default: "",
    help: "CA bundle the NATS servers' certificates must chain to (turns TLS on; the server is always verified).",
  },
  {
    name: "audit-nats-cert-file",
    kind: "string",
    default: "",
    help: "Client certificate for NATS servers that verify clients (with --audit-nats-key-file).",
  },
  {
    name: "audit-nats-key-file",
    kind: "string",
    default: "",
    help: "Key of --audit-nats-cert-file.",
  },
  ...chainFlags("nats"),
];

/** Parsed flag values, keyed by flag name. */
export type FlagValues = Record<string, string | number | boolean>;

/** Go's time.ParseDuration, returning milliseconds. */
export function parseGoDuration(s: string): number {
  const text = s.trim();
  if (text === "0") return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gy;
  const unit: Record<string, number> = {
    ns: 1e-6,
    us: 1e-3,
    µs: 1e-3,
    μs: 1e-3,
    ms: 1,
    s: 1000,
    m: 60000,
    h: 3600000,
  };
  let sign = 1;
  let rest = text;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    if (rest[0] === "-") sign = -1;
    rest = rest.slice(1);
  }
  if (rest === "") throw new DemoConfigError(`time: invalid duration ${JSON.stringify(s)}`);
  let total = 0;
  re.lastIndex = 0;
  let pos = 0;
  while (pos < rest.length) {
    const m = re.exec(rest);
    if (m === null) break;
    total += Number(m[1]) * (unit[m[2] as string] as number);
    pos = re.lastIndex;
  }
  if (pos !== rest.length) throw new DemoConfigError(`time: invalid duration ${JSON.stringify(s)}`);
  return sign * total;
}

/** Converts one raw value (from the command line or a config file) to the flag's type. */
export function coerceFlag(def: FlagDef, raw: unknown, where: string): string | number | boolean {
  const bad = (why: string): never => {
    throw new DemoConfigError(
      `${where}: invalid value ${JSON.stringify(raw)} for --${def.name}: ${why}`,
    );
  };
  switch (def.kind) {
    case "string":
      if (typeof raw === "string") return raw;
      if (typeof raw === "number") return String(raw);
      return bad("expected a string");
    case "int": {
      const n =
        typeof raw === "number"
          ? raw
          : typeof raw === "string" && /^-?\d+$/.test(raw.trim())
            ? Number(raw)
            : Number.NaN;
      if (!Number.isInteger(n)) bad("expected an integer");
      return n;
    }
    case "float": {
      const n =
        typeof raw === "number"
          ? raw
          : typeof raw === "string" && raw.trim() !== ""
            ? Number(raw)
            : Number.NaN;
      if (!Number.isFinite(n)) bad("expected a number");
      return n;
    }
    case "bool":
      if (typeof raw === "boolean") return raw;
      if (
        raw === "true" ||
        raw === "1" ||
        raw === "t" ||
        raw === "T" ||
        raw === "TRUE" ||
        raw === "True"
      )
        return true;
      if (
        raw === "false" ||
        raw === "0" ||
        raw === "f" ||
        raw === "F" ||
        raw === "FALSE" ||
        raw === "False"
      )
        return false;
      return bad("expected true or false");
    case "duration":
      if (typeof raw !== "string" && typeof raw !== "number") bad("expected a duration like 30s");
      try {
        parseGoDuration(String(raw));
      } catch (e) {
        bad((e as Error).message);
      }
      return String(raw);
  }
}

/**
 * Reads a `--config` file: a YAML (or JSON) mapping from flag names (without `--`) to values,
 * e.g. `audit-log-maxsize: 10`. Unknown keys are errors naming `file:line:col`.
 */
export function loadConfigFile(path: string): FlagValues {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new DemoConfigError(`--config ${path}: ${(e as Error).message}`);
  }
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const lp = e?.linePos?.[0];
    throw new DemoConfigError(
      `${path}${lp ? `:${lp.line}:${lp.col}` : ""}: ${e?.message.split("\n")[0]}`,
    );
  }
  const value = parseYAML(text) as unknown;
  if (value === null || value === undefined) return {};
  if (typeof value !== "object" || Array.isArray(value))
    throw new DemoConfigError(`${path}: expected a mapping of flag names to values`);
  const out: FlagValues = {};
  const lineOf = (key: string): string => {
    const idx = text.search(new RegExp(`^\\s*["']?${key.replace(/[-]/g, "\\-")}["']?\\s*:`, "m"));
    if (idx < 0) return path;
    const line = text.slice(0, idx).split("\n").length;
    return `${path}:${line}:1`;
  };
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const def = FLAGS.find((f) => f.name === k);
    if (!def) throw new DemoConfigError(`${lineOf(k)}: unknown flag ${JSON.stringify(k)}`);
    out[k] = coerceFlag(def, v, lineOf(k));
  }
  return out;
}

function chain(v: FlagValues, plugin: "log" | "webhook" | "nats"): BackendChainOptions {
  const p = `audit-${plugin}`;
  return {
    mode: v[`${p}-mode`] as AuditMode,
    batchBufferSize: v[`${p}-batch-buffer-size`] as number,
    batchMaxSize: v[`${p}-batch-max-size`] as number,
    batchMaxWait: parseGoDuration(String(v[`${p}-batch-max-wait`])),
    batchThrottleEnable: v[`${p}-batch-throttle-enable`] as boolean,
    batchThrottleQPS: v[`${p}-batch-throttle-qps`] as number,
    batchThrottleBurst: v[`${p}-batch-throttle-burst`] as number,
    truncateEnabled: v[`${p}-truncate-enabled`] as boolean,
    truncateMaxBatchSize: v[`${p}-truncate-max-batch-size`] as number,
    truncateMaxEventSize: v[`${p}-truncate-max-event-size`] as number,
    version: v[`${p}-version`] as string,
  };
}

/** Maps the `--audit-log-*` / `--audit-webhook-*` / `--audit-nats-*` flags to `createAuditBackend` options. */
export function auditBackendOptions(v: FlagValues): AuditBackendOptions {
  const out: AuditBackendOptions = {};
  const path = v["audit-log-path"] as string;
  if (path) {
    out.log = {
      path,
      format: v["audit-log-format"] as string,
      maxAge: v["audit-log-maxage"] as number,
      maxBackups: v["audit-log-maxbackup"] as number,
      maxSize: v["audit-log-maxsize"] as number,
      compress: v["audit-log-compress"] as boolean,
      ...chain(v, "log"),
    };
  }
  const wh = v["audit-webhook-config-file"] as string;
  if (wh) {
    out.webhook = {
      configFile: wh,
      initialBackoff: parseGoDuration(String(v["audit-webhook-initial-backoff"])),
      ...chain(v, "webhook"),
    };
  }
  const nats = v["audit-nats-servers"] as string;
  if (nats) {
    const file = (flag: string) => (v[`audit-nats-${flag}`] as string) || undefined;
    const tls = { caFile: file("ca-file"), certFile: file("cert-file"), keyFile: file("key-file") };
    out.nats = {
      servers: nats,
      subject: v["audit-nats-subject"] as string,
      stream: v["audit-nats-stream"] as string,
      partitions: v["audit-nats-partitions"] as number,
      ...(file("creds-file") ? { creds: file("creds-file") } : {}),
      ...(tls.caFile || tls.certFile
        ? { tls: Object.fromEntries(Object.entries(tls).filter(([, f]) => f)) }
        : {}),
      ...chain(v, "nats"),
    };
  }
  return out;
}

/** The defaults of every flag. */
export function defaultFlags(): FlagValues {
  const out: FlagValues = {};
  for (const f of FLAGS) out[f.name] = f.default;
  return out;
}
