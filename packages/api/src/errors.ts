const MARKER = Symbol.for("kaudit.error");

/**
 * The base of every error kaudit throws. Recognise one with `KauditError.isInstance(e)` rather
 * than `instanceof`, which fails when two copies of a package are installed.
 */
export class KauditError extends Error {
  /** A stable machine-readable name, e.g. `PolicyError`. */
  override readonly name: string;

  constructor(message: string, options?: { name?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = options?.name ?? "KauditError";
    // A registered symbol, not instanceof, so copies of the package recognise each other's errors.
    Object.defineProperty(this, MARKER, { value: true });
  }

  /** True for any KauditError, from any copy of any kaudit package. */
  static isInstance(error: unknown): error is KauditError {
    return (
      typeof error === "object" &&
      error !== null &&
      (error as Record<symbol, unknown>)[MARKER] === true
    );
  }
}

/** One problem found in an input, with where it is. */
export interface Issue {
  /** The field path, e.g. `rules[3].level`; `""` for the whole document. */
  path: string;
  /** What is wrong, in the reference's words where it has them. */
  message: string;
  /** 1-based line in the source text, when known. */
  line?: number;
  /** 1-based column in the source text, when known. */
  column?: number;
}
