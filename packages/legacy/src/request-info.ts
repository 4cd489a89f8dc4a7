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

/** splitUri's results (reused: resolution is synchronous). */
let uriPath = "";
let uriQuery = "";

function splitUri(uri: string): void {
  let u = uri;
  // An absolute-form request target (`http://host/path`) keeps only its path and query.
  if (u.charCodeAt(0) !== 0x2f) {
    const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*/.exec(u);
    if (m !== null) u = u.slice(m[0].length);
  }
  const hash = u.indexOf("#");
  if (hash !== -1) u = u.slice(0, hash);
  const q = u.indexOf("?");
  if (q === -1) {
    uriPath = u;
    uriQuery = "";
  } else {
    uriPath = u.slice(0, q);
    uriQuery = u.slice(q + 1);
  }
}

/** The first value of a query parameter (Go's url.Values.Get semantics: `+` is a space). */
function queryValues(query: string, key: string): string[] {
  const out: string[] = [];
  if (query === "") return out;
  let start = 0;
  while (start <= query.length) {
    let amp = query.indexOf("&", start);
    if (amp === -1) amp = query.length;
    const part = query.slice(start, amp);
    start = amp + 1;
    if (part === "") continue;
    const eq = part.indexOf("=");
    const k = eq === -1 ? part : part.slice(0, eq);
    if (k !== key && (!/[%+]/.test(k) || decodeQuery(k) !== key)) continue;
    out.push(eq === -1 ? "" : decodeQuery(part.slice(eq + 1)));
  }
  return out;
}

function decodeQuery(s: string): string {
  if (!s.includes("%") && !s.includes("+")) return s;
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

/** More path segments than RequestInfo ever looks at. */
const MAX_SEGMENTS = 10;

/**
 * kube's splitPath (trim `/`, split on `/`), keeping only the first MAX_SEGMENTS segments:
 * RequestInfo reads at most nine, and only compares the count with small numbers.
 */
function splitPath(path: string): string[] {
  let a = 0;
  let b = path.length;
  while (a < b && path.charCodeAt(a) === 0x2f) a++;
  while (b > a && path.charCodeAt(b - 1) === 0x2f) b--;
  const parts = PARTS;
  parts.length = 0;
  if (a === b) return parts;
  while (parts.length < MAX_SEGMENTS) {
    const slash = path.indexOf("/", a);
    if (slash === -1 || slash >= b) {
      parts.push(path.slice(a, b));
      break;
    }
    parts.push(path.slice(a, slash));
    a = slash + 1;
  }
  return parts;
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
  return { ...resolveRequest(method, uri) };
}

const PARTS: string[] = [];
const INFO: LegacyRequestInfo = {
  isResourceRequest: false,
  path: "",
  verb: "",
  apiPrefix: "",
  apiGroup: "",
  apiVersion: "",
  namespace: "",
  resource: "",
  subresource: "",
  name: "",
};

/**
 * {@link requestInfo} into one reused object (valid until the next call), for the converter's
 * hot path.
 */
export function resolveRequest(method: string, uri: string): LegacyRequestInfo {
  splitUri(uri);
  const query = uriQuery;
  const path = unescapePath(uriPath);
  const info = INFO;
  info.isResourceRequest = false;
  info.path = path;
  info.verb = method.toLowerCase();
  info.apiPrefix = "";
  info.apiGroup = "";
  info.apiVersion = "";
  info.namespace = "";
  info.resource = "";
  info.subresource = "";
  info.name = "";
  const parts = splitPath(path);
  // `p` is where the unread parts start (kube re-slices; an index is cheaper).
  let p = 0;
  if (parts.length < 3 || !API_PREFIXES.has(parts[0]!)) return info;
  const apiPrefix = parts[0]!;
  p = 1;
  let apiGroup = "";
  if (!GROUPLESS_PREFIXES.has(apiPrefix)) {
    if (parts.length - p < 3) return info;
    apiGroup = parts[p]!;
    p++;
  }
  const apiVersion = parts[p]!;
  p++;

  let verb: string;
  if (SPECIAL_VERBS.has(parts[p]!)) {
    // kube answers 400 for `/api/v1/watch` alone; no request info to rebuild.
    if (parts.length - p < 2) return info;
    verb = parts[p]!;
    p++;
  } else {
    // Go compares req.Method case-sensitively.
    switch (method) {
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

  if (parts[p] === "namespaces") {
    if (parts.length - p > 1) {
      info.namespace = parts[p + 1]!;
      if (parts.length - p > 2 && !NAMESPACE_SUBRESOURCES.has(parts[p + 2]!)) p += 2;
    }
  }
  const n = parts.length - p;
  if (n >= 3 && !SPECIAL_VERBS_NO_SUBRESOURCES.has(verb)) info.subresource = parts[p + 2]!;
  if (n >= 2) info.name = parts[p + 1]!;
  if (n >= 1) info.resource = parts[p]!;

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
