import type { IncomingMessage, ServerResponse } from "node:http";
import type { RequestAttributes, UserAttributes, UserInfo } from "@kaudit/api";
import { addAuditAnnotation, logRequestObject, setImpersonatedUser } from "@kaudit/middleware";
import { attributesFromRequest } from "@kaudit/policy";
import {
  ALL_AUTHENTICATED,
  ALL_UNAUTHENTICATED,
  ANONYMOUS,
  type AuthzAttributes,
  type Decision,
  forbiddenMessage,
  type RulesReview,
  splitServiceAccountUsername,
} from "./auth";
import { InflightLimiter } from "./inflight";
import { jsonPatch, mergePatch } from "./patch";
import { PROTOBUF_MEDIA_TYPE } from "./proto/envelope";
import { decodeProtobufBody, sendProtobuf } from "./proto/http";
import { negotiateResponse, notAcceptable } from "./proto/negotiate";
import {
  findResource,
  groupVersions,
  type Obj,
  qualifiedResource,
  RESOURCES,
  type ResourceDef,
} from "./resources";
import { answerReview } from "./reviews";
import { stringifyJSON } from "./safe-json";
import {
  badRequest,
  forbidden,
  invalid,
  methodNotSupported,
  pathNotFound,
  StatusError,
  tooLarge,
  unsupportedMediaType,
} from "./status";
import { parseSelector, type Selector, Store, selects, type WatchSend } from "./store";
import { streamList } from "./stream-list";
import { parseJSONBody, parseYAMLBody } from "./text-body";

/** What a watch may have queued for a client that does not read before it is closed (4 MiB). */
export const DEFAULT_WATCH_BUFFER_BYTES = 4 * 1024 * 1024;

/** kube-apiserver's `--max-request-body-bytes` default (3 MiB). */
export const DEFAULT_MAX_REQUEST_BODY_BYTES = 3 * 1024 * 1024;

/** The version the demo reports (kubectl 1.32 is happy within one minor). */
export const SERVER_VERSION = {
  major: "1",
  minor: "32",
  gitVersion: "v1.32.0+kaudit-demo",
  gitCommit: "0000000000000000000000000000000000000000",
  gitTreeState: "clean",
  buildDate: "2026-11-22T00:00:00Z",
  goVersion: "go1.23.0",
  compiler: "gc",
  platform: "linux/amd64",
};

/** What the API handler needs. */
export interface ApiHandlerOptions {
  /** The object store (a fresh one with the default namespaces by default). */
  store?: Store;
  /** The authenticated user of a request (set by the authenticator the audit middleware runs). */
  userOf: (req: IncomingMessage) => UserAttributes | undefined;
  /** The authoriser. */
  authorize: (a: AuthzAttributes) => Decision;
  /** The authoriser's rules for a user in a namespace (`SelfSubjectRulesReview`). */
  rulesFor?: (user: UserAttributes, namespace: string) => RulesReview;
  /** Request body limit; default {@link DEFAULT_MAX_REQUEST_BODY_BYTES}. */
  maxRequestBodyBytes?: number;
  /** Counts requests for `/metrics`. */
  onRequest?: (labels: { verb: string; resource: string; code: number }) => void;
  /** Renders `/metrics`. */
  metrics?: () => Promise<string> | string;
  /** `host:port` reported in `/api` serverAddressByClientCIDRs. */
  serverAddress?: () => string;
  /** Interval between fake log lines when following a pod log. Default 1000 ms. */
  logFollowIntervalMs?: number;
  /** Bytes a watch may have queued for its client before it is closed; default 4 MiB. */
  watchBufferBytes?: number;
  /** Counts watchers closed for falling behind (`apiserver_terminated_watchers_total`). */
  onWatcherTerminated?: (resource: string) => void;
  /** `--max-requests-inflight` and `--max-mutating-requests-inflight`; default 400 and 200. */
  maxRequestsInflight?: number;
  maxMutatingRequestsInflight?: number;
}

/** The handler and the means to stop its long-running streams. */
export interface ApiHandler {
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  /** Ends every open watch and log stream (on shutdown). */
  closeStreams: () => void;
  store: Store;
}

/** Responses going to clients that accept only kube protobuf (see `negotiateResponse`). */
const protobufResponses = new WeakSet<ServerResponse>();

function send(
  res: ServerResponse,
  code: number,
  body: unknown,
  contentType = "application/json",
): void {
  if (protobufResponses.has(res) && typeof body === "object" && body !== null) {
    sendProtobuf(res, code, body as Record<string, unknown>);
    return;
  }
  const text = typeof body === "string" ? body : `${stringifyJSON(body)}\n`;
  res.writeHead(code, {
    "Content-Type": contentType,
    "Content-Length": Buffer.byteLength(text),
    "Cache-Control": "no-cache, private",
  });
  res.end(text);
}

function sendStatus(res: ServerResponse, err: StatusError): void {
  send(res, err.code, err.status);
}

