import { randomUUID } from "node:crypto";
import type { Obj, ResourceDef } from "./resources";
import { findResource, RESOURCES } from "./resources";
import { copyJSON, setOwn, stringifyJSON } from "./safe-json";
import { alreadyExists, conflict, invalid, notFound, StatusError } from "./status";

/** A watch event as kube sends it. */
export interface WatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: Obj;
}

interface HistoryEntry {
  rv: number;
  def: ResourceDef;
  namespace: string;
  type: WatchEvent["type"];
  /** The object as JSON: compact, counted in bytes, and parsed back without recursion. */
  json: string;
}

/**
 * What a watcher is handed per event: the object (shared, read-only: do not change it) and the
 * event's JSON line, built once for all watchers of the event (`{"type":…,"object":…}\n`).
 */
export type WatchSend = (type: WatchEvent["type"], obj: Obj, line: () => Buffer) => void;

interface Watcher {
  def: ResourceDef;
  namespace: string | undefined;
  send: WatchSend;
}

/** Bounds of the watch history. */
export interface StoreOptions {
  /** Events kept; default 5000. */
  historyEvents?: number;
  /** Bytes of JSON kept; default 32 MiB. */
  historyBytes?: number;
}

/** kube's `DefaultMaxUpdateManagers`: managedFields entries from updates kept per object. */
export const MAX_UPDATE_MANAGERS = 10;

/** The manager that older update entries are merged into (kube's capManagersManager). */
const ANCIENT_CHANGES = "ancient-changes";

function eventLine(type: WatchEvent["type"], json: string): () => Buffer {
  let line: Buffer | undefined;
  return () => {
    line ??= Buffer.from(`{"type":"${type}","object":${json}}\n`);
    return line;
  };
}

/** A label or field selector requirement. */
export interface Requirement {
  key: string;
  op: "=" | "!=" | "in" | "notin" | "exists" | "!";
  values: string[];
}

const HISTORY_EVENTS = 5000;
const HISTORY_BYTES = 32 * 1024 * 1024;

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUB = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** kube's name validation messages (apimachinery validation.IsDNS1123Subdomain etc.). */
export function nameErrors(name: string, format: ResourceDef["nameFormat"]): string[] {
  if (format === "label") {
    const errs: string[] = [];
    if (name.length > 63) errs.push("must be no more than 63 characters");
    if (!DNS1123_LABEL.test(name))
      errs.push(
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
      );
    return errs;
  }
  if (format === "label1035") {
    const errs: string[] = [];
    if (name.length > 63) errs.push("must be no more than 63 characters");
    if (!DNS1035_LABEL.test(name))
      errs.push(
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
      );
    return errs;
  }
  const errs: string[] = [];
  if (name.length > 253) errs.push("must be no more than 253 characters");
  if (!DNS1123_SUB.test(name))
    errs.push(
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    );
  return errs;
}

/** Parses a label selector (`a=b,c!=d,e in (f,g),!h,i`); throws a 400 on bad syntax. */
export function parseSelector(text: string | null | undefined, what: string): Requirement[] {
  if (!text) return [];
  const out: Requirement[] = [];
  // split on commas outside parentheses
  const parts: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of text) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      parts.push(cur);
      cur = "";
    } else cur += ch;
  }
  parts.push(cur);
  for (const raw of parts) {
    const p = raw.trim();
    if (!p) continue;
    const setBased = /^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(p);
    const notEqual = /^([^\s!=]+)\s*!=\s*(\S*)$/.exec(p);
    const equal = /^([^\s!=]+)\s*==?\s*(\S*)$/.exec(p);
    const absent = /^!\s*([^\s!=]+)$/.exec(p);
    const exists = /^([^\s!=(),]+)$/.exec(p);
    if (setBased) {
      out.push({
        key: setBased[1] as string,
        op: setBased[2] as "in" | "notin",
        values: (setBased[3] as string).split(",").map((v) => v.trim()),
      });
    } else if (notEqual) {
      out.push({ key: notEqual[1] as string, op: "!=", values: [notEqual[2] as string] });
    } else if (equal) {
      out.push({ key: equal[1] as string, op: "=", values: [equal[2] as string] });
    } else if (absent) {
      out.push({ key: absent[1] as string, op: "!", values: [] });
    } else if (exists) {
      out.push({ key: exists[1] as string, op: "exists", values: [] });
    } else {
      throw new StatusError(
        400,
        "BadRequest",
        `unable to parse requirement: found '${p}', expected: in, notin, =, ==, !=, gt, lt (${what})`,
      );
    }
  }
  return out;
}

