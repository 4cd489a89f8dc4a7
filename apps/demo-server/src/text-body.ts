import { checkGoJSON, GO_JSON_MAX_DEPTH, jsonDepth } from "@kaudit/api";
import { checkYAMLDepth } from "@kaudit/policy";
import { parse as parseYAML, YAMLError } from "yaml";
import { badRequest, type StatusError } from "./status";

/**
 * The JSON and YAML request-body decoders, with kube-apiserver's limits and words and without
 * ever quoting the body: their messages go into `responseStatus.message`, which is written at
 * every audit level, Metadata included (issue 12 case 4). kube-apiserver appends the first 30
 * bytes of an undecodable body to the message (`transformDecodeError`'s summary); the demo leaves
 * that out for the same reason.
 */

/** JSON bodies nest at most this deep: Go encoding/json's limit, which kube's decoder has. */
export const MAX_JSON_BODY_DEPTH = GO_JSON_MAX_DEPTH;

/**
 * YAML bodies nest at most this deep. kube's go-yaml stops at 10,000 levels; the YAML library
 * here composes recursively and runs out of stack at a few hundred, so the demo stops earlier.
 * (kubectl sends JSON; YAML bodies come from curl and apply-patch clients.)
 */
export const MAX_YAML_BODY_DEPTH = 300;

function unrecognized(what: string, detail: string): StatusError {
  return badRequest(`the object provided is unrecognized (must be of type ${what}): ${detail}`);
}

/**
 * Decodes a JSON body as kube's decoder does: Go's syntax errors (`invalid character 'h' looking
 * for beginning of value`, `invalid character '{' exceeded max depth`) as a 400, no excerpt.
 */
export function parseJSONBody(text: string, what: string): unknown {
  let value: unknown;
  try {
    // V8's parser does not recurse, so it is safe on any depth; its message quotes the body
    value = JSON.parse(text);
  } catch {
    throw goSyntaxError(text, what);
  }
  if (jsonDepth(value, MAX_JSON_BODY_DEPTH) > MAX_JSON_BODY_DEPTH) throw goSyntaxError(text, what);
  return value;
}

function goSyntaxError(text: string, what: string): StatusError {
  const err = checkGoJSON(text, MAX_JSON_BODY_DEPTH);
  return unrecognized(
    what,
    `couldn't get version/kind; json parse error: ${err?.message ?? "invalid JSON"}`,
  );
}

/** go-yaml's words for the yaml library's error codes; none of them quotes the input. */
const YAML_PROBLEMS: Record<string, string> = {
  BAD_INDENT: "bad indentation of a mapping entry",
  BLOCK_AS_IMPLICIT_KEY: "mapping values are not allowed in this context",
  MULTILINE_IMPLICIT_KEY: "could not find expected ':'",
  MISSING_CHAR: "did not find expected node content",
  UNEXPECTED_TOKEN: "did not find expected node content",
  TAB_AS_INDENT: "found character that cannot start any token",
  BAD_DQ_ESCAPE: "found unknown escape character",
  DUPLICATE_KEY: "mapping key already defined",
  BAD_ALIAS: "unknown anchor referenced",
  MULTIPLE_DOCS: "expected a single document in the stream",
  KEY_OVER_1024_CHARS: "could not find expected ':'",
};

/** Decodes a YAML body; errors as go-yaml words them (`yaml: line 3: …`), with no excerpt. */
export function parseYAMLBody(text: string, what: string): unknown {
  const deep = checkYAMLDepth(text, MAX_YAML_BODY_DEPTH);
  if (deep !== undefined)
    throw unrecognized(
      what,
      `yaml: line ${lineOf(text, deep.offset)}: exceeded max depth of ${MAX_YAML_BODY_DEPTH}`,
    );
  let value: unknown;
  try {
    // warnings (unknown tags) would be process warnings on the server's stderr, one per request
    value = parseYAML(text, { logLevel: "error" });
  } catch (e) {
    if (e instanceof YAMLError) {
      const line = e.linePos?.[0]?.line;
      const problem = YAML_PROBLEMS[e.code] ?? "could not parse the document";
      throw unrecognized(what, `yaml: ${line ? `line ${line}: ` : ""}${problem}`);
    }
    // an alias to no anchor; aliases nested deeper than the text (RangeError) or expanded
    // too far (ReferenceError)
    if (e instanceof Error && e.message.startsWith("Unresolved alias"))
      throw unrecognized(what, "yaml: unknown anchor referenced");
    throw unrecognized(what, "yaml: document contains excessive aliasing");
  }
  if (jsonDepth(value, MAX_JSON_BODY_DEPTH) > MAX_JSON_BODY_DEPTH)
    throw unrecognized(what, "yaml: document contains excessive aliasing");
  return value;
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf("\n"); i >= 0 && i < offset; i = text.indexOf("\n", i + 1)) line++;
  return line;
}