/**
 * Reads the body up to the limit. A larger declared Content-Length is refused at once, unread,
 * and a body that grows past the limit as it arrives is refused as soon as it does (kube's
 * limitedReadBody); the handler then answers 413 and closes the connection rather than drain
 * what the client still sends. A client gone mid-body is what kube reports for a failed read.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > limit) return Promise.reject(tooLarge(limit));
  if (req.complete && req.readableEnded) return Promise.resolve(Buffer.alloc(0));
  return new Promise((ok, fail) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onFailed);
      req.off("aborted", onFailed);
      req.off("close", onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        done();
        fail(tooLarge(limit));
      } else chunks.push(chunk);
    };
    const onEnd = () => {
      done();
      ok(Buffer.concat(chunks));
    };
    const onFailed = () => {
      done();
      fail(new StatusError(500, "", "unexpected EOF"));
    };
    const onClose = () => {
      if (!req.complete) onFailed();
    };
    req.on("data", onData);
    req.once("end", onEnd);
    req.once("error", onFailed);
    req.once("aborted", onFailed);
    req.once("close", onClose);
  });
}

const laterJobs: (() => void)[] = [];
let laterRunning = false;

/** Runs jobs one per event-loop turn, in order, so that requests are served in between. */
function later(job: () => void): void {
  laterJobs.push(job);
  if (!laterRunning) {
    laterRunning = true;
    setImmediate(runLater);
  }
}

function runLater(): void {
  laterJobs.shift()?.();
  if (laterJobs.length > 0) setImmediate(runLater);
  else laterRunning = false;
}

function mediaType(req: IncomingMessage): string {
  const ct = req.headers["content-type"] ?? "";
  return ct.split(";")[0]?.trim().toLowerCase() ?? "";
}

function decodeBody(buf: Buffer, type: string, def: ResourceDef | undefined): unknown {
  const what = def ? def.kind : "object";
  if (type === PROTOBUF_MEDIA_TYPE) return decodeProtobufBody(buf, what);
  const text = buf.toString("utf8");
  if (text.trim() === "")
    throw badRequest(
      `the object provided is unrecognized (must be of type ${what}): couldn't get version/kind; json parse error: unexpected end of JSON input`,
    );
  if (type === "application/yaml" || type === "application/apply-patch+yaml")
    return parseYAMLBody(text, what);
  return parseJSONBody(text, what);
}

function checkKind(body: unknown, def: ResourceDef): Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw badRequest(
      `the object provided is unrecognized (must be of type ${def.kind}): couldn't get version/kind; json parse error: json: cannot unmarshal ${Array.isArray(body) ? "array" : typeof body} into Go value of type struct`,
    );
  const o = body as Record<string, unknown>;
  const gv = def.group ? `${def.group}/${def.version}` : def.version;
  if (o.apiVersion !== undefined && o.apiVersion !== gv)
    throw badRequest(
      `the API version in the data (${String(o.apiVersion)}) does not match the expected API version (${gv})`,
    );
  if (o.kind !== undefined && o.kind !== def.kind)
    throw badRequest(
      `${String(o.kind)} in version "${def.version}" cannot be handled as a ${def.kind}: no kind "${String(o.kind)}" is registered for version "${gv}" in scheme "k8s.io/kubernetes/pkg/api/legacyscheme/scheme.go:30"`,
    );
  return o;
}

interface AcceptInfo {
  table: boolean;
  partial: boolean;
}

function acceptOf(req: IncomingMessage): AcceptInfo {
  const accept = req.headers.accept ?? "";
  const parts = accept.split(",").map((p) => p.trim().toLowerCase());
  const first =
    parts.find((p) => p.includes("as=table") || p.includes("as=partialobjectmetadata")) ?? "";
  return {
    table: first.includes("as=table") && first.includes("g=meta.k8s.io"),
    partial: first.includes("as=partialobjectmetadata"),
  };
}

function manager(req: IncomingMessage, q: URLSearchParams): string {
  const fm = q.get("fieldManager");
  if (fm) return fm;
  const ua = req.headers["user-agent"] ?? "unknown";
  return ua.split("/")[0] || "unknown";
}

function stripForList(o: Obj): Record<string, unknown> {
  const { kind: _k, apiVersion: _a, ...rest } = o;
  return rest;
}

function partialMeta(o: Obj): Record<string, unknown> {
  return { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: o.metadata };
}

function toTable(
  def: ResourceDef,
  objs: Obj[],
  rv: string | undefined,
  includeObject: string,
  withColumns: boolean,
): Record<string, unknown> {
  const now = Date.now();
  const table: Record<string, unknown> = {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: rv !== undefined ? { resourceVersion: rv } : {},
  };
  if (withColumns) table.columnDefinitions = def.columns;
  table.rows = objs.map((o) => {
    const row: Record<string, unknown> = { cells: def.cells(o, now) };
    if (includeObject === "Object") row.object = o;
    else if (includeObject !== "None") row.object = partialMeta(o);
    return row;
  });
  return table;
}

const TABLE_CT = "application/json;as=Table;v=v1;g=meta.k8s.io";

/** Media types of create and update bodies. */
const OBJECT_TYPES = ["application/json", "application/yaml", PROTOBUF_MEDIA_TYPE];

/** The group's discovery document (`APIGroup`). */
function apiGroup(group: string): Record<string, unknown> {
  const versions = groupVersions()
    .filter((gv) => gv.group === group)
    .map((gv) => ({ groupVersion: `${group}/${gv.version}`, version: gv.version }));
  return { name: group, versions, preferredVersion: versions[0] };
}

