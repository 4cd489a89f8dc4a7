/**
 * How the demo describes Kubernetes protobuf messages: per message, its fields in the order
 * kube's Go structs declare them (which is the JSON key order kube writes), each with its field
 * number, JSON name, type and Go shape. The tables themselves (`tables-*.ts`) were written for
 * this project from the published API definitions (the field numbers and JSON tags of k8s.io/api
 * and k8s.io/apimachinery); no generated code is used.
 */

/**
 * The Go shape of a field, which decides what JSON kube writes for it:
 * - `""`: a plain value without `omitempty` (always written: `""`, `0`, `false`, `null` for an
 *   absent list or map, the empty object for an absent struct, `null` for a zero time);
 * - `"o"`: `omitempty` (left out when zero or empty);
 * - `"p"`: a pointer (written exactly when the field is on the wire, even when zero);
 * - `"i"`: an embedded struct whose fields JSON inlines into the parent (`json:",inline"`).
 * Structs are never left out by `omitempty` in Go, so struct fields use `""` or `"p"`.
 */
export type Shape = "" | "o" | "p" | "i";

/**
 * One field: number, JSON name, type, shape (default `""`). The type is a scalar
 * (`string`, `int32`, `int64`, `bool`, `bytes`, `double`), a message name (`core.v1.PodSpec`),
 * `[]T` for a repeated field or `map[T]` for a map from string to `T`.
 */
export type FieldDef = readonly [no: number, json: string, type: string, shape?: Shape];

/** Messages by name (`core.v1.Pod`). */
export type MessageTable = Readonly<Record<string, readonly FieldDef[]>>;

/**
 * Messages whose JSON is not an object of their fields, handled by the codec itself:
 * `meta.v1.Time` (RFC 3339 seconds, `null` when zero), `meta.v1.MicroTime` (microseconds),
 * `resource.Quantity` (its string), `intstr.IntOrString` (a number or a string),
 * `meta.v1.FieldsV1` (raw JSON) and `*.ExtraValue` (a list of strings).
 */
export const SPECIAL_MESSAGES = new Set([
  "meta.v1.Time",
  "meta.v1.MicroTime",
  "resource.Quantity",
  "intstr.IntOrString",
  "meta.v1.FieldsV1",
  "authentication.v1.ExtraValue",
]);
