import { X509Certificate } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { KauditError } from "@kaudit/api";
import { parse as parseYaml } from "yaml";

/** A kubeconfig cannot be used to reach the webhook; the message is the reference's. */
export class KubeconfigError extends KauditError {
  /** The kubeconfig file, when one was read. */
  readonly file: string | undefined;
  constructor(message: string, file?: string, cause?: unknown) {
    super(message, { name: "KubeconfigError", cause });
    this.file = file;
  }
}

/** The cluster section of a kubeconfig (kubeconfig v1 field names). */
export interface KubeconfigCluster {
  server?: string;
  "certificate-authority"?: string;
  "certificate-authority-data"?: string;
  "insecure-skip-tls-verify"?: boolean;
  "tls-server-name"?: string;
  "proxy-url"?: string;
  [key: string]: unknown;
}

/** The user section of a kubeconfig (kubeconfig v1 field names). */
export interface KubeconfigUser {
  "client-certificate"?: string;
  "client-certificate-data"?: string;
  "client-key"?: string;
  "client-key-data"?: string;
  token?: string;
  tokenFile?: string;
  username?: string;
  password?: string;
  exec?: unknown;
  "auth-provider"?: unknown;
  [key: string]: unknown;
}

/** A parsed kubeconfig (`kind: Config`, `apiVersion: v1`). */
export interface Kubeconfig {
  clusters?: { name?: string; cluster?: KubeconfigCluster }[];
  users?: { name?: string; user?: KubeconfigUser }[];
  contexts?: { name?: string; context?: { cluster?: string; user?: string; namespace?: string } }[];
  "current-context"?: string;
  [key: string]: unknown;
}

/** What the webhook needs from a kubeconfig, with files read and paths resolved. */
export interface WebhookTarget {
  /** The POST target (the cluster's `server`, path included). */
  url: URL;
  /** PEM CA bundle; undefined = the system roots. */
  ca?: string;
  /** `insecure-skip-tls-verify`. */
  insecureSkipTLSVerify: boolean;
  /** `tls-server-name`. */
  serverName?: string;
  /** PEM client certificate and key for mTLS. */
  cert?: string;
  key?: string;
  /** A static `Authorization` header value, or a function reading a token file. */
  authorization?: () => string | undefined;
}

type Named<T> = { name?: string } & T;

function toMap<T>(
  list: Named<Record<string, unknown>>[] | undefined,
  field: string,
  goType: string,
  mapType: string,
): Map<string, T> {
  const map = new Map<string, T>();
  if (list === undefined || list === null) return map;
  if (!Array.isArray(list)) throw new Error(`${field}: expected a list`);
  for (const entry of list) {
    const name = entry?.name ?? "";
    if (map.has(name)) {
      throw new Error(
        `error converting *[]${goType} into *map[string]*${mapType}: duplicate name "${name}" in list`,
      );
    }
    map.set(name, (entry?.[field] ?? {}) as T);
  }
  return map;
}

// apimachinery utilerrors.NewAggregate(...).Error(): one message as is, several deduplicated in [].
function aggregate(messages: string[]): string {
  const seen = [...new Set(messages)];
  return seen.length === 1 ? seen[0]! : `[${seen.join(", ")}]`;
}

function isEmptyCluster(c: KubeconfigCluster): boolean {
  return Object.values(c).every((v) => v === undefined || v === "" || v === false || v === null);
}

function canOpen(path: string): string | undefined {
  try {
    readFileSync(path, { flag: "r" }).length;
    return undefined;
  } catch (e) {
    return goOpenError(path, e);
  }
}

function goOpenError(path: string, e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  const why =
    code === "ENOENT"
      ? "no such file or directory"
      : code === "EACCES"
        ? "permission denied"
        : code === "EISDIR"
          ? "is a directory"
          : String((e as Error).message);
  return `open ${path}: ${why}`;
}

/**
 * Reads a kubeconfig the way kube-apiserver's audit webhook does (client-go clientcmd with an
 * explicit path, non-interactive): current-context → context → cluster and user, unnamed entries
 * resolving with an empty current-context, relative paths resolved against the file's directory.
 * Throws {@link KubeconfigError} with client-go's messages.
 */
