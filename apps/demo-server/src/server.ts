import { readFileSync, writeFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { PolicyEvaluator, Sink, UserAttributes } from "@kaudit/api";
import { withAudit } from "@kaudit/middleware";
import { createPolicyEvaluator, loadPolicyFile } from "@kaudit/policy";
import {
  auditMetrics,
  createAuditBackend,
  type MetricsRegistry,
  type SinkReport,
} from "@kaudit/sinks";
import { parseTokenFile } from "@kaudit/sources";
import { type ApiHandler, createApiHandler } from "./api-handler";
import {
  createAuthenticator,
  createAuthorizer,
  createRulesResolver,
  DemoConfigError,
  parseAbacFile,
} from "./auth";
import { type DemoFiles, ensureDemoFiles, kubeconfigYAML } from "./bootstrap";
import { SimpleRegistry } from "./metrics";
import { auditBackendOptions, defaultFlags, type FlagValues, parseGoDuration } from "./options";
import { Store } from "./store";

/** kube's secure serving `ReadHeaderTimeout`: headers (and the TLS handshake) within 32 s. */
const HEADER_TIMEOUT_MS = 32_000;

/** The GCE policy bundled with the demo (its default `--audit-policy-file`). */
export function bundledPolicyPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // src/ in tests, dist/ when built: the policies directory sits beside both
  return resolve(here, "..", "policies", "gce-configure-helper-policy.yaml");
}

/** A running demo server. */
export interface DemoServer {
  /** `https://127.0.0.1:<port>`. */
  url: string;
  port: number;
  /** Generated or given files (certificate, token file, kubeconfig). */
  files: DemoFiles;
  /** The audit backend (its `toString()` is kube's chain name, e.g. `ignoreErrors<log>`). */
  backend: Sink | undefined;
  /** The audit policy file in use. */
  policyFile: string;
  /** The audit log path in use ("" when none). */
  auditLogPath: string;
  store: Store;
  /**
   * Drains: stops accepting, ends watch and log streams, waits for in-flight requests, then
   * flushes and shuts down the audit backend (the webhook given `--audit-webhook-drain-timeout`).
   * Resolves once all is done, with how many audit events could not be delivered meanwhile.
   */
  shutdown(): Promise<{ undelivered: number }>;
}

/** Options of {@link startDemoServer}: flag values (missing ones take their defaults). */
export interface StartOptions {
  flags?: Partial<FlagValues>;
  /** Interval between fake log lines of `kubectl logs -f`; default 1000 ms. */
  logFollowIntervalMs?: number;
  /** Where to print progress; default none. */
  log?: (line: string) => void;
}

