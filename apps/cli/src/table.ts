/**
 * A plain-text table: a header row, a separator and the rows, columns padded to their widest
 * cell (`right[i]` right-aligns column i, for numbers). No colour codes inside cells, so widths
 * are exact and the output is stable for tests and diffs.
 */
export function renderTable(header: string[], rows: string[][], right: boolean[] = []): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) =>
        right[i]
          ? cell.padStart(widths[i]!)
          : i === cells.length - 1
            ? cell
            : cell.padEnd(widths[i]!),
      )
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