export function loadKubeconfig(
  source: string | Kubeconfig,
  options?: { baseDir?: string },
): WebhookTarget {
  let config: Kubeconfig;
  let file: string | undefined;
  let baseDir = options?.baseDir ?? process.cwd();
  if (typeof source === "string") {
    file = source;
    if (!existsSync(file))
      throw new KubeconfigError(`stat ${file}: no such file or directory`, file);
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      throw new KubeconfigError(
        `error loading config file "${file}": ${goOpenError(file, e)}`,
        file,
        e,
      );
    }
    try {
      config = (parseYaml(text) ?? {}) as Kubeconfig;
    } catch (e) {
      throw new KubeconfigError(
        `error loading config file "${file}": ${(e as Error).message}`,
        file,
        e,
      );
    }
    if (typeof config !== "object" || Array.isArray(config)) {
      throw new KubeconfigError(
        `error loading config file "${file}": not a kubeconfig object`,
        file,
      );
    }
    baseDir = dirname(resolve(file));
  } else {
    config = source;
  }
  const where = file === undefined ? "" : `error loading config file "${file}": `;

  let clusters: Map<string, KubeconfigCluster>;
  let users: Map<string, KubeconfigUser>;
  let contexts: Map<string, { cluster?: string; user?: string }>;
  try {
    clusters = toMap(config.clusters as never, "cluster", "NamedCluster", "api.Cluster");
    users = toMap(config.users as never, "user", "NamedAuthInfo", "api.AuthInfo");
    contexts = toMap(config.contexts as never, "context", "NamedContext", "api.Context");
  } catch (e) {
    throw new KubeconfigError(`${where}${(e as Error).message}`, file, e);
  }

  // ResolveLocalPaths: relative file references are relative to the kubeconfig's directory.
  const abs = (p: string | undefined) => (p ? (isAbsolute(p) ? p : resolve(baseDir, p)) : p);
  const contextName = config["current-context"] ?? "";
  const context = contexts.get(contextName) ?? {};
  const userName = context.user ?? "";
  const clusterName = context.cluster ?? "";
  const user: KubeconfigUser = { ...(users.get(userName) ?? {}) };
  const cluster: KubeconfigCluster = { ...(clusters.get(clusterName) ?? {}) };
  for (const k of ["client-certificate", "client-key", "tokenFile"] as const) {
    user[k] = abs(user[k]);
  }
  cluster["certificate-authority"] = abs(cluster["certificate-authority"]);

  // DirectClientConfig.ConfirmUsable
  const errors: string[] = [];
  if (contextName !== "" && !contexts.has(contextName)) {
    errors.push(`context was not found for specified context: ${contextName}`);
  }
  errors.push(...validateAuthInfo(userName, user));
  errors.push(...validateClusterInfo(clusterName, cluster));
  if (errors.length === 1 && errors[0] === "cluster has no server defined") {
    throw new KubeconfigError("invalid configuration: no configuration has been provided", file);
  }
  if (errors.length > 0)
    throw new KubeconfigError(`invalid configuration: ${aggregate(errors)}`, file);

  if (user.exec !== undefined || user["auth-provider"] !== undefined) {
    throw new KubeconfigError(
      "exec and auth-provider credential plugins are not supported by kaudit's webhook sink",
      file,
    );
  }
  if (cluster["proxy-url"]) {
    throw new KubeconfigError("proxy-url is not supported by kaudit's webhook sink", file);
  }

  const caPem = cluster["certificate-authority-data"]
    ? Buffer.from(cluster["certificate-authority-data"], "base64").toString("utf8")
    : cluster["certificate-authority"]
      ? readFileSync(cluster["certificate-authority"], "utf8")
      : undefined;
  const certPem = user["client-certificate-data"]
    ? Buffer.from(user["client-certificate-data"], "base64").toString("utf8")
    : user["client-certificate"]
      ? readFileSync(user["client-certificate"], "utf8")
      : undefined;
  const keyPem = user["client-key-data"]
    ? Buffer.from(user["client-key-data"], "base64").toString("utf8")
    : user["client-key"]
      ? readFileSync(user["client-key"], "utf8")
      : undefined;
  const insecure = cluster["insecure-skip-tls-verify"] === true;
  if (caPem !== undefined && insecure) {
    throw new KubeconfigError(
      "specifying a root certificates file with the insecure flag is not allowed",
      file,
    );
  }
  if (caPem !== undefined) {
    const why = checkCaPem(caPem);
    if (why) throw new KubeconfigError(`unable to load root certificates: ${why}`, file);
  }
  if (certPem !== undefined && keyPem !== undefined) {
    if (!certPem.includes("-----BEGIN")) {
      throw new KubeconfigError("tls: failed to find any PEM data in certificate input", file);
    }
    if (!keyPem.includes("-----BEGIN")) {
      throw new KubeconfigError("tls: failed to find any PEM data in key input", file);
    }
  }

  // client-go DefaultServerURL: a host without a scheme gets https when TLS is configured.
  const server = cluster.server ?? "";
  const tlsConfigured =
    caPem !== undefined || certPem !== undefined || insecure || !!cluster["tls-server-name"];
  let url: URL;
  try {
    url = new URL(
      /^[a-z][a-z0-9+.-]*:\/\//i.test(server)
        ? server
        : `${tlsConfigured ? "https" : "http"}://${server}`,
    );
  } catch (e) {
    throw new KubeconfigError(`${where}parse "${server}": invalid URL`, file, e);
  }

  let authorization: (() => string | undefined) | undefined;
  if (user.tokenFile) {
    authorization = tokenFileSource(user.tokenFile, user.token);
  } else if (user.token) {
    const h = `Bearer ${user.token}`;
    authorization = () => h;
  } else if (user.username || user.password) {
    const h = `Basic ${Buffer.from(`${user.username ?? ""}:${user.password ?? ""}`).toString("base64")}`;
    authorization = () => h;
  }

  const target: WebhookTarget = { url, insecureSkipTLSVerify: insecure };
  if (caPem !== undefined) target.ca = caPem;
  if (cluster["tls-server-name"]) target.serverName = cluster["tls-server-name"];
  if (certPem !== undefined) target.cert = certPem;
  if (keyPem !== undefined) target.key = keyPem;
  if (authorization) target.authorization = authorization;
  return target;
}