function matches(reqs: Requirement[], get: (key: string) => string | undefined): boolean {
  for (const r of reqs) {
    const v = get(r.key);
    switch (r.op) {
      case "=":
        if (v !== r.values[0]) return false;
        break;
      case "!=":
        if (v === r.values[0]) return false;
        break;
      case "in":
        if (v === undefined || !r.values.includes(v)) return false;
        break;
      case "notin":
        if (v !== undefined && r.values.includes(v)) return false;
        break;
      case "exists":
        if (v === undefined) return false;
        break;
      case "!":
        if (v !== undefined) return false;
        break;
    }
  }
  return true;
}

/** A compiled label + field selector. */
export interface Selector {
  labels: Requirement[];
  fields: Requirement[];
}

/** Whether an object passes a selector. */
export function selects(sel: Selector | undefined, obj: Obj): boolean {
  if (!sel) return true;
  const labels = (obj.metadata.labels ?? {}) as Record<string, string>;
  if (!matches(sel.labels, (k) => (Object.hasOwn(labels, k) ? labels[k] : undefined))) return false;
  return matches(sel.fields, (k) => {
    if (k === "metadata.name") return obj.metadata.name;
    if (k === "metadata.namespace") return obj.metadata.namespace ?? "";
    if (k === "status.phase") return (obj.status as { phase?: string } | undefined)?.phase;
    if (k === "spec.nodeName") return (obj.spec as { nodeName?: string } | undefined)?.nodeName;
    if (k === "type") return obj.type as string | undefined;
    if (k.startsWith("involvedObject.")) {
      const v = (obj.involvedObject as Record<string, unknown> | undefined)?.[k.slice(15)];
      return typeof v === "string" ? v : undefined;
    }
    if (k === "reason") return obj.reason as string | undefined;
    return undefined;
  });
}

const clone = copyJSON;

function nowRFC3339(): string {
  return `${new Date().toISOString().slice(0, 19)}Z`;
}

/** kube's fieldsV1: the set of fields an object sets, as `f:<name>` keys (any depth, no recursion). */
function fieldsOf(v: unknown): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  const stack: [unknown, Record<string, unknown>][] = [[v, root]];
  while (stack.length > 0) {
    const [src, out] = stack.pop() as [unknown, Record<string, unknown>];
    if (typeof src !== "object" || src === null || Array.isArray(src)) continue;
    for (const [k, val] of Object.entries(src)) {
      const child: Record<string, unknown> = {};
      setOwn(out, `f:${k}`, child);
      if (typeof val === "object" && val !== null && !Array.isArray(val)) stack.push([val, child]);
    }
  }
  return root;
}

function managedEntry(obj: Obj, manager: string, apiVersion: string, subresource?: string) {
  const fields: Record<string, unknown> = {};
  const meta = obj.metadata;
  const mf: Record<string, unknown> = {};
  if (meta.labels) mf.labels = meta.labels;
  if (meta.annotations) mf.annotations = meta.annotations;
  if (Object.keys(mf).length > 0) fields.metadata = mf;
  for (const [k, v] of Object.entries(obj)) {
    if (k === "metadata" || k === "kind" || k === "apiVersion") continue;
    if (subresource === "status" ? k === "status" : k !== "status") fields[k] = v;
  }
  const e: Record<string, unknown> = {
    manager,
    operation: "Update",
    apiVersion,
    time: nowRFC3339(),
    fieldsType: "FieldsV1",
    fieldsV1: fieldsOf(fields),
  };
  if (subresource) e.subresource = subresource;
  return e;
}

