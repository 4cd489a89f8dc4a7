/** A JSON Schema, as far as walking object properties needs it. */
interface SchemaNode {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, SchemaNode>;
  additionalProperties?: boolean | SchemaNode;
  items?: SchemaNode;
  anyOf?: SchemaNode[];
  oneOf?: SchemaNode[];
  allOf?: SchemaNode[];
  $defs?: Record<string, SchemaNode>;
  definitions?: Record<string, SchemaNode>;
}

function resolve(node: SchemaNode, root: SchemaNode): SchemaNode {
  let n = node;
  for (let i = 0; i < 32 && n.$ref !== undefined; i++) {
    const ref = n.$ref;
    if (!ref.startsWith("#/")) break;
    let target: unknown = root;
    for (const part of ref.slice(2).split("/")) {
      target = (target as Record<string, unknown> | undefined)?.[
        part.replace(/~1/g, "/").replace(/~0/g, "~")
      ];
    }
    if (target === undefined) break;
    n = target as SchemaNode;
  }
  return n;
}

function keyPath(prefix: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key)
    ? prefix === ""
      ? key
      : `${prefix}.${key}`
    : `${prefix}[${JSON.stringify(key)}]`;
}

/**
 * The field paths of `value` that its JSON Schema does not declare, for object schemas that list
 * their `properties` and do not describe free-form maps (`additionalProperties` a schema).
 * kube-apiserver's decoder silently drops such fields, so they are warnings, not errors.
 * Free-form bodies (requestObject/responseObject: no `properties`) are not looked into.
 */
export function unknownFields(
  value: unknown,
  schema: object,
  root: object = schema,
  prefix = "",
): string[] {
  const out: string[] = [];
  let node = resolve(schema as SchemaNode, root as SchemaNode);
  const alternatives = node.allOf ?? node.anyOf ?? node.oneOf;
  if (alternatives && node.properties === undefined) {
    const objectAlt = alternatives
      .map((a) => resolve(a, root as SchemaNode))
      .find((a) => a.properties);
    if (!objectAlt) return out;
    node = objectAlt;
  }
  if (Array.isArray(value)) {
    if (node.items)
      for (let i = 0; i < value.length; i++)
        out.push(...unknownFields(value[i], node.items, root, `${prefix}[${i}]`));
    return out;
  }
  if (value === null || typeof value !== "object") return out;
  const entries = Object.entries(value as Record<string, unknown>);
  if (node.properties) {
    for (const [k, v] of entries) {
      const child = node.properties[k];
      if (child) out.push(...unknownFields(v, child, root, keyPath(prefix, k)));
      else if (typeof node.additionalProperties === "object") {
        out.push(...unknownFields(v, node.additionalProperties, root, keyPath(prefix, k)));
      } else if (node.additionalProperties !== true) out.push(keyPath(prefix, k));
    }
  } else if (typeof node.additionalProperties === "object") {
    for (const [k, v] of entries)
      out.push(...unknownFields(v, node.additionalProperties, root, keyPath(prefix, k)));
  }
  return out;
}
