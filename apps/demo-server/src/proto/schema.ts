/**
 * How the demo describes Kubernetes protobuf messages: per message, its fields in the order
 * kube's Go structs declare them (the JSON key order kube writes), each with its field number,
 * JSON name, type and Go shape. The tables (`tables-*.ts`) were written by hand for this project
 * from the published API definitions (field numbers of k8s.io/api and k8s.io/apimachinery
 * `generated.proto`, JSON names and `omitempty`/pointer shapes of their Go types); they cover the
 * kinds the demo serves and the review kinds, with the fields kubectl and common clients send.
 */

/**
 * The Go shape of a field, which decides what JSON kube writes for it:
 * - `""`: a plain value without `omitempty` (always written: `""`, `0`, `false`, `null` for an
 *   absent list or map, the empty object for an absent struct, `null` for a zero time);
 * - `"o"`: `omitempty` (left out when zero or empty);
 * - `"p"`: a pointer (written exactly when the field is on the wire, even when zero);
 * - `"i"`: an embedded struct whose fields JSON inlines into the parent (`json:",inline"`);
 * - `"x"`: a field of the API the tables do not describe: on the wire it is refused (415), never
 *   dropped.
 * Structs are never left out by `omitempty` in Go, so struct fields use `""` or `"p"`.
 */
export type Shape = "" | "o" | "p" | "i" | "x";

/**
 * One field: number, JSON name, type, shape (default `""`). The type is a scalar
 * (`string`, `int32`, `int64`, `bool`, `bytes`), a message name (`core.v1.PodSpec`),
 * `[]T` for a repeated field or `map[T]` for a map from string to `T`.
 */
export type FieldDef = readonly [no: number, json: string, type: string, shape?: Shape];

/** Messages by name (`core.v1.Pod`). */
export type MessageTable = Readonly<Record<string, readonly FieldDef[]>>;

/**
 * Messages whose JSON is not an object of their fields, handled by the codec itself:
 * `meta.v1.Time` (RFC 3339 seconds, `null` when zero), `meta.v1.MicroTime` (microseconds),
 * `resource.Quantity` (its string), `intstr.IntOrString` (a number or a string),
 * `meta.v1.FieldsV1` (raw JSON) and `authentication.v1.ExtraValue` (a list of strings).
 */
export const SPECIAL_MESSAGES = new Set([
  "meta.v1.Time",
  "meta.v1.MicroTime",
  "resource.Quantity",
  "intstr.IntOrString",
  "meta.v1.FieldsV1",
  "authentication.v1.ExtraValue",
]);

const SHORT_SPECIALS: Record<string, string> = {
  Time: "meta.v1.Time",
  MicroTime: "meta.v1.MicroTime",
  Quantity: "resource.Quantity",
  IntOrString: "intstr.IntOrString",
  FieldsV1: "meta.v1.FieldsV1",
};

const SCALARS = new Set(["string", "int32", "int64", "bool", "bytes", "double"]);

/**
 * Parses the tables' shorthand, one message's fields separated by `;`: `NO name TYPE` where TYPE
 * is a scalar or message name, `[]T` (repeated) or `map[T]` (map from string), prefixed `*` for a
 * pointer, `~` for an inlined struct, suffixed `?` for `omitempty`, or `-` for a field the tables
 * do not describe. Message names without a package are looked up in `pkg`, then in meta/v1 and
 * core/v1 (see {@link qualify}).
 */
export function fields(pkg: string, spec: string): FieldDef[] {
  return spec
    .split(";")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map((entry) => {
      const m = /^(\d+) ([A-Za-z0-9]+) (\S+)$/.exec(entry);
      if (!m) throw new Error(`${pkg}: bad field entry ${JSON.stringify(entry)}`);
      const [, no, json, t] = m as unknown as [string, string, string, string];
      if (t === "-") return [Number(no), json, "-", "x"] as const;
      let type = t;
      let shape: Shape = "";
      if (type.startsWith("*")) [type, shape] = [type.slice(1), "p"];
      else if (type.startsWith("~")) [type, shape] = [type.slice(1), "i"];
      if (type.endsWith("?")) [type, shape] = [type.slice(0, -1), "o"];
      return [Number(no), json, `${pkg}|${type}`, shape] as const;
    });
}

/**
 * Resolves the short type names {@link fields} leaves (`pkg|T`, `pkg|[]T`, `pkg|map[T]`) against
 * all messages: `pkg.T`, else `meta.v1.T`, else `core.v1.T`, else a special message.
 */
export function qualify(tables: Record<string, FieldDef[]>): MessageTable {
  const resolve = (pkg: string, t: string): string => {
    if (t.startsWith("[]")) return `[]${resolve(pkg, t.slice(2))}`;
    if (t.startsWith("map[")) return `map[${resolve(pkg, t.slice(4, -1))}]`;
    if (SCALARS.has(t)) return t;
    for (const name of [`${pkg}.${t}`, `meta.v1.${t}`, `core.v1.${t}`])
      if (tables[name]) return name;
    const special = SHORT_SPECIALS[t] ?? (t === "ExtraValue" ? `${pkg}.ExtraValue` : undefined);
    if (special && SPECIAL_MESSAGES.has(special)) return special;
    throw new Error(`${pkg}: unknown type ${t}`);
  };
  const out: Record<string, FieldDef[]> = {};
  for (const [name, list] of Object.entries(tables))
    out[name] = list.map(([no, json, type, shape]) => {
      if (shape === "x") return [no, json, "-", "x"] as const;
      const bar = type.indexOf("|");
      const pkg = bar < 0 ? name.split(".").slice(0, 2).join(".") : type.slice(0, bar);
      return [no, json, resolve(pkg, bar < 0 ? type : type.slice(bar + 1)), shape] as const;
    });
  return out;
}