/** Starts the demo API server over HTTPS with auditing wired from the flags. */
export async function startDemoServer(options: StartOptions = {}): Promise<DemoServer> {
  const flags: FlagValues = { ...defaultFlags(), ...(options.flags as FlagValues) };
  const log = options.log ?? (() => {});
  const files = await ensureDemoFiles({
    dataDir: flags["data-dir"] as string,
    certFile: flags["tls-cert-file"] as string,
    keyFile: flags["tls-private-key-file"] as string,
    tokenFile: flags["token-auth-file"] as string,
  });
  const readConfig = (flag: string, path: string): string => {
    try {
      return readFileSync(path, "utf8");
    } catch (e) {
      throw new DemoConfigError(`--${flag} ${path}: ${(e as Error).message}`);
    }
  };
  const tokens = parseTokenFile(readConfig("token-auth-file", files.tokenFile), files.tokenFile, {
    onWarning: (m) => log(`warning: ${m}`),
  });
  const abacFile = flags["authorization-policy-file"] as string;
  const abac = abacFile
    ? parseAbacFile(readConfig("authorization-policy-file", abacFile), abacFile)
    : [];
  const authenticate = createAuthenticator(tokens, {
    anonymous: flags["anonymous-auth"] as boolean,
  });
  const authorize = createAuthorizer(abac);

  const policyFile = (flags["audit-policy-file"] as string) || bundledPolicyPath();
  const policy: PolicyEvaluator = createPolicyEvaluator(await loadPolicyFile(policyFile));
  if (!flags["audit-log-path"]) flags["audit-log-path"] = join(files.dataDir, "audit.log");
  const registry = new SimpleRegistry();
  auditMetrics(registry as unknown as MetricsRegistry);
  const backendOptions = {
    ...auditBackendOptions(flags),
    registry: registry as unknown as MetricsRegistry,
  };
  const backend = createAuditBackend(backendOptions);
  const requests = registry.counter(
    "apiserver_request_total",
    "Counter of apiserver requests broken out for each verb, API resource and HTTP response code.",
    ["verb", "resource", "code"],
  );

  const terminatedWatchers = registry.counter(
    "apiserver_terminated_watchers_total",
    "Counter of watchers closed due to unresponsiveness broken by resource type.",
    ["resource"],
  );

  const users = new WeakMap<IncomingMessage, UserAttributes>();
  let address = "127.0.0.1:6443";
  const api: ApiHandler = createApiHandler({
    userOf: (req) => users.get(req),
    authorize,
    rulesFor: createRulesResolver(abac),
    maxRequestBodyBytes: flags["max-request-body-bytes"] as number,
    logFollowIntervalMs: options.logFollowIntervalMs,
    onRequest: ({ verb, resource, code }) =>
      requests.inc({ verb: verb.toUpperCase(), resource, code: String(code) }),
    metrics: () => registry.render(),
    serverAddress: () => address,
    store: new Store({
      historyEvents: flags["watch-history-events"] as number,
      historyBytes: flags["watch-history-bytes"] as number,
    }),
    watchBufferBytes: flags["max-watch-buffer-bytes"] as number,
    onWatcherTerminated: (resource) => terminatedWatchers.inc({ resource }),
    maxRequestsInflight: flags["max-requests-inflight"] as number,
    maxMutatingRequestsInflight: flags["max-mutating-requests-inflight"] as number,
  });

  let inflight = 0;
  let idle: (() => void) | undefined;
  const audited = withAudit((req: IncomingMessage, res: ServerResponse) => api.handle(req, res), {
    sink: backend,
    policy,
    authenticate: (req) => {
      const u = authenticate(req);
      users.set(req, u);
      return u;
    },
  });
  const server: Server = createServer(
    {
      cert: readFileSync(files.certFile),
      key: readFileSync(files.keyFile),
      // kubectl speaks HTTP/1.1 to us; h2 is not offered
      ALPNProtocols: ["http/1.1"],
      // what one client can hold: header bytes, and time for the TLS handshake (kube's
      // ReadHeaderTimeout, 32 s, covers both)
      maxHeaderSize: flags["max-header-bytes"] as number,
      handshakeTimeout: HEADER_TIMEOUT_MS,
    },
    (req, res) => {
      inflight++;
      res.once("close", () => {
        inflight--;
        if (inflight === 0) idle?.();
      });
      // called synchronously: the audit middleware must see the body before Node buffers it
      let ret: unknown;
      try {
        ret = audited(req, res);
      } catch (err) {
        ret = Promise.reject(err);
      }
      Promise.resolve(ret).catch((err: unknown) => {
        log(`internal error: ${(err as Error)?.stack ?? String(err)}`);
        if (!res.headersSent) {
          const body = `${JSON.stringify({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: "Internal error occurred: an error on the server has prevented the request from succeeding", reason: "InternalError", code: 500 })}\n`;
          res.writeHead(500, {
            "Content-Type": "application/json",
            "Content-Length": Buffer.byteLength(body),
          });
          res.end(body);
        } else res.destroy();
      });
    },
  );
  server.keepAliveTimeout = 5000;
  server.headersTimeout = HEADER_TIMEOUT_MS;
  // kube's --request-timeout bounds a request; here it bounds how long its body may take to arrive
  server.requestTimeout = parseGoDuration(String(flags["request-timeout"]));
  server.maxConnections = flags["max-connections"] as number;
  try {
    await new Promise<void>((ok, fail) => {
      server.once("error", fail);
      server.listen(flags.port as number, flags["bind-address"] as string, () => {
        server.off("error", fail);
        ok();
      });
    });
  } catch (err) {
    await backend.shutdown();
    throw new DemoConfigError(
      `cannot serve on ${flags["bind-address"]}:${flags.port}: ${(err as Error).message}`,
    );
  }
  const port = (server.address() as AddressInfo).port;
  const host = flags["bind-address"] as string;
  const urlHost =
    host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  const url = `https://${urlHost}:${port}`;
  address = `${urlHost}:${port}`;
  if (files.adminToken) {
    writeFileSync(
      files.kubeconfigFile,
      kubeconfigYAML({
        name: "kaudit-demo",
        server: url,
        caPEM: readFileSync(files.certFile, "utf8"),
        token: files.adminToken,
      }),
      { mode: 0o600 },
    );
  }

  let shuttingDown: Promise<{ undelivered: number }> | undefined;
  const shutdown = (): Promise<{ undelivered: number }> => {
    shuttingDown ??= (async () => {
      const closed = new Promise<void>((ok) => server.close(() => ok()));
      api.closeStreams();
      server.closeIdleConnections();
      if (inflight > 0) await new Promise<void>((ok) => (idle = ok));
      server.closeAllConnections();
      await closed;
      let undelivered = 0;
      backend.on("error", (r: SinkReport) => {
        undelivered += r.events.length;
      });
      const drain = parseGoDuration(String(flags["audit-webhook-drain-timeout"] ?? "5s"));
      await backend.shutdown(drain > 0 ? { timeout: drain } : {});
      return { undelivered };
    })();
    return shuttingDown;
  };

  return {
    url,
    port,
    files,
    backend,
    policyFile,
    auditLogPath: flags["audit-log-path"] as string,
    store: api.store,
    shutdown,
  };
}