function resourceList(group: string, version: string): Record<string, unknown> | undefined {
  const defs = RESOURCES.filter((r) => r.group === group && r.version === version);
  if (defs.length === 0) return undefined;
  const resources: Record<string, unknown>[] = [];
  for (const d of defs) {
    const r: Record<string, unknown> = {
      name: d.resource,
      singularName: d.singular,
      namespaced: d.namespaced,
      kind: d.kind,
      verbs: d.verbs,
    };
    if (d.shortNames.length > 0) r.shortNames = d.shortNames;
    if (d.categories) r.categories = d.categories;
    resources.push(r);
    for (const [sub, s] of Object.entries(d.subresources)) {
      resources.push({
        name: `${d.resource}/${sub}`,
        singularName: "",
        namespaced: d.namespaced,
        ...(s.group !== undefined ? { group: s.group, version: s.version } : {}),
        kind: s.kind,
        verbs: s.verbs,
      });
    }
  }
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: group ? `${group}/${version}` : version,
    resources,
  };
}

const OPENAPI_HASH = "kaudit-demo-1";

/**
 * A minimal OpenAPI v3 document for one group version: enough for kubectl to see that the
 * server validates fields itself (a PATCH operation per kind carrying `fieldValidation`), so
 * it sends `fieldValidation=Strict` instead of downloading schemas.
 */
function openAPIv3(group: string, version: string): Record<string, unknown> | undefined {
  const defs = RESOURCES.filter((r) => r.group === group && r.version === version);
  if (defs.length === 0) return undefined;
  const prefix = group ? `/apis/${group}/${version}` : `/api/${version}`;
  const paths: Record<string, unknown> = {};
  const params = ["dryRun", "fieldManager", "fieldValidation", "force", "pretty"].map((name) => ({
    name,
    in: "query",
    schema: { type: name === "force" ? "boolean" : "string", uniqueItems: true },
  }));
  for (const d of defs) {
    const item = d.namespaced
      ? `${prefix}/namespaces/{namespace}/${d.resource}/{name}`
      : `${prefix}/${d.resource}/{name}`;
    paths[item] = {
      patch: {
        operationId: `patch${d.namespaced ? "Namespaced" : ""}${d.kind}`,
        parameters: params,
        responses: { "200": { description: "OK" } },
        "x-kubernetes-action": "patch",
        "x-kubernetes-group-version-kind": { group, version, kind: d.kind },
      },
    };
  }
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: SERVER_VERSION.gitVersion },
    paths,
  };
}

function headerList(req: IncomingMessage, name: string): string[] {
  return req.headersDistinct[name] ?? [];
}

/**
 * The demo's API: discovery, CRUD, watch, status and log subresources, impersonation and
 * authorisation — everything kube-apiserver does after `WithAudit`. Auditing itself is the
 * `@kaudit/middleware` wrapping this handler; the handler only adds what kube's later filters
 * add to the audit event (impersonated user, authorisation annotations).
 */
