import { KauditError } from "@kaudit/api";
import { errnoText } from "@kaudit/sources";

/** `no such file or directory` for ENOENT and so on (one table, in @kaudit/sources). */
export { errnoText };

/** Exit codes: 0 all good, 1 findings (invalid input, problems reported), 2 usage error. */
export const EXIT_OK = 0;
/** Something in the input is invalid, or a command reported findings. */
export const EXIT_FINDINGS = 1;
/** The command line is wrong: unknown option, missing argument, a file that cannot be opened. */
export const EXIT_USAGE = 2;

/**
 * An error that ends a command with a message on stderr and an exit code. The message is
 * printed as is (it already says where: `file: ...` or `file:line:col: ...`).
 */
export class CliError extends KauditError {
  readonly exitCode: number;
  constructor(message: string, exitCode: number, options: { cause?: unknown } = {}) {
    super(message, { name: "CliError", cause: options.cause });
    this.exitCode = exitCode;
  }
}

/** A file that cannot be opened or read: a usage error (exit 2) naming the file and why. */
export function fileError(name: string, e: unknown, what = "cannot read"): CliError {
  return new CliError(`${name}: ${what}: ${errnoText(e)}`, EXIT_USAGE, { cause: e });
}
