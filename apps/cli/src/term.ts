import pc from "picocolors";

/** The colour functions the CLI uses; identity functions when colour is off. */
export type Colors = ReturnType<typeof pc.createColors>;

/**
 * Whether to colour a stream: only a TTY, and never when `NO_COLOR` is set to a non-empty
 * value (https://no-color.org) or `TERM=dumb`.
 */
export function colorEnabled(
  stream: { isTTY?: boolean | undefined },
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.TERM === "dumb") return false;
  return stream.isTTY === true;
}

/** Colours for a stream, following {@link colorEnabled}. */
export function colorsFor(
  stream: { isTTY?: boolean | undefined },
  env: NodeJS.ProcessEnv = process.env,
): Colors {
  return pc.createColors(colorEnabled(stream, env));
}

/** `1.5 MB`-style size, decimal units as `du -h --si` and most log tools print them. */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let v = n;
  let u = -1;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)} ${units[u]}`;
}

/**
 * A one-line progress bar on stderr for long work. It draws only when stderr is a TTY (so
 * pipes, files and CI logs stay clean) and at most ten times a second; `finish` erases it.
 */
export class Progress {
  private done = 0;
  private last = 0;
  private drawn = false;
  readonly enabled: boolean;

  constructor(
    private readonly stream: NodeJS.WriteStream | { isTTY?: boolean; write(s: string): unknown },
    /** Total bytes expected (0 when unknown, e.g. stdin). */
    private total: number,
    private readonly label = "reading",
  ) {
    this.enabled = stream.isTTY === true;
  }

  /** Counts `n` more input bytes read. */
  add(n: number): void {
    this.done += n;
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < 100) return;
    this.last = now;
    this.draw();
  }

  private draw(): void {
    const width = 30;
    let line: string;
    if (this.total > 0) {
      const f = Math.min(1, this.done / this.total);
      const full = Math.round(f * width);
      line = `${this.label} [${"#".repeat(full)}${"-".repeat(width - full)}] ${(f * 100).toFixed(0).padStart(3)}% ${formatBytes(this.done)}/${formatBytes(this.total)}`;
    } else {
      line = `${this.label} ${formatBytes(this.done)}`;
    }
    this.stream.write(`\r${line}\x1b[K`);
    this.drawn = true;
  }

  /** Erases the bar (if it was drawn) so that the next message starts on a clean line. */
  finish(): void {
    if (this.drawn) this.stream.write("\r\x1b[K");
    this.drawn = false;
  }
}
