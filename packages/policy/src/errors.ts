import { type Issue, KauditError } from "@kaudit/api";

/**
 * A policy that kube-apiserver would refuse to load, or that cannot be read at all. `message`
 * uses kube-apiserver's wording (one error: its text; several: `[e1, e2]`), prefixed with
 * `source:line:col: ` when the source is known; `issues` lists every problem with its field path
 * and position.
 */
export class PolicyError extends KauditError {
  /** Every problem found, each with its field path and (when parsed from text) line and column. */
  readonly issues: readonly Issue[];
  /** The file name or label the policy came from, when known. */
  readonly source: string | undefined;
  /**
   * The text kube-apiserver itself would report for the same input (no positions; for files
   * `<error>: from file <path>`), for comparing with the reference.
   */
  readonly reference: string;

  constructor(
    message: string,
    options: {
      issues: readonly Issue[];
      source?: string | undefined;
      reference?: string;
      cause?: unknown;
    },
  ) {
    super(message, { name: "PolicyError", cause: options.cause });
    this.issues = options.issues;
    this.source = options.source;
    this.reference = options.reference ?? message;
  }
}

/** `source:line:col: ` (or the parts of it that are known). */
export function positionPrefix(source: string | undefined, issue: Issue): string {
  let out = "";
  if (source !== undefined && source !== "") out = source;
  if (issue.line !== undefined) {
    out += `${out === "" ? "" : ":"}${issue.line}:${issue.column ?? 1}`;
  }
  return out === "" ? "" : `${out}: `;
}

/** An issue as one line: `source:line:col: path: message` style, as printed by tools. */
export function formatIssue(issue: Issue, source?: string): string {
  return `${positionPrefix(source, issue)}${issue.message}`;
}

/**
 * apimachinery's utilerrors.NewAggregate(...).Error(): one message as is, several as
 * `[m1, m2]`, duplicates removed.
 */
export function aggregate(messages: readonly string[]): string {
  const unique = [...new Set(messages)];
  return unique.length === 1 ? unique[0]! : `[${unique.join(", ")}]`;
}
