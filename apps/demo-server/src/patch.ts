import { copyJSON, setOwn, stringifyJSON } from "./safe-json";
import { StatusError } from "./status";

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * RFC 7386 JSON merge patch (kube also applies strategic merge patches this way in the demo).
 * Walks with its own stack: a patch may nest as deep as a body may (10,000 levels).
 */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return copyJSON(patch);
  const root: Record<string, unknown> = isObj(target) ? { ...target } : {};
  const stack: [Record<string, unknown>, Record<string, unknown>][] = [[root, patch]];
  while (stack.length > 0) {
    const [out, p] = stack.pop() as [Record<string, unknown>, Record<string, unknown>];
    for (const [k, v] of Object.entries(p)) {
      if (k.startsWith("$")) continue; // strategic-merge directives ($patch, $retainKeys, ...)
      if (v === null) delete out[k];
      else if (!isObj(v)) setOwn(out, k, copyJSON(v));
      else {
        const cur = Object.hasOwn(out, k) ? out[k] : undefined;
        const next: Record<string, unknown> = isObj(cur) ? { ...cur } : {};
        setOwn(out, k, next);
        stack.push([next, v]);
      }
    }
  }
  return root;
}

function unescapePointer(seg: string): string {
  return seg.replace(/~1/g, "/").replace(/~0/g, "~");
}

function pointer(path: unknown, i: number): string[] {
  if (typeof path !== "string" || (path !== "" && !path.startsWith("/")))
    throw new StatusError(
      422,
      "Invalid",
      `the server rejected our request due to an error in our request: operation ${i}: invalid path ${JSON.stringify(path)}`,
    );
  return path === "" ? [] : path.slice(1).split("/").map(unescapePointer);
}

function parentOf(
  doc: unknown,
  segs: string[],
  i: number,
): [Record<string, unknown> | unknown[], string] {
  let cur = doc;
  for (const s of segs.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(s)];
    else if (isObj(cur)) cur = Object.hasOwn(cur, s) ? cur[s] : undefined;
    else cur = undefined;
    if (cur === undefined)
      throw new StatusError(
        422,
        "Invalid",
        `the server rejected our request due to an error in our request: operation ${i}: missing path "/${segs.join("/")}"`,
      );
  }
  if (!Array.isArray(cur) && !isObj(cur))
    throw new StatusError(
      422,
      "Invalid",
      `the server rejected our request due to an error in our request: operation ${i}: missing path "/${segs.join("/")}"`,
    );
  return [cur, segs[segs.length - 1] as string];
}

function getAt(doc: unknown, segs: string[]): unknown {
  let cur = doc;
  for (const s of segs) {
    if (Array.isArray(cur)) cur = cur[s === "-" ? cur.length : Number(s)];
    else if (isObj(cur)) cur = Object.hasOwn(cur, s) ? cur[s] : undefined;
    else return undefined;
  }
  return cur;
}

/** RFC 6902 JSON patch. Errors are 422s as kube's json-patch errors are. */
export function jsonPatch(doc: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops))
    throw new StatusError(
      400,
      "BadRequest",
      "json: cannot unmarshal object into Go value of type jsonpatch.Patch",
    );
  let root = copyJSON(doc);
  ops.forEach((raw, i) => {
    if (!isObj(raw)) throw new StatusError(400, "BadRequest", `operation ${i}: not an object`);
    const op = raw.op;
    const segs = pointer(raw.path, i);
    const fail = (why: string): never => {
      throw new StatusError(
        422,
        "Invalid",
        `the server rejected our request due to an error in our request: ${why}`,
      );
    };
    const add = (s: string[], value: unknown) => {
      if (s.length === 0) {
        root = value;
        return;
      }
      const [parent, last] = parentOf(root, s, i);
      if (Array.isArray(parent)) {
        const idx = last === "-" ? parent.length : Number(last);
        if (!Number.isInteger(idx) || idx < 0 || idx > parent.length)
          fail(`add operation does not apply: doc is missing path: "${raw.path}"`);
        parent.splice(idx, 0, value);
      } else setOwn(parent, last, value);
    };
    const remove = (s: string[]): unknown => {
      const [parent, last] = parentOf(root, s, i);
      if (Array.isArray(parent)) {
        const idx = Number(last);
        if (!Number.isInteger(idx) || idx < 0 || idx >= parent.length)
          fail(`remove operation does not apply: doc is missing path: "${raw.path}"`);
        return parent.splice(idx, 1)[0];
      }
      if (!Object.hasOwn(parent, last))
        fail(`remove operation does not apply: doc is missing path: "${raw.path}"`);
      const v = parent[last];
      delete parent[last];
      return v;
    };
    switch (op) {
      case "add":
        add(segs, copyJSON(raw.value));
        break;
      case "remove":
        remove(segs);
        break;
      case "replace":
        if (getAt(root, segs) === undefined)
          fail(`replace operation does not apply: doc is missing key: ${raw.path}`);
        if (segs.length === 0) root = copyJSON(raw.value);
        else {
          remove(segs);
          add(segs, copyJSON(raw.value));
        }
        break;
      case "move": {
        const from = pointer(raw.from, i);
        const v = remove(from);
        add(segs, v);
        break;
      }
      case "copy": {
        const v = getAt(root, pointer(raw.from, i));
        if (v === undefined)
          fail(`copy operation does not apply: doc is missing from path: ${raw.from}`);
        add(segs, copyJSON(v));
        break;
      }
      case "test":
        if (stringifyJSON(getAt(root, segs)) !== stringifyJSON(raw.value))
          fail(`testing value ${raw.path} failed: test failed`);
        break;
      default:
        throw new StatusError(400, "BadRequest", `Unexpected kind: ${String(op)}`);
    }
  });
  return root;
}
