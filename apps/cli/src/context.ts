import { formatProblem, type Problem } from "./input";
import { type Colors, colorsFor } from "./term";

/** What a command needs from the process: streams, environment and the problem reporter. */
export interface CliContext {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
  /** Colours for data on stdout (off unless stdout is a TTY and NO_COLOR is unset). */
  out: Colors;
  /** Colours for messages on stderr. */
  err: Colors;
  /** Counts of what was reported so far. */
  counts: { errors: number; warnings: number };
  /** Prints a problem on stderr as `file:line:col: path: message` and counts it. */
  report(problem: Problem): void;
}

/** A context over the given streams (the real process ones by default). */
export function createContext(
  io: Partial<Pick<CliContext, "stdout" | "stderr" | "stdin" | "env">> = {},
): CliContext {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const env = io.env ?? process.env;
  const err = colorsFor(stderr, env);
  const counts = { errors: 0, warnings: 0 };
  return {
    stdout,
    stderr,
    stdin: io.stdin ?? process.stdin,
    env,
    out: colorsFor(stdout, env),
    err,
    counts,
    report(problem) {
      if (problem.severity === "error") counts.errors++;
      else counts.warnings++;
      const text = formatProblem(problem);
      stderr.write(`${problem.severity === "error" ? err.red(text) : err.yellow(text)}\n`);
    },
  };
}