/** The in-memory object store behind the demo API, with a global resourceVersion and watch history. */
export class Store {
  private rv = 0;
  private readonly objects = new Map<string, Obj>();
  private readonly history: HistoryEntry[] = [];
  private historyBytes = 0;
  /** The resourceVersion of the newest event dropped from the history (0: none dropped). */
  private droppedUpTo = 0;
  private readonly maxHistoryEvents: number;
  private readonly maxHistoryBytes: number;
  private readonly watchers = new Set<Watcher>();
  /** The JSON made for the history of each deleted object (gone with the object itself). */
  private readonly deletedJSON = new WeakMap<Obj, string>();
  private ipCounter = 1;

  constructor(options: StoreOptions = {}) {
    this.maxHistoryEvents = options.historyEvents ?? HISTORY_EVENTS;
    this.maxHistoryBytes = options.historyBytes ?? HISTORY_BYTES;
    const ns = findResource("", "v1", "namespaces") as ResourceDef;
    for (const name of ["default", "kube-system", "kube-public", "kube-node-lease"]) {
      this.create(
        ns,
        undefined,
        { apiVersion: "v1", kind: "Namespace", metadata: { name } },
        {
          manager: "kube-apiserver",
        },
      );
    }
  }

  /** The current resourceVersion (as kube's list metadata reports it). */
  get resourceVersion(): string {
    return String(this.rv);
  }

  private key(def: ResourceDef, ns: string | undefined, name: string): string {
    return `${def.group}/${def.resource}/${ns ?? ""}/${name}`;
  }

  private nextIP(): string {
    const n = this.ipCounter++;
    return `10.244.${(n >> 8) & 255}.${n & 255}`;
  }

  private record(type: WatchEvent["type"], def: ResourceDef, obj: Obj): string {
    const ns = obj.metadata.namespace ?? "";
    const json = stringifyJSON(obj);
    this.history.push({ rv: this.rv, def, namespace: ns, type, json });
    this.historyBytes += json.length;
    // bounded by count and by bytes; the newest event always stays
    while (
      this.history.length > 1 &&
      (this.history.length > this.maxHistoryEvents || this.historyBytes > this.maxHistoryBytes)
    ) {
      const gone = this.history.shift() as HistoryEntry;
      this.historyBytes -= gone.json.length;
      this.droppedUpTo = gone.rv;
    }
    const line = eventLine(type, json);
    for (const w of this.watchers) {
      if (w.def !== def) continue;
      if (w.namespace !== undefined && w.namespace !== ns) continue;
      w.send(type, obj, line);
    }
    return json;
  }

  /**
   * A deleted object as a list item (without kind and apiVersion, as kube writes list items), in
   * pieces cut from the JSON its DELETED event was written with: deletecollection of large
   * objects serialises each only once.
   */
  deletedItemJSON(gone: Obj): string[] {
    const text = this.deletedJSON.get(gone);
    const head = `{"kind":${JSON.stringify(gone.kind)},"apiVersion":${JSON.stringify(gone.apiVersion)},`;
    if (text?.startsWith(head)) return ["{", text.slice(head.length)];
    const { kind: _k, apiVersion: _a, ...rest } = gone;
    return [stringifyJSON(rest)];
  }

  /** Events and bytes held in the watch history (for tests and metrics). */
  get historySize(): { events: number; bytes: number } {
    return { events: this.history.length, bytes: this.historyBytes };
  }

  /** Reads one object (a copy). */
  get(def: ResourceDef, ns: string | undefined, name: string): Obj {
    const o = this.objects.get(this.key(def, ns, name));
    if (!o) throw notFound(def, name);
    return clone(o);
  }

