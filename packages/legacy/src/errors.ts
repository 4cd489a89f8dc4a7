import { KauditError } from "@kaudit/api";

/**
 * A legacy `AUDIT:` line that cannot be read. `column` is 1-based (UTF-16 code units, as
 * JavaScript strings count them); `expected` says what the parser wanted there.
 */
export class LegacyParseError extends KauditError {
  /** 1-based column of the problem in the line. */
  readonly column: number;
  /** What the parser expected at that column, e.g. `` `uri=` `` or `a closing "`. */
  readonly expected: string;
  /** 1-based line number, when known (set by {@link legacyToEvents}, not by parseLegacyLine). */
  line: number | undefined;

  constructor(message: string, column: number, expected: string, options?: { line?: number }) {
    super(message, { name: "LegacyParseError" });
    this.column = column;
    this.expected = expected;
    this.line = options?.line;
  }
}

/** An event that cannot be written as a legacy line (e.g. a timestamp that is not RFC 3339). */
export class LegacyFormatError extends KauditError {
  /** The field path of the offending value, e.g. `requestReceivedTimestamp`. */
  readonly path: string;

  constructor(message: string, path: string) {
    super(message, { name: "LegacyFormatError" });
    this.path = path;
  }
}
