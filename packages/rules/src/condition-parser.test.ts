import { describe, expect, it } from "vitest";
import { type ConditionNode, ConditionSyntaxError, parseCondition } from "./condition-parser";

/** A compact rendering of the tree: (and a b), (not x), f[arg] op v, f in [a,"b c"], @macro. */
function show(n: ConditionNode): string {
  switch (n.type) {
    case "and":
    case "or":
      return `(${n.type} ${n.children.map(show).join(" ")})`;
    case "not":
      return `(not ${show(n.child)})`;
    case "macro":
      return `@${n.name}`;
    case "check": {
      const f = n.field.arg === undefined ? n.field.name : `${n.field.name}[${n.field.arg}]`;
      if (n.value === undefined) return `${f} ${n.op}`;
      const item = (v: { value: string; quoted: boolean }) =>
        v.quoted ? JSON.stringify(v.value) : v.value;
      if (n.value.kind === "list") return `${f} ${n.op} [${n.value.items.map(item).join(",")}]`;
      return `${f} ${n.op} ${item(n.value.item)}`;
    }
  }
}

// Conditions from Falco's k8s_audit rules and the grammar's corners.
const VALID: [string, string][] = [
  ["ka.verb=get", "ka.verb = get"],
  ["ka.verb == get", "ka.verb = get"],
  ["ka.verb != get", "ka.verb != get"],
  ["kevt and pod and kcreate", "(and @kevt @pod @kcreate)"],
  ["a or b and c", "(or @a (and @b @c))"],
  ["(a or b) and c", "(and (or @a @b) @c)"],
  ["not a", "(not @a)"],
  ["not not a", "@a"],
  ["not(a)", "(not @a)"],
  ["a and(b)", "(and @a @b)"],
  ["a or(b)", "(or @a @b)"],
  ["nothing", "@nothing"],
  ["(ka.verb in (create,update,patch))", "ka.verb in [create,update,patch]"],
  ["ka.verb in ( create , update )", "ka.verb in [create,update]"],
  ["ka.user.name in ()", "ka.user.name in []"],
  ["ka.user.name in my_list", "ka.user.name in my_list"],
  ['ka.target.name startswith "system:"', 'ka.target.name startswith "system:"'],
  ["ka.uri startswith /healthz?", "ka.uri startswith /healthz?"],
  ["ka.response.code startswith 2", "ka.response.code startswith 2"],
  [
    'ka.req.role.rules.resources intersects ("pods/exec")',
    'ka.req.role.rules.resources intersects ["pods/exec"]',
  ],
  ["ka.target.subresource exists", "ka.target.subresource exists"],
  ["jevt.value[/stage] in (k8s_audit_stages)", "jevt.value[/stage] in [k8s_audit_stages]"],
  ["jevt.value[/requestObject/spec/tls] exists", "jevt.value[/requestObject/spec/tls] exists"],
  ['ka.uri.param["command"] = bash', "ka.uri.param[command] = bash"],
  ["ka.req.pod.containers.image[0] = nginx", "ka.req.pod.containers.image[0] = nginx"],
  ["ka.response.code >= 400", "ka.response.code >= 400"],
  ["kaudit.latency > 1e+3", "kaudit.latency > 1e+3"],
  ["kaudit.hour < 0x10", "kaudit.hour < 0x10"],
  ["ka.uri glob /api/*/pods", "ka.uri glob /api/*/pods"],
  ["ka.uri icontains SECRET", "ka.uri icontains SECRET"],
  ["ka.uri endswith /exec", "ka.uri endswith /exec"],
  ["ka.uri regex '^/api/v1/.*'", 'ka.uri regex "^/api/v1/.*"'],
  [
    "ka.req.pod.volumes.hostpath pmatch (/etc, /var/run)",
    "ka.req.pod.volumes.hostpath pmatch [/etc,/var/run]",
  ],
  ['ka.user.name = "a \\"quoted\\" name"', 'ka.user.name = "a \\"quoted\\" name"'],
  ["\n  kevt\n  and non_system_user\n", "(and @kevt @non_system_user)"],
];

const ERRORS: [string, string, number][] = [
  ["", "filter input string is empty", 0],
  ["a and", "expected blank or '(' after 'and'", 5],
  ["a and ", "expected a '(' token, a field check, or an identifier", 6],
  ["(a", "expected a ')' token", 2],
  ["a b", "unexpected token after 'a', expecting 'or', 'and'", 2],
  [
    "ka.verb",
    "expected a valid check operator: one of 'exists', '<=', '<', '>=', '>', '==', '=', '!=', 'glob', 'iglob', 'contains', 'icontains', 'bcontains', 'startswith', 'bstartswith', 'endswith', 'regex', 'intersects', 'in', 'pmatch'",
    7,
  ],
  ["ka.verb in (a, b", "expected a ')' token", 16],
  ["ka.verb in (a,)", "expected a string value", 14],
  ["ka.response.code > abc", "expected a number value or a field with a valid transformer", 19],
  ["ka.uri.param[]", "expected a valid field argument: a quoted string or a bare string", 13],
  ["ka.uri.param[x", "expected a ']' token", 14],
  ["ka.verb contains", "expected a valid check operator", 8],
  [
    "tolower(ka.verb) = get",
    "field transformers (tolower(), val(), ...) are not supported by kaudit",
    0,
  ],
  ["a andb", "expected blank or '(' after 'and'", 5],
  ["kaudit.latency > 1e3", "unexpected token after '1', expecting 'or', 'and'", 18],
];

describe("condition grammar", () => {
  it.each(VALID)("%j", (input, expected) => {
    expect(show(parseCondition(input))).toBe(expected);
  });

  it.each(ERRORS)("%j is an error", (input, message, offset) => {
    let err: unknown;
    try {
      parseCondition(input);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConditionSyntaxError);
    expect((err as ConditionSyntaxError).message.startsWith(message)).toBe(true);
    expect((err as ConditionSyntaxError).offset).toBe(offset);
  });

  it("nests deeply but not without bound", () => {
    expect(show(parseCondition(`${"(".repeat(100)}a${")".repeat(100)}`))).toBe("@a");
    expect(() => parseCondition(`${"(".repeat(2000)}a${")".repeat(2000)}`)).toThrow(/max depth/);
  });
});
