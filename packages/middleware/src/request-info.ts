import type { RequestAttributes, UserAttributes } from "@kaudit/api";

/**
 * LOCAL FALLBACKS for `@kaudit/policy`'s `attributesFromRequest`, `isLongRunning` and
 * `stripManagedFields`, used while that package does not export them yet. They follow
 * kube-apiserver's RequestInfoFactory (pkg/endpoints/request/requestinfo.go) and LongRunningFunc.
 */

const NAMESPACE_SUBRESOURCES = new Set(["status", "finalize"]);

function parseBoolParam(v: string): boolean {
  const l = v.toLowerCase();
  return !(v === "0" || l === "f" || l === "false" || l === "n" || l === "no");
}

function exactNameFromFieldSelector(sel: string): string | undefined {
  for (const term of sel.split(",")) {
    const t = term.trim();
    let m = /^metadata\.name\s*==?\s*(.*)$/.exec(t);
    if (!m) continue;
    if (t.includes("!=")) continue;
    const name = (m[1] as string).trim();
    m = null;
    if (name === "." || name === ".." || name.includes("/") || name.includes("%")) return undefined;
    return name;
  }
  return undefined;
}

/** Kube RequestInfo resolution for a request line (fallback for `@kaudit/policy`). */
export function attributesFromRequestLocal(input: {
  method: string;
  url: string;
  user?: UserAttributes | undefined;
}): RequestAttributes {
  const url = input.url || "/";
  const q = url.indexOf("?");
  let path = q < 0 ? url : url.slice(0, q);
  if (path.charCodeAt(0) !== 47 && /^https?:\/\//i.test(path)) {
    try {
      path = new URL(url).pathname;
    } catch {
      /* keep */
    }
  }
  const query = q < 0 ? "" : url.slice(q + 1);
  const method = input.method.toUpperCase();
  const attrs: RequestAttributes = {
    verb: input.method.toLowerCase(),
    isResourceRequest: false,
    path,
    apiGroup: "",
    apiVersion: "",
    namespace: "",
    resource: "",
    subresource: "",
    name: "",
  };
  if (input.user) attrs.user = input.user;
  // strings.Trim(path, "/") then split on "/"
  let b = 0;
  let e = path.length;
  while (b < e && path.charCodeAt(b) === 47) b++;
  while (e > b && path.charCodeAt(e - 1) === 47) e--;
  let parts = b === e ? [] : path.slice(b, e).split("/");
  if (parts.length < 3) return attrs;
  const prefix = parts[0];
  if (prefix !== "api" && prefix !== "apis") return attrs;
  parts = parts.slice(1);
  if (prefix === "apis") {
    if (parts.length < 3) return attrs;
    attrs.apiGroup = parts[0] as string;
    parts = parts.slice(1);
  }
  attrs.isResourceRequest = true;
  attrs.apiVersion = parts[0] as string;
  parts = parts.slice(1);
  if (parts[0] === "watch" || parts[0] === "proxy") {
    if (parts.length < 2) return attrs;
    attrs.verb = parts[0];
    parts = parts.slice(1);
  } else {
    attrs.verb =
      method === "POST"
        ? "create"
        : method === "GET" || method === "HEAD"
          ? "get"
          : method === "PUT"
            ? "update"
            : method === "PATCH"
              ? "patch"
              : method === "DELETE"
                ? "delete"
                : "";
  }
  if (parts[0] === "namespaces") {
    if (parts.length > 1) {
      attrs.namespace = parts[1] as string;
      if (parts.length > 2 && !NAMESPACE_SUBRESOURCES.has(parts[2] as string))
        parts = parts.slice(2);
    }
  }
  if (parts.length >= 3 && attrs.verb !== "proxy") attrs.subresource = parts[2] as string;
  if (parts.length >= 2) attrs.name = parts[1] as string;
  if (parts.length >= 1) attrs.resource = parts[0] as string;
  if (attrs.name === "" && attrs.verb === "get") {
    const params = new URLSearchParams(query);
    const watch = params.get("watch");
    attrs.verb = watch !== null && parseBoolParam(watch) ? "watch" : "list";
    const fs = params.get("fieldSelector");
    if (fs) {
      const name = exactNameFromFieldSelector(fs);
      if (name) attrs.name = name;
    }
  }
  if (attrs.name === "" && attrs.verb === "delete") attrs.verb = "deletecollection";
  return attrs;
}

const LONG_RUNNING_SUBRESOURCES = new Set(["attach", "exec", "proxy", "log", "portforward"]);

/** kube-apiserver's LongRunningFunc (fallback for `@kaudit/policy`'s `isLongRunning`). */
export function isLongRunningLocal(attrs: RequestAttributes): boolean {
  if (attrs.isResourceRequest) {
    return (
      attrs.verb === "watch" ||
      attrs.verb === "proxy" ||
      LONG_RUNNING_SUBRESOURCES.has(attrs.subresource)
    );
  }
  return attrs.path.startsWith("/debug/pprof/");
}

function stripOne(obj: unknown): unknown {
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) return obj;
  const o = obj as Record<string, unknown>;
  const meta = o.metadata;
  let out: Record<string, unknown> = o;
  if (
    typeof meta === "object" &&
    meta !== null &&
    !Array.isArray(meta) &&
    "managedFields" in meta
  ) {
    const { managedFields: _drop, ...rest } = meta as Record<string, unknown>;
    out = { ...o, metadata: rest };
  }
  if (Array.isArray(o.items)) {
    out = out === o ? { ...o } : out;
    out.items = (o.items as unknown[]).map(stripOne);
  }
  if (o.kind === "Table" && Array.isArray(o.rows)) {
    out = out === o ? { ...o } : out;
    out.rows = (o.rows as unknown[]).map((row) => {
      if (typeof row !== "object" || row === null) return row;
      const r = row as Record<string, unknown>;
      return "object" in r ? { ...r, object: stripOne(r.object) } : r;
    });
  }
  return out;
}

/** Copy without `metadata.managedFields` (fallback for `@kaudit/policy`'s `stripManagedFields`). */
export function stripManagedFieldsLocal<T>(obj: T): T {
  return stripOne(obj) as T;
}
