import { dirname, isAbsolute, resolve } from "node:path";
import { KauditError } from "@kaudit/api";
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";

/** The settings of `kaudit watch`, by flag name camelCased. Paths are absolute once parsed. */
export interface WatchConfig {
  rules?: string[] | undefined;
  follow?: string[] | undefined;
  /** Where a followed log without a saved position starts: `start` or `end`. */
  from?: string | undefined;
  positionFile?: string | undefined;
  listen?: string | undefined;
  tlsCertFile?: string | undefined;
  tlsPrivateKeyFile?: string | undefined;
  clientCaFile?: string | undefined;
  tokenAuthFile?: string | undefined;
  alertmanager?: string[] | undefined;
  alertWebhook?: string[] | undefined;
  alertsOut?: string | undefined;
  metricsAddress?: string | undefined;
  timeZone?: string | undefined;
  /** Collector tier: publish to these NATS servers (comma-separated URLs). */
  toNats?: string | undefined;
  /** Detector tier: read from these NATS servers (comma-separated URLs). */
  fromNats?: string | undefined;
  natsStream?: string | undefined;
  natsSubject?: string | undefined;
  natsPartitions?: string | undefined;
  natsReplicas?: string | undefined;
  natsMaxBytes?: string | undefined;
  natsConsumer?: string | undefined;
  natsAssign?: string | undefined;
  natsCreds?: string | undefined;
  natsCaFile?: string | undefined;
  natsCertFile?: string | undefined;
  natsKeyFile?: string | undefined;
}

type Kind = "string" | "list" | "path" | "paths";

/** Every key a config file may hold, and what it takes. */
export const WATCH_CONFIG_KEYS: Readonly<Record<keyof WatchConfig, Kind>> = {
  rules: "paths",
  follow: "paths",
  from: "string",
  positionFile: "path",
  listen: "string",
  tlsCertFile: "path",
  tlsPrivateKeyFile: "path",
  clientCaFile: "path",
  tokenAuthFile: "path",
  alertmanager: "list",
  alertWebhook: "list",
  alertsOut: "path",
  metricsAddress: "string",
  timeZone: "string",
  toNats: "string",
  fromNats: "string",
  natsStream: "string",
  natsSubject: "string",
  natsPartitions: "string",
  natsReplicas: "string",
  natsMaxBytes: "string",
  natsConsumer: "string",
  natsAssign: "string",
  natsCreds: "path",
  natsCaFile: "path",
  natsCertFile: "path",
  natsKeyFile: "path",
};

/** A config file that cannot be used: `file:line:col: key: what`. */
export class WatchConfigError extends KauditError {
  constructor(message: string) {
    super(message, { name: "WatchConfigError" });
  }
}

const camel = (k: string) => k.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * Parses a `kaudit watch --config` file: YAML (or JSON) whose keys are the command's flags, in
 * kebab-case (`position-file`) or camelCase (`positionFile`); repeatable flags take a list (or one
 * string). Relative paths resolve against the file's directory (`alertsOut: "-"` stays standard
 * output). Every problem is reported at once, each as `file:line:col: key: what`.
 *
 * @example
 * parseWatchConfig("follow: [/var/log/kube-apiserver/audit.log]\nalertmanager: http://am:9093\n", "/etc/kaudit/watch.yaml");
 * // { follow: ["/var/log/kube-apiserver/audit.log"], alertmanager: ["http://am:9093"] }
 */
export function parseWatchConfig(text: string, file: string): WatchConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const problems: string[] = [];
  const at = (node: Node | null | undefined, msg: string) => {
    const off = node?.range?.[0] ?? 0;
    const p = lines.linePos(off);
    problems.push(`${file}:${p.line}:${p.col}: ${msg}`);
  };
  for (const e of doc.errors) {
    const p = lines.linePos(e.pos[0]);
    problems.push(`${file}:${p.line}:${p.col}: ${e.message.split("\n")[0]}`);
  }
  if (problems.length) throw new WatchConfigError(problems.join("\n"));
  const out: WatchConfig = {};
  const root = doc.contents;
  if (root === null || (isScalar(root) && (root.value === null || root.value === ""))) return out;
  if (!isMap(root)) {
    at(root, "the file must be a mapping of settings (rules:, follow:, alertmanager:, …)");
    throw new WatchConfigError(problems.join("\n"));
  }
  const base = dirname(resolve(file));
  const abs = (p: string) => (p === "-" || isAbsolute(p) ? p : resolve(base, p));
  for (const pair of root.items) {
    const keyNode = pair.key as Node;
    const rawKey = isScalar(keyNode) ? String(keyNode.value) : "";
    const key = camel(rawKey) as keyof WatchConfig;
    const kind = WATCH_CONFIG_KEYS[key];
    if (!kind) {
      at(
        keyNode,
        `${rawKey}: unknown setting (known: ${Object.keys(WATCH_CONFIG_KEYS)
          .map((k) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`))
          .join(", ")})`,
      );
      continue;
    }
    const value = pair.value as Node | null;
    const scalarText = (n: Node | null): string | undefined =>
      isScalar(n) && (typeof n.value === "string" || typeof n.value === "number")
        ? String(n.value)
        : undefined;
    if (kind === "string" || kind === "path") {
      const s = scalarText(value);
      if (s === undefined || s === "") {
        at(value ?? keyNode, `${rawKey}: expected a string`);
        continue;
      }
      (out as Record<string, unknown>)[key] = kind === "path" ? abs(s) : s;
      continue;
    }
    const items: string[] = [];
    if (isSeq(value)) {
      for (const item of value.items as Node[]) {
        const s = scalarText(item);
        if (s === undefined || s === "") at(item, `${rawKey}: expected a list of strings`);
        else items.push(kind === "paths" ? abs(s) : s);
      }
    } else {
      const s = scalarText(value);
      if (s === undefined || s === "")
        at(value ?? keyNode, `${rawKey}: expected a string or a list of strings`);
      else items.push(kind === "paths" ? abs(s) : s);
    }
    (out as Record<string, unknown>)[key] = items;
  }
  if (problems.length) throw new WatchConfigError(problems.join("\n"));
  return out;
}

/**
 * `host:port` as the flags take it: `127.0.0.1:9464`, `[::1]:8443`, `:9464` (every interface),
 * `localhost:0` (any free port). Throws {@link WatchConfigError} naming the flag otherwise.
 */
export function parseHostPort(value: string, flag: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535) {
    throw new WatchConfigError(
      `${flag} ${JSON.stringify(value)}: expected HOST:PORT (e.g. 127.0.0.1:9464, [::1]:9464, :9464)`,
    );
  }
  const host = m[1] ?? m[2] ?? "";
  return { host: host === "" ? "0.0.0.0" : host, port };
}
