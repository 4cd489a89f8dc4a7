import type { RequestAttributes, UserAttributes } from "./contracts";
import { isValidLabelSelector } from "./label-selector";
import type { Event, UserInfo } from "./types";

/** What {@link attributesFromRequest} needs: the HTTP method, the request-target and the user. */
export interface RequestLike {
  /** The HTTP method, e.g. `GET`. */
  method: string;
  /** The request-target as sent (`/api/v1/pods?watch=1`) or an absolute URL. */
  url: string;
  /** The authenticated user; absent for an unauthenticated request. */
  user?: UserAttributes | undefined;
}

// kube-apiserver's RequestInfoFactory: APIPrefixes {api, apis}, groupless prefix api.
const SPECIAL_VERBS = new Set(["proxy", "watch"]);
const NAMESPACE_SUBRESOURCES = new Set(["status", "finalize"]);

const METHOD_VERBS = new Map<string, string>([
  ["POST", "create"],
  ["GET", "get"],
  ["HEAD", "get"],
  ["PUT", "update"],
  ["PATCH", "patch"],
  ["DELETE", "delete"],
]);

/** Splits a request-target into its decoded path and its raw query (Go's url.URL Path / RawQuery). */
function splitTarget(url: string): { path: string; query: string } {
  let target = url;
  const hash = target.indexOf("#");
  if (hash >= 0) target = target.slice(0, hash);
  // Absolute form: scheme://authority/path (the usual origin form starts with `/`).
  if (target.charCodeAt(0) !== 47) {
    const scheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?]*/.exec(target);
    if (scheme) target = target.slice(scheme[0].length);
  }
  const q = target.indexOf("?");
  const rawPath = q >= 0 ? target.slice(0, q) : target;
  const query = q >= 0 ? target.slice(q + 1) : "";
  return { path: unescapePath(rawPath), query };
}