function validateClusterInfo(name: string, c: KubeconfigCluster): string[] {
  if (isEmptyCluster(c)) return ["cluster has no server defined"];
  const errs: string[] = [];
  if (!c.server) {
    errs.push(
      name === ""
        ? "default cluster has no server defined"
        : `no server found for cluster "${name}"`,
    );
  }
  if (c["certificate-authority"] && c["certificate-authority-data"]) {
    errs.push(
      `certificate-authority-data and certificate-authority are both specified for ${name}. certificate-authority-data will override.`,
    );
  }
  if (c["certificate-authority"]) {
    const err = canOpen(c["certificate-authority"]);
    if (err)
      errs.push(
        `unable to read certificate-authority ${c["certificate-authority"]} for ${name} due to ${err}`,
      );
  }
  return errs;
}

function validateAuthInfo(name: string, u: KubeconfigUser): string[] {
  const errs: string[] = [];
  const methods: string[] = [];
  if (u.token) methods.push("token");
  if (u.username || u.password) methods.push("basicAuth");
  if (u["client-certificate"] || u["client-certificate-data"]) {
    if (u["client-certificate"] && u["client-certificate-data"]) {
      errs.push(
        `client-cert-data and client-cert are both specified for ${name}. client-cert-data will override.`,
      );
    }
    if (u["client-key"] && u["client-key-data"]) {
      errs.push(
        `client-key-data and client-key are both specified for ${name}; client-key-data will override`,
      );
    }
    if (!u["client-key"] && !u["client-key-data"]) {
      errs.push(
        `client-key-data or client-key must be specified for ${name} to use the clientCert authentication method.`,
      );
    }
    if (u["client-certificate"]) {
      const err = canOpen(u["client-certificate"]);
      if (err)
        errs.push(
          `unable to read client-cert ${u["client-certificate"]} for ${name} due to ${err}`,
        );
    }
    if (u["client-key"]) {
      const err = canOpen(u["client-key"]);
      if (err) errs.push(`unable to read client-key ${u["client-key"]} for ${name} due to ${err}`);
    }
  }
  if (methods.length > 1) {
    errs.push(
      `more than one authentication method found for ${name}; found [${methods.join(" ")}], only one is allowed`,
    );
  }
  return errs;
}

// client-go rootCertPool / createErrorParsingCAData
function checkCaPem(pem: string): string | undefined {
  const blocks = [...pem.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g)];
  if (blocks.length === 0) return "unable to parse bytes as PEM block";
  let valid = 0;
  for (const b of blocks) {
    if (b[1] !== "CERTIFICATE") continue;
    try {
      new X509Certificate(b[0]);
      valid++;
    } catch (e) {
      return `failed to parse certificate: ${(e as Error).message}`;
    }
  }
  return valid > 0 ? undefined : "no valid certificate authority data seen";
}

// client-go re-reads a token file at most once a minute (cachingTokenSource); a read failure
// keeps the last good token.
function tokenFileSource(path: string, fallback: string | undefined): () => string | undefined {
  let token = fallback;
  let readAt = -Infinity;
  return () => {
    const now = Date.now();
    if (now - readAt >= 60_000) {
      readAt = now;
      try {
        token = readFileSync(path, "utf8").trim();
      } catch {
        // keep the previous token; the receiver's 401 reports the problem
      }
    }
    return token ? `Bearer ${token}` : undefined;
  };
}