export function createApiHandler(opts: ApiHandlerOptions): ApiHandler {
  const store = opts.store ?? new Store();
  const limit = opts.maxRequestBodyBytes ?? DEFAULT_MAX_REQUEST_BODY_BYTES;
  const streams = new Set<() => void>();
  const logInterval = opts.logFollowIntervalMs ?? 1000;
  const watchBufferBytes = opts.watchBufferBytes ?? DEFAULT_WATCH_BUFFER_BYTES;
  const inflight = new InflightLimiter(
    opts.maxRequestsInflight ?? 400,
    opts.maxMutatingRequestsInflight ?? 200,
  );

  function authorizeOrThrow(req: IncomingMessage, a: AuthzAttributes, annotate: boolean): void {
    const d = opts.authorize(a);
    if (annotate) {
      addAuditAnnotation(req, "authorization.k8s.io/decision", d.allowed ? "allow" : "forbid");
      addAuditAnnotation(req, "authorization.k8s.io/reason", d.reason);
    }
    if (d.allowed) return;
    const message = forbiddenMessage(a, d.reason);
    const res = a.isResourceRequest
      ? { group: a.apiGroup, resource: a.resource, name: a.name }
      : { group: "", resource: "" };
    const qualified = a.isResourceRequest
      ? qualifiedResource({ group: a.apiGroup, resource: a.resource })
      : "";
    const full = !qualified
      ? `forbidden: ${message}`
      : a.name
        ? `${qualified} "${a.name}" is forbidden: ${message}`
        : `${qualified} is forbidden: ${message}`;
    throw forbidden(res, full);
  }

  /** kube's WithImpersonation: authorise each requested identity, then act as it. */
  function impersonate(req: IncomingMessage, user: UserAttributes): UserAttributes {
    const names = headerList(req, "impersonate-user");
    const groups = headerList(req, "impersonate-group");
    const uids = headerList(req, "impersonate-uid");
    const extraKeys = Object.keys(req.headers).filter((k) => k.startsWith("impersonate-extra-"));
    if (names.length === 0 && groups.length === 0 && uids.length === 0 && extraKeys.length === 0)
      return user;
    if (names.length === 0)
      throw new StatusError(
        500,
        "InternalError",
        "Internal error occurred: requested impersonation of groups or extra without a user",
      );
    const base = {
      user,
      isResourceRequest: true,
      path: req.url ?? "/",
      namespace: "",
      subresource: "",
    };
    const username = names[0] as string;
    const sa = splitServiceAccountUsername(username);
    if (sa) {
      authorizeOrThrow(
        req,
        {
          ...base,
          verb: "impersonate",
          apiGroup: "",
          resource: "serviceaccounts",
          namespace: sa.namespace,
          name: sa.name,
        },
        false,
      );
    } else {
      authorizeOrThrow(
        req,
        { ...base, verb: "impersonate", apiGroup: "", resource: "users", name: username },
        false,
      );
    }
    for (const g of groups)
      authorizeOrThrow(
        req,
        { ...base, verb: "impersonate", apiGroup: "", resource: "groups", name: g },
        false,
      );
    for (const u of uids)
      authorizeOrThrow(
        req,
        {
          ...base,
          verb: "impersonate",
          apiGroup: "authentication.k8s.io",
          resource: "uids",
          name: u,
        },
        false,
      );
    const extra: Record<string, string[]> = {};
    for (const k of extraKeys) {
      let key = k.slice("impersonate-extra-".length);
      try {
        key = decodeURIComponent(key);
      } catch {
        /* as sent */
      }
      const values = headerList(req, k);
      for (const v of values)
        authorizeOrThrow(
          req,
          {
            ...base,
            verb: "impersonate",
            apiGroup: "authentication.k8s.io",
            resource: "userextras",
            subresource: key,
            name: v,
          },
          false,
        );
      extra[key] = values;
    }
    const newGroups = [...groups];
    if (
      username !== ANONYMOUS &&
      !newGroups.includes(ALL_AUTHENTICATED) &&
      !newGroups.includes(ALL_UNAUTHENTICATED)
    )
      newGroups.push(ALL_AUTHENTICATED);
    const next: UserAttributes = { name: username, groups: newGroups };
    if (uids[0]) next.uid = uids[0];
    if (Object.keys(extra).length > 0) next.extra = extra;
    const info: UserInfo = { username, groups: newGroups };
    if (next.uid) info.uid = next.uid;
    if (Object.keys(extra).length > 0) info.extra = extra;
    setImpersonatedUser(req, info);
    return next;
  }

  async function discovery(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
  ): Promise<boolean> {
    if (req.method !== "GET" && req.method !== "HEAD") return false;
    if (path === "/api" || path === "/api/") {
      send(res, 200, {
        kind: "APIVersions",
        versions: ["v1"],
        serverAddressByClientCIDRs: [
          { clientCIDR: "0.0.0.0/0", serverAddress: opts.serverAddress?.() ?? "127.0.0.1:6443" },
        ],
      });
      return true;
    }
    if (path === "/apis" || path === "/apis/") {
      const groups = [
        ...new Set(
          groupVersions()
            .map((g) => g.group)
            .filter((g) => g !== ""),
        ),
      ];
      send(res, 200, { kind: "APIGroupList", apiVersion: "v1", groups: groups.map(apiGroup) });
      return true;
    }
    let m = /^\/api\/([^/]+)\/?$/.exec(path);
    if (m) {
      const list = resourceList("", m[1] as string);
      if (!list) return false;
      send(res, 200, list);
      return true;
    }
    m = /^\/apis\/([^/]+)\/?$/.exec(path);
    if (m) {
      const g = apiGroup(m[1] as string);
      if ((g.versions as unknown[]).length === 0) return false;
      send(res, 200, { kind: "APIGroup", apiVersion: "v1", ...g });
      return true;
    }
    m = /^\/apis\/([^/]+)\/([^/]+)\/?$/.exec(path);
    if (m) {
      const list = resourceList(m[1] as string, m[2] as string);
      if (!list) return false;
      send(res, 200, list);
      return true;
    }
    if (path === "/openapi/v3" || path === "/openapi/v3/") {
      const paths: Record<string, { serverRelativeURL: string }> = {};
      for (const gv of groupVersions()) {
        const p = gv.group ? `apis/${gv.group}/${gv.version}` : `api/${gv.version}`;
        paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${OPENAPI_HASH}` };
      }
      send(res, 200, { paths });
      return true;
    }
    m = /^\/openapi\/v3\/(?:api\/([^/]+)|apis\/([^/]+)\/([^/]+))$/.exec(path);
    if (m) {
      const doc = openAPIv3(m[1] ? "" : (m[2] as string), (m[1] ?? m[3]) as string);
      if (!doc) return false;
      send(res, 200, doc);
      return true;
    }
    if (path === "/version" || path === "/version/") {
      send(res, 200, SERVER_VERSION);
      return true;
    }
    if (path === "/healthz" || path === "/livez" || path === "/readyz") {
      send(res, 200, "ok", "text/plain; charset=utf-8");
      return true;
    }
    if (path === "/metrics" && opts.metrics) {
      send(res, 200, await opts.metrics(), "text/plain; version=0.0.4; charset=utf-8");
      return true;
    }
    return false;
  }

  function selectorOf(q: URLSearchParams): Selector {
    return {
      labels: parseSelector(q.get("labelSelector"), "labelSelector"),
      fields: parseSelector(q.get("fieldSelector"), "fieldSelector"),
    };
  }

  function watch(
    req: IncomingMessage,
    res: ServerResponse,
    def: ResourceDef,
    ns: string | undefined,
    name: string,
    q: URLSearchParams,
  ): void {
    const sel = selectorOf(q);
    if (name) sel.fields.push({ key: "metadata.name", op: "=", values: [name] });
    const accept = acceptOf(req);
    const includeObject = q.get("includeObject") ?? "Metadata";
    const rv = q.get("resourceVersion") ?? undefined;
    if (rv && rv !== "0" && !/^\d+$/.test(rv))
      throw new StatusError(400, "BadRequest", `invalid resource version "${rv}"`);
    let first = true;
    const encode = (type: string, o: Obj, line: () => Buffer): Buffer | string => {
      if (!accept.table && !accept.partial) return line();
      let obj: unknown = o;
      if (accept.table) {
        obj = toTable(def, [o], undefined, includeObject, first);
        first = false;
      } else obj = partialMeta(o);
      return `${stringifyJSON({ type, object: obj })}\n`;
    };
    res.writeHead(200, {
      "Content-Type": accept.table ? TABLE_CT : "application/json",
      "Cache-Control": "no-cache, private",
      "Transfer-Encoding": "chunked",
    });
    res.flushHeaders();
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    let unsubscribe = () => {};
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      unsubscribe();
      streams.delete(finish);
      if (!res.writableEnded && !res.destroyed) res.end();
    };
    // kube closes a watcher whose buffer is full ("Forcing watcher close due to
    // unresponsiveness"); closing the connection also frees what was queued for it
    const behind = () => {
      if (done) return;
      opts.onWatcherTerminated?.(def.resource);
      res.destroy();
      finish();
    };
    // The events due at the start (current state or history) are written as the client takes
    // them; events that arrive meanwhile wait, up to the buffer limit; after that, every event
    // is written at once unless the client's queue is full.
    let phase: "start" | "catching-up" | "live" = "start";
    const queue: ({ chunk: () => Buffer | string; size: number } | undefined)[] = [];
    let waitingBytes = 0;
    // live events go out one watcher per event-loop turn (see later): fifty watchers of a
    // large object are fifty encryptions, which must not hold up every other request
    let pending: (Buffer | string)[] = [];
    let pendingBytes = 0;
    const flush = () => {
      const list = pending;
      pending = [];
      pendingBytes = 0;
      if (!done) for (const c of list) res.write(c);
    };
    const push = (chunk: Buffer | string) => {
      const queued = res.writableLength + pendingBytes;
      if (queued > 0 && queued + chunk.length > watchBufferBytes) {
        behind();
        return;
      }
      if (pending.length === 0) later(flush);
      pending.push(chunk);
      pendingBytes += chunk.length;
    };
    const onEvent: WatchSend = (type, o, line) => {
      if (done) return;
      if (type === "ADDED" || type === "MODIFIED" || type === "DELETED") {
        if (!selects(sel, o)) return;
      }
      if (phase === "live") {
        push(encode(type, o, line));
        return;
      }
      const size = phase === "start" ? 0 : line().length;
      queue.push({ chunk: () => encode(type, o, line), size });
      waitingBytes += size;
      if (waitingBytes > watchBufferBytes) behind();
    };
    try {
      // resourceVersion unset on a watch means "start at the most recent" with the current state sent as ADDED
      unsubscribe = store.watch(def, ns, rv, onEvent);
    } catch (e) {
      // like kube's cacher: once the watch is accepted, a too-old resourceVersion is an ERROR event
      if (!(e instanceof StatusError)) throw e;
      res.end(`${stringifyJSON({ type: "ERROR", object: e.status })}\n`);
      return;
    }
    phase = "catching-up";
    const timeoutSeconds = Number(q.get("timeoutSeconds") ?? "0");
    const ms = timeoutSeconds > 0 ? timeoutSeconds * 1000 : 30 * 60 * 1000;
    timer = setTimeout(finish, ms);
    streams.add(finish);
    res.once("close", finish);
    req.once("close", () => {
      if (!res.writableEnded && res.destroyed) finish();
    });
    void (async () => {
      const closed = new Promise<void>((ok) => res.once("close", () => ok()));
      for (let i = 0; i < queue.length && !done; i++) {
        const { chunk, size } = queue[i] as { chunk: () => Buffer | string; size: number };
        queue[i] = undefined; // what was written is not held for the rest of the backlog
        waitingBytes -= size;
        if (!res.write(chunk())) {
          await Promise.race([new Promise((ok) => res.once("drain", ok)), closed]);
        }
      }
      queue.length = 0;
      phase = "live";
    })();
  }

  function podLog(
    _req: IncomingMessage,
    res: ServerResponse,
    def: ResourceDef,
    ns: string,
    name: string,
    q: URLSearchParams,
  ): void {
    const pod = store.get(def, ns, name);
    const containers =
      (pod.spec as { containers?: { name: string; image?: string }[] })?.containers ?? [];
    let container = q.get("container");
    if (!container) {
      if (containers.length !== 1)
        throw badRequest(
          `a container name must be specified for pod ${name}, choose one of: [${containers.map((c) => c.name).join(" ")}]`,
        );
      container = containers[0]?.name as string;
    } else if (!containers.some((c) => c.name === container)) {
      throw badRequest(`container ${container} is not valid for pod ${name}`);
    }
    const image = containers.find((c) => c.name === container)?.image ?? "";
    let n = 0;
    const line = () =>
      `${new Date().toISOString()} ${container} (${image}) line ${++n}: hello from the kaudit demo\n`;
    const lines = [line(), line(), line()];
    const tail = q.get("tailLines");
    const shown = tail !== null ? lines.slice(Math.max(0, lines.length - Number(tail))) : lines;
    res.writeHead(200, {
      "Content-Type": "text/plain",
      "Cache-Control": "no-cache, private",
      "Transfer-Encoding": "chunked",
    });
    res.flushHeaders();
    for (const l of shown) res.write(l);
    if (q.get("follow") !== "true") {
      res.end();
      return;
    }
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearInterval(timer);
      streams.delete(finish);
      if (!res.writableEnded) res.end();
    };
    // a follower that does not read is dropped once its queue is full, as a watcher is
    const timer = setInterval(() => {
      if (res.writableLength > watchBufferBytes) {
        res.destroy();
        finish();
      } else res.write(line());
    }, logInterval);
    streams.add(finish);
    res.once("close", finish);
  }

  async function resource(
    req: IncomingMessage,
    res: ServerResponse,
    attrs: RequestAttributes,
    q: URLSearchParams,
    user: UserAttributes,
  ): Promise<void> {
    const def = findResource(attrs.apiGroup, attrs.apiVersion, attrs.resource);
    if (!def) throw pathNotFound();
    const ns = def.namespaced ? attrs.namespace || undefined : undefined;
    const name = attrs.name;
    const sub = attrs.subresource;
    if (sub && !def.subresources[sub]) throw pathNotFound();
    if (!def.namespaced && attrs.namespace && attrs.resource !== "namespaces") throw pathNotFound();
    if (def.namespaced && !ns && attrs.verb !== "list" && attrs.verb !== "watch") {
      // kube serves namespaced kinds cluster-wide only for list and watch
      if (attrs.name) throw pathNotFound();
      throw new StatusError(
        405,
        "MethodNotAllowed",
        "the server does not allow this method on the requested resource",
        {},
      );
    }
    const verb = attrs.verb;
    const gv = def.group ? `${def.group}/${def.version}` : def.version;
    const accept = acceptOf(req);
    const encoding = negotiateResponse(req.headers.accept);
    // watch streams and tables are served in JSON only
    if (encoding === "none" || (encoding === "protobuf" && (verb === "watch" || accept.table)))
      throw notAcceptable();
    if (encoding === "protobuf" && sub !== "log") protobufResponses.add(res);
    const dryRun = q.getAll("dryRun").includes("All");
    const mgr = manager(req, q);
    if (!def.verbs.includes(verb) && !sub) throw methodNotSupported(def, verb);
    if (sub === "scale") {
      await scale(req, res, def, ns, name, verb, mgr, dryRun);
      return;
    }
    if (sub === "log") {
      if (verb !== "get")
        throw methodNotSupported({ group: def.group, resource: `${def.resource}/log` }, verb);
      podLog(req, res, def, ns as string, name, q);
      return;
    }
    switch (verb) {
      case "get": {
        const o = store.get(def, ns, name);
        if (accept.table)
          send(
            res,
            200,
            toTable(
              def,
              [o],
              o.metadata.resourceVersion as string,
              q.get("includeObject") ?? "Metadata",
              true,
            ),
            TABLE_CT,
          );
        else if (accept.partial) send(res, 200, partialMeta(o));
        else send(res, 200, o);
        return;
      }
      case "list": {
        // the stored objects themselves, read only: a list is not copied whole
        const items = store.listShared(def, ns, selectorOf(q));
        const rv = store.resourceVersion;
        if (accept.table)
          send(
            res,
            200,
            toTable(def, [...items], rv, q.get("includeObject") ?? "Metadata", true),
            TABLE_CT,
          );
        else if (accept.partial)
          send(res, 200, {
            kind: "PartialObjectMetadataList",
            apiVersion: "meta.k8s.io/v1",
            metadata: { resourceVersion: rv },
            items: items.map(partialMeta),
          });
        else if (protobufResponses.has(res))
          send(res, 200, {
            kind: `${def.kind}List`,
            apiVersion: gv,
            metadata: { resourceVersion: rv },
            items: items.map(stripForList),
          });
        else
          await streamList(
            res,
            { kind: `${def.kind}List`, apiVersion: gv, metadata: { resourceVersion: rv } },
            items,
            (o) => stringifyJSON(stripForList(o)),
          );
        return;
      }
      case "watch":
        watch(req, res, def, ns, name, q);
        return;
      case "create": {
        if (sub) throw methodNotSupported(def, "create");
        const body = await readObject(req, def);
        const review = answerReview(def.kind, body, user, opts);
        if (review) {
          send(res, 201, review);
          return;
        }
        const o = store.create(def, ns, body, { manager: mgr, dryRun });
        if (def.kind === "Pod" && !dryRun) podEvents(o);
        send(res, 201, o);
        return;
      }
      case "update": {
        const body = await readObject(req, def);
        const o = store.update(def, ns, name, body, {
          manager: mgr,
          subresource: sub || undefined,
          dryRun,
        });
        send(res, 200, o);
        return;
      }
      case "patch": {
        const type = mediaType(req);
        const buf = await readTyped(req, [
          "application/merge-patch+json",
          "application/strategic-merge-patch+json",
          "application/json-patch+json",
          "application/apply-patch+yaml",
        ]);
        const patch = decodeBody(buf, type, def);
        let cur: Obj | undefined;
        try {
          cur = store.get(def, ns, name);
        } catch (e) {
          if (type !== "application/apply-patch+yaml" || sub) throw e;
        }
        if (!cur) {
          // server-side apply creates what does not exist
          const o = store.create(def, ns, checkKind(patch, def), { manager: mgr, dryRun });
          send(res, 201, o);
          return;
        }
        let next: unknown;
        if (type === "application/json-patch+json") next = jsonPatch(cur, patch);
        else {
          if (typeof patch !== "object" || patch === null || Array.isArray(patch))
            throw badRequest(
              "json: cannot unmarshal array into Go value of type map[string]interface {}",
            );
          next = mergePatch(cur, patch);
        }
        if (typeof next !== "object" || next === null)
          throw badRequest("patch produced a non-object");
        const n = next as Obj;
        // a patch does not carry a stale resourceVersion unless it asks for optimistic locking
        const patchMeta = (patch as { metadata?: { resourceVersion?: unknown } }).metadata;
        if (
          !(
            type !== "application/json-patch+json" &&
            patchMeta &&
            patchMeta.resourceVersion !== undefined
          ) &&
          n.metadata
        ) {
          if (type !== "application/json-patch+json")
            n.metadata.resourceVersion = cur.metadata.resourceVersion;
        }
        const o = store.update(def, ns, name, checkKind(n, def), {
          manager: mgr,
          subresource: sub || undefined,
          dryRun,
        });
        send(res, 200, o);
        return;
      }
      case "delete": {
        const opts = await deleteOptions(req, def);
        const pre = (opts.preconditions ?? {}) as { uid?: string; resourceVersion?: string };
        const gone = store.delete(def, ns, name, {
          preconditionUID: pre.uid,
          preconditionRV: pre.resourceVersion,
          dryRun,
        });
        if (def.kind === "Pod" || def.kind === "Namespace") send(res, 200, gone);
        else
          send(res, 200, {
            kind: "Status",
            apiVersion: "v1",
            metadata: {},
            status: "Success",
            details: {
              name,
              ...(def.group ? { group: def.group } : {}),
              kind: def.resource,
              uid: gone.metadata.uid,
            },
          });
        return;
      }
      case "deletecollection": {
        await deleteOptions(req, def);
        const items = store.listShared(def, ns, selectorOf(q));
        const del = (o: Obj) =>
          store.delete(def, o.metadata.namespace, o.metadata.name as string, { dryRun });
        const head = { kind: `${def.kind}List`, apiVersion: gv };
        if (def.kind === "Namespace" || protobufResponses.has(res)) {
          // namespace deletions cascade, so the final resourceVersion is known only after
          const deleted = items.map((o) => stripForList(del(o)));
          send(res, 200, {
            ...head,
            metadata: { resourceVersion: store.resourceVersion },
            items: deleted,
          });
          return;
        }
        // each deletion takes one resourceVersion: the list's is known before it is written,
        // and every object is deleted and written out before the next one is touched
        const after = Number(store.resourceVersion) + (dryRun ? 0 : items.length);
        await streamList(
          res,
          { ...head, metadata: { resourceVersion: String(after) } },
          items,
          (o) => store.deletedItemJSON(del(o)),
        );
        return;
      }
      default:
        throw methodNotSupported(def, verb);
    }
  }

  /** The events a scheduler and kubelet would record for a new pod (not audited: no request). */
  function podEvents(pod: Obj): void {
    const evDef = findResource("", "v1", "events");
    if (!evDef) return;
    const m = pod.metadata;
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const containers =
      (pod.spec as { containers?: { name: string; image?: string }[] })?.containers ?? [];
    const node = (pod.spec as { nodeName?: string })?.nodeName ?? "kaudit-demo-node";
    const list: [string, string, string, string | undefined][] = [
      [
        "Scheduled",
        `Successfully assigned ${m.namespace}/${m.name} to ${node}`,
        "default-scheduler",
        undefined,
      ],
    ];
    for (const c of containers) {
      const fieldPath = `spec.containers{${c.name}}`;
      list.push([
        "Pulled",
        `Container image "${c.image}" already present on machine`,
        "kubelet",
        fieldPath,
      ]);
      list.push(["Created", `Created container: ${c.name}`, "kubelet", fieldPath]);
      list.push(["Started", `Started container ${c.name}`, "kubelet", fieldPath]);
    }
    // kube names events <object>.<hex nanoseconds>, so names sort in time order
    const base = BigInt(Date.now()) * 1_000_000n;
    for (const [i, [reason, message, component, fieldPath]] of list.entries()) {
      store.create(
        evDef,
        m.namespace,
        {
          metadata: { name: `${m.name}.${(base + BigInt(i)).toString(16)}` },
          involvedObject: {
            kind: "Pod",
            namespace: m.namespace,
            name: m.name,
            uid: m.uid,
            apiVersion: "v1",
            resourceVersion: m.resourceVersion,
            ...(fieldPath ? { fieldPath } : {}),
          },
          reason,
          message,
          source: component === "kubelet" ? { component, host: node } : { component },
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
          type: "Normal",
          reportingComponent: component,
          reportingInstance: component === "kubelet" ? node : "",
        },
        { manager: component },
      );
    }
  }

  /** The `scale` subresource (autoscaling/v1 Scale) of deployments. */
  async function scale(
    req: IncomingMessage,
    res: ServerResponse,
    def: ResourceDef,
    ns: string | undefined,
    name: string,
    verb: string,
    mgr: string,
    dryRun: boolean,
  ): Promise<void> {
    const toScale = (o: Obj) => {
      const spec = (o.spec ?? {}) as {
        replicas?: number;
        selector?: { matchLabels?: Record<string, string> };
      };
      const labels = spec.selector?.matchLabels ?? {};
      const m = o.metadata;
      return {
        kind: "Scale",
        apiVersion: "autoscaling/v1",
        metadata: {
          name: m.name,
          namespace: m.namespace,
          uid: m.uid,
          resourceVersion: m.resourceVersion,
          creationTimestamp: m.creationTimestamp,
        },
        spec: { replicas: spec.replicas ?? 1 },
        status: {
          replicas: (o.status as { replicas?: number } | undefined)?.replicas ?? 0,
          selector: Object.entries(labels)
            .map(([k, v]) => `${k}=${v}`)
            .join(","),
        },
      };
    };
    const cur = store.get(def, ns, name);
    if (verb === "get") {
      send(res, 200, toScale(cur));
      return;
    }
    if (verb !== "patch" && verb !== "update")
      throw methodNotSupported({ group: def.group, resource: `${def.resource}/scale` }, verb);
    const type = mediaType(req);
    const buf = await readTyped(
      req,
      verb === "update"
        ? OBJECT_TYPES
        : [
            "application/merge-patch+json",
            "application/strategic-merge-patch+json",
            "application/json-patch+json",
          ],
    );
    const body = decodeBody(buf, type, def);
    if (type === PROTOBUF_MEDIA_TYPE) logRequestObject(req, body);
    const next = (
      verb === "update"
        ? body
        : type === "application/json-patch+json"
          ? jsonPatch(toScale(cur), body)
          : mergePatch(toScale(cur), body)
    ) as { spec?: { replicas?: unknown } };
    const replicas = next?.spec?.replicas;
    // what kube's decoder says of a non-number; a value is never quoted from the body
    if (typeof replicas === "object" && replicas !== null)
      throw badRequest(
        `Scale in version "v1" cannot be handled as a Scale: json: cannot unmarshal ${Array.isArray(replicas) ? "array" : "object"} into Go struct field ScaleSpec.spec.replicas of type int32`,
      );
    if (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < 0)
      throw invalid("Scale", "autoscaling", name, [
        {
          field: "spec.replicas",
          message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
        },
      ]);
    const updated = store.update(
      def,
      ns,
      name,
      { ...cur, spec: { ...(cur.spec as object), replicas } },
      { manager: mgr, dryRun },
    );
    send(res, 200, toScale(updated));
  }

  /** Reads a create or update body (JSON, YAML or kube protobuf) as an object of the kind. */
  async function readObject(
    req: IncomingMessage,
    def: ResourceDef,
  ): Promise<Record<string, unknown>> {
    const type = mediaType(req);
    const body = checkKind(decodeBody(await readTyped(req, OBJECT_TYPES), type, def), def);
    // the audit middleware captures JSON bodies only: hand it the decoded object, as kube logs it
    if (type === PROTOBUF_MEDIA_TYPE) logRequestObject(req, body);
    return body;
  }

  async function readTyped(req: IncomingMessage, types: string[]): Promise<Buffer> {
    const type = mediaType(req);
    const buf = await readBody(req, limit);
    if (!types.includes(type)) throw unsupportedMediaType(req.headers["content-type"] ?? "");
    return buf;
  }

  /**
   * Reads DeleteOptions. Like kube's delete handler, the decoded object (with the kind and the
   * meta group version it was decoded as) is what the audit event records.
   */
  async function deleteOptions(
    req: IncomingMessage,
    def: ResourceDef,
  ): Promise<Record<string, unknown>> {
    const buf = await readBody(req, limit);
    if (buf.length === 0) return {};
    const o = decodeBody(buf, mediaType(req), undefined);
    if (typeof o !== "object" || o === null || Array.isArray(o))
      throw badRequest("DeleteOptions: expected an object");
    const decoded = {
      kind: "DeleteOptions",
      apiVersion: def.group ? "meta.k8s.io/v1" : "v1",
      ...(o as Record<string, unknown>),
    };
    logRequestObject(req, decoded);
    return decoded;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? "/";
    const qi = url.indexOf("?");
    const q = new URLSearchParams(qi >= 0 ? url.slice(qi + 1) : "");
    let verbLabel = (req.method ?? "GET").toLowerCase();
    let resourceLabel = "";
    try {
      let user = opts.userOf(req) ?? { name: ANONYMOUS, groups: [ALL_UNAUTHENTICATED] };
      user = impersonate(req, user);
      const attrs = attributesFromRequest({ method: req.method ?? "GET", url, user });
      verbLabel = attrs.verb;
      resourceLabel = attrs.resource;
      // kube's chain: impersonation, then the in-flight limit, then authorisation
      if (!inflight.admit(attrs, user, res)) return;
      authorizeOrThrow(
        req,
        {
          user,
          verb: attrs.verb,
          isResourceRequest: attrs.isResourceRequest,
          path: attrs.path,
          apiGroup: attrs.apiGroup,
          namespace: attrs.namespace,
          resource: attrs.resource,
          subresource: attrs.subresource,
          name: attrs.name,
        },
        true,
      );
      if (!attrs.isResourceRequest) {
        // discovery documents are served in JSON only
        if (/^\/apis?(\/|$)/.test(attrs.path) && negotiateResponse(req.headers.accept) !== "json")
          throw notAcceptable();
        if (!(await discovery(req, res, attrs.path))) throw pathNotFound();
      } else {
        await resource(req, res, attrs, q, user);
      }
    } catch (err) {
      if (!(err instanceof StatusError)) throw err;
      if (res.headersSent) {
        res.destroy();
      } else {
        if (!req.complete) {
          // what the client still sends is not read: discard it and close after answering
          res.setHeader("Connection", "close");
          req.resume();
        }
        sendStatus(res, err);
      }
    } finally {
      opts.onRequest?.({ verb: verbLabel, resource: resourceLabel, code: res.statusCode });
    }
  }

  return {
    handle,
    closeStreams: () => {
      for (const f of [...streams]) f();
    },
    store,
  };
}
