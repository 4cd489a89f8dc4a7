/**
 * JSON data of any depth, without recursion. The store holds what clients sent (up to Go's
 * 10,000 levels, as kube-apiserver accepts), and V8's structuredClone overflows the stack at
 * about 1,900 levels and JSON.stringify at about 4,000 — a 2,500-deep pod made every later list,
 * watch and delete of it fail with 500 (issue 12 case 2).
 */

/** Sets an own property, also for `__proto__` (which plain assignment would make the prototype). */
export function setOwn(o: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__")
    Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
  else o[key] = value;
}

const isContainer = (v: unknown): v is object => typeof v === "object" && v !== null;

/** A deep copy of JSON data (objects, arrays, scalars; `undefined` kept as structuredClone keeps it). */
export function copyJSON<T>(value: T): T {
  if (!isContainer(value)) return value;
  const fresh = (v: object): object => (Array.isArray(v) ? new Array(v.length) : {});
  const root = fresh(value);
  const stack: [object, object][] = [[value, root]];
  while (stack.length > 0) {
    const [src, dst] = stack.pop() as [object, object];
    if (Array.isArray(src)) {
      const out = dst as unknown[];
      for (let i = 0; i < src.length; i++) {
        const x: unknown = src[i];
        if (isContainer(x)) {
          const c = fresh(x);
          out[i] = c;
          stack.push([x, c]);
        } else out[i] = x;
      }
    } else {
      const out = dst as Record<string, unknown>;
      for (const k of Object.keys(src)) {
        const x = (src as Record<string, unknown>)[k];
        if (isContainer(x)) {
          const c = fresh(x);
          setOwn(out, k, c);
          stack.push([x, c]);
        } else setOwn(out, k, x);
      }
    }
  }
  return root as T;
}

/**
 * `JSON.stringify(value)` for JSON data of any depth: the native one, and when that runs out of
 * stack, a writer with its own stack giving the same text.
 */
export function stringifyJSON(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
  }
  return stringifyDeep(value);
}

/** A scalar as JSON.stringify writes it (undefined for what it leaves out). */
function scalar(v: unknown): string | undefined {
  return JSON.stringify(v);
}

type Frame =
  | { array: true; v: unknown[]; i: number }
  | { array: false; v: Record<string, unknown>; keys: string[]; i: number; wrote: boolean };

function stringifyDeep(value: unknown): string {
  if (!isContainer(value)) return scalar(value) as string;
  const parts: string[] = [];
  const open = (v: object): Frame => {
    if (Array.isArray(v)) {
      parts.push("[");
      return { array: true, v, i: 0 };
    }
    parts.push("{");
    return {
      array: false,
      v: v as Record<string, unknown>,
      keys: Object.keys(v),
      i: 0,
      wrote: false,
    };
  };
  const stack: Frame[] = [open(value)];
  while (stack.length > 0) {
    const f = stack[stack.length - 1] as Frame;
    if (f.array) {
      if (f.i >= f.v.length) {
        parts.push("]");
        stack.pop();
        continue;
      }
      if (f.i > 0) parts.push(",");
      const x = f.v[f.i++];
      if (isContainer(x)) stack.push(open(x));
      else parts.push(scalar(x) ?? "null");
    } else {
      if (f.i >= f.keys.length) {
        parts.push("}");
        stack.pop();
        continue;
      }
      const k = f.keys[f.i++] as string;
      const x = f.v[k];
      if (!isContainer(x) && scalar(x) === undefined) continue;
      if (f.wrote) parts.push(",");
      f.wrote = true;
      parts.push(JSON.stringify(k), ":");
      if (isContainer(x)) stack.push(open(x));
      else parts.push(scalar(x) as string);
    }
  }
  return parts.join("");
}