  /** Whether the namespace exists. */
  hasNamespace(name: string): boolean {
    return this.objects.has(
      this.key(findResource("", "v1", "namespaces") as ResourceDef, undefined, name),
    );
  }

  /** Lists objects (copies) of a resource, in one namespace or all. */
  list(def: ResourceDef, ns: string | undefined, sel?: Selector): Obj[] {
    return this.listShared(def, ns, sel).map(clone);
  }

  /**
   * Lists the stored objects themselves, sorted, without copying them (a list of large objects
   * is written out one at a time): read them, never change them.
   */
  listShared(def: ResourceDef, ns: string | undefined, sel?: Selector): readonly Obj[] {
    const prefix =
      ns === undefined ? `${def.group}/${def.resource}/` : `${def.group}/${def.resource}/${ns}/`;
    const out: Obj[] = [];
    for (const [k, o] of this.objects) {
      if (k.startsWith(prefix) && selects(sel, o)) out.push(o);
    }
    out.sort((a, b) => {
      const an = `${a.metadata.namespace ?? ""}/${a.metadata.name}`;
      const bn = `${b.metadata.namespace ?? ""}/${b.metadata.name}`;
      return an < bn ? -1 : an > bn ? 1 : 0;
    });
    return out;
  }

  private validateMeta(def: ResourceDef, obj: Obj, name: string): void {
    const causes: { field: string; message: string; type?: string }[] = [];
    for (const e of nameErrors(name, def.nameFormat))
      causes.push({
        field: "metadata.name",
        message: `Invalid value: ${JSON.stringify(name)}: ${e}`,
      });
    const labels = obj.metadata.labels;
    if (
      labels !== undefined &&
      (typeof labels !== "object" || labels === null || Array.isArray(labels))
    )
      causes.push({
        field: "metadata.labels",
        message: "Invalid value: must be an object of strings",
      });
    else if (labels)
      for (const [_k, v] of Object.entries(labels as Record<string, unknown>)) {
        if (
          typeof v !== "string" ||
          v.length > 63 ||
          !/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(v)
        )
          causes.push({
            field: "metadata.labels",
            message: `Invalid value: ${JSON.stringify(v)}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
          });
      }
    if (def.kind === "Pod") {
      const containers = (obj.spec as { containers?: unknown } | undefined)?.containers;
      if (!Array.isArray(containers) || containers.length === 0)
        causes.push({
          field: "spec.containers",
          message: "Required value",
          type: "FieldValueRequired",
        });
      else
        containers.forEach((c, i) => {
          const r = c as { name?: unknown; image?: unknown };
          if (typeof r?.name !== "string" || !r.name)
            causes.push({
              field: `spec.containers[${i}].name`,
              message: "Required value",
              type: "FieldValueRequired",
            });
          if (typeof r?.image !== "string" || !r.image)
            causes.push({
              field: `spec.containers[${i}].image`,
              message: "Required value",
              type: "FieldValueRequired",
            });
        });
    }
    if (causes.length > 0) throw invalid(def.kind, def.group, name, causes);
  }

  /** Creates an object; fills uid, resourceVersion, creationTimestamp, generateName. */
  create(
    def: ResourceDef,
    ns: string | undefined,
    input: Record<string, unknown>,
    opts: { manager: string; dryRun?: boolean },
  ): Obj {
    const obj = clone(input) as Obj;
    if (typeof obj.metadata !== "object" || obj.metadata === null || Array.isArray(obj.metadata))
      obj.metadata = {};
    const meta = obj.metadata;
    if (def.namespaced) {
      if (meta.namespace && ns && meta.namespace !== ns)
        throw new StatusError(
          400,
          "BadRequest",
          "the namespace of the provided object does not match the namespace sent on the request",
        );
      meta.namespace = ns;
    } else delete meta.namespace;
    let name = typeof meta.name === "string" ? meta.name : "";
    if (!name && typeof meta.generateName === "string" && meta.generateName) {
      name = `${meta.generateName}${randomSuffix()}`;
    }
    if (!name) {
      throw invalid(def.kind, def.group, "", [
        {
          field: "metadata.name",
          message: "Required value: name or generateName is required",
          type: "FieldValueRequired",
        },
      ]);
    }
    meta.name = name;
    this.validateMeta(def, obj, name);
    if (def.namespaced && ns && !this.hasNamespace(ns)) {
      throw notFound({ group: "", resource: "namespaces" }, ns);
    }
    const key = this.key(def, ns, name);
    if (this.objects.has(key)) throw alreadyExists(def, name);
    obj.apiVersion = def.group ? `${def.group}/${def.version}` : def.version;
    obj.kind = def.kind;
    const now = nowRFC3339();
    const ordered: Record<string, unknown> = { name };
    if (meta.generateName) ordered.generateName = meta.generateName;
    if (def.namespaced) ordered.namespace = ns;
    ordered.uid = randomUUID();
    ordered.resourceVersion = "";
    if (def.kind === "Deployment") ordered.generation = 1;
    ordered.creationTimestamp = now;
    for (const [k, v] of Object.entries(meta)) {
      if (
        [
          "name",
          "generateName",
          "namespace",
          "uid",
          "resourceVersion",
          "generation",
          "creationTimestamp",
          "managedFields",
          "selfLink",
          "deletionTimestamp",
        ].includes(k)
      )
        continue;
      ordered[k] = v;
    }
    obj.metadata = ordered as Obj["metadata"];
    def.defaults?.(obj, { ip: () => this.nextIP() });
    (obj.metadata as Record<string, unknown>).managedFields = [
      managedEntry(obj, opts.manager, obj.apiVersion as string),
    ];
    const out = reorder(obj);
    if (opts.dryRun) return clone(out);
    return this.commit(key, def, out, "ADDED");
  }

  /** Stores a created or changed object under the next resourceVersion and tells the watchers. */
  private commit(key: string, def: ResourceDef, out: Obj, type: "ADDED" | "MODIFIED"): Obj {
    this.rv++;
    out.metadata.resourceVersion = String(this.rv);
    this.objects.set(key, out);
    this.record(type, def, out);
    return clone(out);
  }

  /** Replaces an object (or only its status for the status subresource). */
  update(
    def: ResourceDef,
    ns: string | undefined,
    name: string,
    input: Record<string, unknown>,
    opts: { manager: string; subresource?: string; dryRun?: boolean },
  ): Obj {
    const key = this.key(def, ns, name);
    const cur = this.objects.get(key);
    if (!cur) throw notFound(def, name);
    const obj = clone(input) as Obj;
    if (typeof obj.metadata !== "object" || obj.metadata === null) obj.metadata = {};
    const inName = obj.metadata.name;
    if (inName !== undefined && inName !== name)
      throw new StatusError(
        400,
        "BadRequest",
        `the name of the object (${String(inName)}) does not match the name on the URL (${name})`,
      );
    const inRV = obj.metadata.resourceVersion;
    if (typeof inRV === "string" && inRV !== "" && inRV !== cur.metadata.resourceVersion)
      throw conflict(def, name);
    let next: Obj;
    if (opts.subresource === "status") {
      next = clone(cur);
      next.status = obj.status;
    } else {
      next = clone(obj);
      next.apiVersion = cur.apiVersion;
      next.kind = cur.kind;
      if (cur.status !== undefined && def.subresources.status) next.status = clone(cur.status);
      const meta: Record<string, unknown> = {};
      for (const k of [
        "name",
        "generateName",
        "namespace",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
      ]) {
        if (cur.metadata[k] !== undefined) meta[k] = cur.metadata[k];
      }
      for (const [k, v] of Object.entries(obj.metadata)) {
        if (k in meta || k === "managedFields" || k === "selfLink") continue;
        meta[k] = v;
      }
      next.metadata = meta as Obj["metadata"];
      this.validateMeta(def, next, name);
      if (
        typeof meta.generation === "number" &&
        stringifyJSON(next.spec) !== stringifyJSON(cur.spec)
      )
        meta.generation += 1;
      if (meta.generation !== cur.metadata.generation) def.reconcile?.(next);
    }
    const managed = ((cur.metadata.managedFields as unknown[]) ?? []).filter(
      (e) =>
        (e as { manager?: string; subresource?: string }).manager !== opts.manager ||
        (e as { subresource?: string }).subresource !== opts.subresource,
    );
    managed.push(managedEntry(next, opts.manager, cur.apiVersion as string, opts.subresource));
    next.metadata.managedFields = capUpdateManagers(managed as ManagedEntry[]);
    const out = reorder(next);
    if (stringifyJSON(out) === stringifyJSON(cur)) return clone(cur);
    if (opts.dryRun) return clone(out);
    return this.commit(key, def, out, "MODIFIED");
  }

  /** Deletes an object immediately (kube with gracePeriodSeconds=0); returns the last state. */
  delete(
    def: ResourceDef,
    ns: string | undefined,
    name: string,
    opts: { preconditionUID?: string; preconditionRV?: string; dryRun?: boolean } = {},
  ): Obj {
    const key = this.key(def, ns, name);
    const cur = this.objects.get(key);
    if (!cur) throw notFound(def, name);
    if (opts.preconditionUID && opts.preconditionUID !== cur.metadata.uid)
      throw new StatusError(
        409,
        "Conflict",
        `Operation cannot be fulfilled on ${def.group ? `${def.resource}.${def.group}` : def.resource} "${name}": Precondition failed: UID in precondition: ${opts.preconditionUID}, UID in object meta: ${String(cur.metadata.uid)}`,
        { name, ...(def.group ? { group: def.group } : {}), kind: def.resource },
      );
    if (opts.preconditionRV && opts.preconditionRV !== cur.metadata.resourceVersion)
      throw conflict(def, name);
    if (opts.dryRun) return clone(cur);
    if (def.kind === "Namespace") {
      for (const r of RESOURCES) {
        if (!r.namespaced) continue;
        for (const o of this.list(r, name)) this.delete(r, name, o.metadata.name as string);
      }
    }
    this.objects.delete(key);
    this.rv++;
    // a fresh copy, held by no one but watchers (read only) and the caller
    const gone = clone(cur);
    gone.metadata.resourceVersion = String(this.rv);
    this.deletedJSON.set(gone, this.record("DELETED", def, gone));
    return gone;
  }

  /**
   * Subscribes to changes. `fromRV` replays the history after it ("" or "0" ⇒ synthetic ADDED
   * of the current state). Throws 410 Gone when the history no longer reaches back that far.
   */
  watch(
    def: ResourceDef,
    ns: string | undefined,
    fromRV: string | undefined,
    send: WatchSend,
  ): () => void {
    const backlog: [WatchEvent["type"], Obj, () => Buffer][] = [];
    if (!fromRV || fromRV === "0") {
      for (const o of this.listShared(def, ns))
        backlog.push(["ADDED", o, eventLine("ADDED", stringifyJSON(o))]);
    } else {
      const n = Number(fromRV);
      if (!Number.isInteger(n) || n < 0)
        throw new StatusError(400, "BadRequest", `invalid resource version "${fromRV}"`);
      // kube's watch cache: events after n must all still be held
      if (n < this.droppedUpTo) {
        const oldest = this.history[0]?.rv ?? this.rv + 1;
        throw new StatusError(410, "Expired", `too old resource version: ${n} (${oldest - 1})`);
      }
      for (const h of this.history) {
        if (h.rv <= n || h.def !== def) continue;
        if (ns !== undefined && h.namespace !== ns) continue;
        backlog.push([h.type, JSON.parse(h.json) as Obj, eventLine(h.type, h.json)]);
      }
    }
    const w: Watcher = { def, namespace: ns, send };
    for (const [t, o, line] of backlog) send(t, o, line);
    this.watchers.add(w);
    return () => {
      this.watchers.delete(w);
    };
  }
}

const ALNUM = "bcdfghjklmnpqrstvwxz2456789";
function randomSuffix(): string {
  let s = "";
  for (let i = 0; i < 5; i++) s += ALNUM[Math.floor(Math.random() * ALNUM.length)];
  return s;
}

/** kind, apiVersion, metadata, then the rest (spec, data, ...), status last, as kube writes objects. */
function reorder(obj: Obj): Obj {
  const out: Record<string, unknown> = {
    kind: obj.kind,
    apiVersion: obj.apiVersion,
    metadata: obj.metadata,
  };
  for (const [k, v] of Object.entries(obj)) {
    if (k === "kind" || k === "apiVersion" || k === "metadata" || k === "status") continue;
    out[k] = v;
  }
  if (obj.status !== undefined) out.status = obj.status;
  return out as Obj;
}

interface ManagedEntry {
  manager: string;
  operation: string;
  apiVersion: string;
  time: string;
  fieldsType: string;
  fieldsV1: Record<string, unknown>;
  subresource?: string;
}

/** The union of two fieldsV1 sets (`f:` trees), without recursion. */
function unionFields(
  a: Record<string, unknown>,
  b: Record<string, unknown>,
): Record<string, unknown> {
  const root = copyJSON(a);
  const stack: [Record<string, unknown>, Record<string, unknown>][] = [[root, b]];
  while (stack.length > 0) {
    const [into, from] = stack.pop() as [Record<string, unknown>, Record<string, unknown>];
    for (const [k, v] of Object.entries(from)) {
      const have = Object.hasOwn(into, k) ? into[k] : undefined;
      if (typeof have === "object" && have !== null && typeof v === "object" && v !== null)
        stack.push([have as Record<string, unknown>, v as Record<string, unknown>]);
      else if (have === undefined) setOwn(into, k, copyJSON(v));
    }
  }
  return root;
}

/**
 * kube's capManagersManager (apimachinery managedfields/internal/capmanagers.go): once more than
 * MAX_UPDATE_MANAGERS entries come from updates, the oldest (by time in seconds, then name) are
 * merged per API version into an `ancient-changes` entry, so that an object's managedFields stay
 * bounded however many field managers write to it.
 */
export function capUpdateManagers(managed: ManagedEntry[]): ManagedEntry[] {
  if (managed.filter((e) => e.operation !== "Apply").length <= MAX_UPDATE_MANAGERS) return managed;
  // entries may be the stored object's own: change copies
  const out = managed.map((e) => ({ ...e }));
  const updaters = out.filter((e) => e.operation !== "Apply");
  const seconds = (e: ManagedEntry) => Math.floor(Date.parse(e.time) / 1000) || 0;
  const id = (e: ManagedEntry) => `${e.manager}\u0000${e.apiVersion}\u0000${e.subresource ?? ""}`;
  updaters.sort((a, b) => seconds(a) - seconds(b) || (id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : 0));
  const firstByVersion = new Map<string, ManagedEntry>();
  let length = updaters.length;
  for (const e of updaters) {
    if (length <= MAX_UPDATE_MANAGERS) break;
    const first = firstByVersion.get(e.apiVersion);
    if (first === undefined) {
      firstByVersion.set(e.apiVersion, e);
      continue;
    }
    let bucket = out.find(
      (x) =>
        x.manager === ANCIENT_CHANGES &&
        x.operation === "Update" &&
        x.apiVersion === e.apiVersion &&
        x.subresource === undefined,
    );
    if (bucket === undefined) {
      // the first old entry of this version becomes the bucket
      bucket = first;
      bucket.manager = ANCIENT_CHANGES;
      delete bucket.subresource;
    }
    if (bucket !== e) {
      bucket.fieldsV1 = unionFields(e.fieldsV1, bucket.fieldsV1);
      bucket.time = e.time;
      out.splice(out.indexOf(e), 1);
      length--;
    }
  }
  return out;
}
