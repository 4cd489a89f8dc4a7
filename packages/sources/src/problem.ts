/** A problem at a place in an input: printed as `file:line:col: path: message`. */
export interface Problem {
  /** The file as shown to people (`<stdin>` for `-`). */
  file: string;
  /** 1-based line, when known. */
  line?: number | undefined;
  /** 1-based column (UTF-16 code units), when known. */
  column?: number | undefined;
  /** The field path inside the record (`items[3].verb`, `records[0].properties.log`), when known. */
  path?: string | undefined;
  /** What is wrong, never quoting the input. */
  message: string;
  /** Errors lose a record; warnings keep it. */
  severity: "error" | "warning";
}

/** `file:line:col: path: message` (the parts that are known). */
export function formatProblem(p: Problem): string {
  let where = p.file;
  if (p.line !== undefined) where += `:${p.line}:${p.column ?? 1}`;
  // kube-style messages often start with their path already (`rules[0].level: Unsupported value`).
  const path =
    p.path !== undefined && p.path !== "" && !p.message.startsWith(`${p.path}: `)
      ? `${p.path}: `
      : "";
  const sev = p.severity === "warning" ? "warning: " : "";
  return `${where}: ${sev}${path}${p.message}`;
}
