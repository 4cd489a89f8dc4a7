/**
 * The part of kube-apiserver's RequestInfo resolution (k8s.io/apiserver
 * `pkg/endpoints/request/requestinfo.go`, spec §5) needed to rebuild verb and objectRef from a
 * legacy line's HTTP method and uri. Kept local so @kaudit/legacy does not depend on
 * @kaudit/policy; it belongs in @kaudit/api next to RequestAttributes.
 */

/** What RequestInfo says about a request. */
export interface LegacyRequestInfo {
  isResourceRequest: boolean;
  /** The URL path (percent-decoded), without the query. */
  path: string;
  verb: string;
  apiPrefix: string;
  apiGroup: string;
  apiVersion: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
}

const API_PREFIXES = new Set(["api", "apis"]);
const GROUPLESS_PREFIXES = new Set(["api"]);
const SPECIAL_VERBS = new Set(["proxy", "watch"]);
const SPECIAL_VERBS_NO_SUBRESOURCES = new Set(["proxy"]);
const NAMESPACE_SUBRESOURCES = new Set(["status", "finalize"]);

/** Go's url.PathUnescape-ish: bad escapes are left as they are instead of failing. */
function unescapePath(p: string): string {
  if (!p.includes("%")) return p;
  return p.replace(/(?:%[0-9A-Fa-f]{2})+/g, (m) => {
    try {
      return decodeURIComponent(m);
    } catch {
      return m;
    }
  });
}

function splitUri(uri: string): { path: string; query: string } {
  let u = uri;
  // An absolute-form request target (`http://host/path`) keeps only its path and query.
  const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*/.exec(u);
  if (m !== null) u = u.slice(m[0].length);
  const hash = u.indexOf("#");
  if (hash !== -1) u = u.slice(0, hash);
  const q = u.indexOf("?");
  return q === -1 ? { path: u, query: "" } : { path: u.slice(0, q), query: u.slice(q + 1) };
}

/** The first value of a query parameter (Go's url.Values.Get semantics: `+` is a space). */
function queryValues(query: string, key: string): string[] {
  const out: string[] = [];
  if (query === "") return out;
  for (const part of query.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const k = eq === -1 ? part : part.slice(0, eq);
    if (decodeQuery(k) !== key) continue;
    out.push(eq === -1 ? "" : decodeQuery(part.slice(eq + 1)));
  }
  return out;
}

function decodeQuery(s: string): string {
  const t = s.replace(/\+/g, " ");
  try {
    return decodeURIComponent(t);
  } catch {
    return t;
  }
}

/**
 * The value an exact-match `metadata.name` term of a field selector requires
 * (`fields.Selector.RequiresExactMatch`), or undefined. Terms are separated by unescaped `,`;
 * `\,` `\=` `\\` are escapes.
 */
function fieldSelectorName(selector: string): string | undefined {
  const terms: string[] = [];
  let cur = "";
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i]!;
    if (c === "\\" && i + 1 < selector.length) {
      cur += c + selector[i + 1];
      i++;
    } else if (c === ",") {
      terms.push(cur);
      cur = "";
    } else cur += c;
  }
  terms.push(cur);
  for (const term of terms) {
    const m = /^(.*?)(==|!=|=)(.*)$/s.exec(term);
    if (m === null) return undefined; // a parse error: kube falls back to "list", no name
    if (m[1]!.trim() === "metadata.name" && m[2] !== "!=") {
      return m[3]!.trim().replace(/\\(.)/g, "$1");
    }
  }
  return undefined;
}

/** path.IsValidPathSegmentName: not `.`/`..`, no `/` or `%`. */
function validPathSegmentName(name: string): boolean {
  return name !== "." && name !== ".." && !name.includes("/") && !name.includes("%");
}

/**
 * Resolves an HTTP method and request URI the way kube-apiserver's RequestInfoFactory does
 * (API prefixes `api` and `apis`, groupless prefix `api`).
 */
export function requestInfo(method: string, uri: string): LegacyRequestInfo {
  const { path: rawPath, query } = splitUri(uri);
  const path = unescapePath(rawPath);
  const info: LegacyRequestInfo = {
    isResourceRequest: false,
    path,
    verb: method.toLowerCase(),
    apiPrefix: "",
    apiGroup: "",
    apiVersion: "",
    namespace: "",
    resource: "",
    subresource: "",
    name: "",
  };
  const trimmed = path.replace(/^\/+|\/+$/g, "");
  let parts = trimmed === "" ? [] : trimmed.split("/");
  if (parts.length < 3 || !API_PREFIXES.has(parts[0]!)) return info;
  const apiPrefix = parts[0]!;
  parts = parts.slice(1);
  let apiGroup = "";
  if (!GROUPLESS_PREFIXES.has(apiPrefix)) {
    if (parts.length < 3) return info;
    apiGroup = parts[0]!;
    parts = parts.slice(1);
  }
  const apiVersion = parts[0]!;
  parts = parts.slice(1);

  let verb: string;
  if (SPECIAL_VERBS.has(parts[0]!)) {
    // kube answers 400 for `/api/v1/watch` alone; no request info to rebuild.
    if (parts.length < 2) return info;
    verb = parts[0]!;
    parts = parts.slice(1);
  } else {
    switch (method.toUpperCase()) {
      case "POST":
        verb = "create";
        break;
      case "GET":
      case "HEAD":
        verb = "get";
        break;
      case "PUT":
        verb = "update";
        break;
      case "PATCH":
        verb = "patch";
        break;
      case "DELETE":
        verb = "delete";
        break;
      default:
        verb = "";
    }
  }
  info.isResourceRequest = true;
  info.apiPrefix = apiPrefix;
  info.apiGroup = apiGroup;
  info.apiVersion = apiVersion;

  if (parts[0] === "namespaces") {
    if (parts.length > 1) {
      info.namespace = parts[1]!;
      if (parts.length > 2 && !NAMESPACE_SUBRESOURCES.has(parts[2]!)) parts = parts.slice(2);
    }
  }
  if (parts.length >= 3 && !SPECIAL_VERBS_NO_SUBRESOURCES.has(verb)) info.subresource = parts[2]!;
  if (parts.length >= 2) info.name = parts[1]!;
  if (parts.length >= 1) info.resource = parts[0]!;

  if (info.name === "" && verb === "get") {
    const watch = queryValues(query, "watch");
    const w = watch[0];
    verb = w !== undefined && w !== "0" && w.toLowerCase() !== "false" ? "watch" : "list";
    const selector = queryValues(query, "fieldSelector")[0];
    if (selector !== undefined) {
      const name = fieldSelectorName(selector);
      if (name !== undefined && validPathSegmentName(name)) info.name = name;
    }
  }
  if (info.name === "" && verb === "delete") verb = "deletecollection";
  info.verb = verb;
  return info;
}