/** Go's url.PathUnescape: `%XX` decoded, `+` kept; a malformed escape leaves the text as is. */
function unescapePath(raw: string): string {
  if (!raw.includes("%")) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** Go's url.ParseQuery: `+` is a space, `%XX` decoded; entries that fail to decode are skipped. */
function parseQuery(query: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (query === "") return out;
  for (const part of query.split("&")) {
    if (part === "" || part.includes(";")) continue;
    const eq = part.indexOf("=");
    const rawKey = eq >= 0 ? part.slice(0, eq) : part;
    const rawValue = eq >= 0 ? part.slice(eq + 1) : "";
    let key: string;
    let value: string;
    try {
      key = decodeURIComponent(rawKey.replace(/\+/g, " "));
      value = decodeURIComponent(rawValue.replace(/\+/g, " "));
    } catch {
      continue;
    }
    const list = out.get(key);
    if (list) list.push(value);
    else out.set(key, [value]);
  }
  return out;
}

/** apimachinery's query-parameter bool conversion: `false` and `0` (any case) are false. */
function queryBool(value: string): boolean {
  const v = value.toLowerCase();
  return !(v === "false" || v === "0");
}

interface FieldTerm {
  field: string;
  op: "=" | "==" | "!=";
  value: string;
}

/**
 * Parses a field selector as apimachinery fields.ParseSelector does: terms split at unescaped
 * `,`, empty terms skipped, terms sorted, each split at the first `!=`, `==` or `=` (no escape
 * handling on the left), values unescaped (`\\`, `\,`, `\=`; a bare `,` or `=` or an unknown
 * escape is an error). Returns undefined on a syntax error, which makes kube-apiserver ignore the
 * list options.
 */
function parseFieldSelector(selector: string): FieldTerm[] | undefined {
  const terms: FieldTerm[] = [];
  if (selector === "") return terms;
  const parts: string[] = [];
  let start = 0;
  let inSlash = false;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (inSlash) inSlash = false;
    else if (c === "\\") inSlash = true;
    else if (c === ",") {
      parts.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(selector.slice(start));
  parts.sort();
  for (const part of parts) {
    if (part === "") continue;
    let op: FieldTerm["op"] | undefined;
    let at = -1;
    for (let i = 0; i < part.length && op === undefined; i++) {
      if (part.startsWith("!=", i)) op = "!=";
      else if (part.startsWith("==", i)) op = "==";
      else if (part[i] === "=") op = "=";
      if (op !== undefined) at = i;
    }
    if (op === undefined) return undefined;
    const rawValue = part.slice(at + op.length);
    let value = "";
    let slash = false;
    for (const c of rawValue) {
      if (slash) {
        if (c !== "\\" && c !== "," && c !== "=") return undefined;
        value += c;
        slash = false;
      } else if (c === "\\") slash = true;
      else if (c === "," || c === "=") return undefined;
      else value += c;
    }
    if (slash) return undefined;
    terms.push({ field: part.slice(0, at), op, value });
  }
  return terms;
}

/** apimachinery path.IsValidPathSegmentName: not `.` or `..`, and no `/` or `%`. */
function isPathSegmentName(name: string): boolean {
  return name !== "." && name !== ".." && !name.includes("/") && !name.includes("%");
}

const INT_PARAMS = new Set(["limit", "timeoutSeconds"]);

/**
 * Resolves a request into the attributes a policy is evaluated against, exactly as
 * kube-apiserver's RequestInfoFactory (pkg/endpoints/request/requestinfo.go) and
 * GetAuthorizerAttributes do: `/api/<v>/...` and `/apis/<group>/<v>/...` are resource requests,
 * `watch`/`proxy` path prefixes set the verb, a `get` without a name becomes `list` (or `watch`
 * with `?watch=true`), a `delete` without a name `deletecollection`, `namespaces/<ns>` sets the
 * namespace (also for `GET /api/v1/namespaces/<ns>`), and a list/watch with
 * `fieldSelector=metadata.name=<n>` gets the name `<n>`.
 *
 * @example
 * attributesFromRequest({ method: "GET", url: "/api/v1/namespaces/kube-system/pods?watch=1" })
 * // { verb: "watch", isResourceRequest: true, resource: "pods", namespace: "kube-system", ... }
 */
export function attributesFromRequest(request: RequestLike): RequestAttributes {
  const { path, query } = splitTarget(request.url);
  // Go compares the method case-sensitively: `get` is not GET.
  const method = request.method;
  const attrs: RequestAttributes = {
    verb: request.method.toLowerCase(),
    isResourceRequest: false,
    path,
    apiGroup: "",
    apiVersion: "",
    namespace: "",
    resource: "",
    subresource: "",
    name: "",
  };
  if (request.user !== undefined) attrs.user = request.user;

  // strings.Trim(path, "/") then strings.Split(path, "/"); `p` indexes the remaining parts.
  let start = 0;
  let end = path.length;
  while (start < end && path.charCodeAt(start) === 47) start++;
  while (end > start && path.charCodeAt(end - 1) === 47) end--;
  if (end - start < 5) return attrs; // shorter than "a/b/c"
  const parts = path.slice(start, end).split("/");
  let p = 0;
  if (parts.length < 3) return attrs;
  const prefix = parts[0];
  if (prefix !== "api" && prefix !== "apis") return attrs;
  p = 1;
  if (prefix === "apis") {
    if (parts.length - p < 3) return attrs;
    attrs.apiGroup = parts[p++]!;
  }
  attrs.isResourceRequest = true;
  attrs.apiVersion = parts[p++]!;

  if (SPECIAL_VERBS.has(parts[p]!)) {
    // kube returns an error here ("unable to determine kind and namespace from url") with the
    // attributes known so far; the verb stays the HTTP-derived one it had not yet computed.
    if (parts.length - p < 2) return attrs;
    attrs.verb = parts[p++]!;
  } else {
    attrs.verb = METHOD_VERBS.get(method) ?? "";
  }

  if (parts[p] === "namespaces") {
    if (parts.length - p > 1) {
      attrs.namespace = parts[p + 1]!;
      if (parts.length - p > 2 && !NAMESPACE_SUBRESOURCES.has(parts[p + 2]!)) p += 2;
    }
  }

  const n = parts.length - p;
  if (n >= 3 && attrs.verb !== "proxy") attrs.subresource = parts[p + 2]!;
  if (n >= 2) attrs.name = parts[p + 1]!;
  if (n >= 1) attrs.resource = parts[p]!;

  if (attrs.name === "" && attrs.verb === "get") {
    const params = parseQuery(query);
    let watch = false;
    let name = "";
    let ok = true;
    for (const [key, values] of params) {
      const v = values[0]!;
      if (INT_PARAMS.has(key) && !/^[+-]?\d+$/.test(v)) ok = false;
      if (key === "fieldSelector") {
        const terms = parseFieldSelector(v);
        if (terms === undefined) ok = false;
        else {
          // RequiresExactMatch: the first term on the field with `=` or `==`.
          const term = terms.find((t) => t.field === "metadata.name" && t.op !== "!=");
          if (term) name = term.value;
        }
      }
      if (key === "labelSelector" && !isValidLabelSelector(v)) ok = false;
      if (key === "watch") watch = queryBool(v);
    }
    if (!ok) {
      // DecodeParameters failed: kube falls back to list, keeps only an explicit watch.
      name = "";
      const w = params.get("watch");
      watch = w !== undefined && queryBool(w[0]!);
    }
    attrs.verb = watch ? "watch" : "list";
    if (name !== "" && isPathSegmentName(name)) attrs.name = name;
  }
  if (attrs.name === "" && attrs.verb === "delete") attrs.verb = "deletecollection";
  return attrs;
}

const LONG_RUNNING_SUBRESOURCES = new Set(["attach", "exec", "proxy", "log", "portforward"]);

/**
 * kube-apiserver's LongRunningFunc (BasicLongRunningRequestCheck with the verbs `watch`,
 * `proxy` and the subresources `attach`, `exec`, `proxy`, `log`, `portforward`, plus the
 * non-resource prefix `/debug/pprof/`). Long-running requests get a ResponseStarted event.
 */
export function isLongRunning(attrs: RequestAttributes): boolean {
  // pkg/server/filters/longrunning.go: the verb check applies to every request.
  if (attrs.verb === "watch" || attrs.verb === "proxy") return true;
  if (attrs.isResourceRequest) return LONG_RUNNING_SUBRESOURCES.has(attrs.subresource);
  return attrs.path.startsWith("/debug/pprof/");
}

function userFromInfo(info: UserInfo | undefined): UserAttributes | undefined {
  // kube records `user: {}` for an unauthenticated request (no user.Info at all).
  if (info === undefined || info === null) return undefined;
  const { username, uid, groups, extra } = info;
  if (username === undefined && uid === undefined && groups === undefined && extra === undefined) {
    return undefined;
  }
  const user: UserAttributes = { name: username ?? "" };
  if (uid !== undefined) user.uid = uid;
  if (groups !== undefined) user.groups = groups;
  if (extra !== undefined) user.extra = extra;
  return user;
}

/**
 * The attributes a recorded event implies, so a policy can be replayed over a log: the verb,
 * the user (absent when the event's `user` is `{}`), the path of `requestURI`, and, for events
 * with an `objectRef`, the resource attributes. Events without an objectRef are non-resource
 * requests (kube only writes objectRef for resource requests).
 *
 * Note: the policy sees the *authenticated* user (`user`), never `impersonatedUser`.
 */
export function attributesFromEvent(event: Event): RequestAttributes {
  const { path } = splitTarget(event.requestURI ?? "");
  const ref = event.objectRef;
  const attrs: RequestAttributes = {
    verb: event.verb ?? "",
    isResourceRequest: ref !== undefined,
    path,
    apiGroup: ref?.apiGroup ?? "",
    apiVersion: ref?.apiVersion ?? "",
    namespace: ref?.namespace ?? "",
    resource: ref?.resource ?? "",
    subresource: ref?.subresource ?? "",
    name: ref?.name ?? "",
  };
  if (ref !== undefined && ref.name !== undefined && ref.name !== "") {
    // objectRef.name of a create is filled from the body after policy evaluation
    // (LogRequestObject); the policy saw no name. Recover the request-time name from the URI.
    const fromUri = attributesFromRequest({ method: "GET", url: event.requestURI ?? "" });
    if (event.verb === "create" && fromUri.isResourceRequest) attrs.name = fromUri.name;
  }
  const user = userFromInfo(event.user);
  if (user !== undefined) attrs.user = user;
  return attrs;
}
