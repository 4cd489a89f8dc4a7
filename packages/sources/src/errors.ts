import { SourceError } from "./source-stats";

/** Why an input could not be read as a whole: it cannot be opened, its gzip data is broken, or an option is wrong. */
export type SourceReadErrorKind = "open" | "gzip" | "option";

/**
 * Thrown when an input cannot be read at all (a {@link SourceError}, name `SourceError`).
 * Problems with single lines or records are never thrown: {@link readEvents} yields them as
 * `{ problem }` and goes on.
 */
export class SourceReadError extends SourceError {
  /** `open`: the file cannot be opened or read; `gzip`: corrupt or truncated gzip data; `option`: a bad option. */
  readonly kind: SourceReadErrorKind;
  /** The file as shown in messages (`<stdin>` for `-`). */
  readonly file: string;
  constructor(
    kind: SourceReadErrorKind,
    file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.kind = kind;
    this.file = file;
  }
}
