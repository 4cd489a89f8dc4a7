// Shared by the readEvents and the live benches: a JSON-lines log built from corpus events, and
// the floor both race against (the file read in 256 KB chunks, split into lines, JSON.parse'd).
import { createReadStream, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const corpus = fileURLToPath(new URL("../__fixtures__/events/", import.meta.url));

/** The non-blank lines of these corpus files (`__fixtures__/events/`). */
export function corpusLines(sources: string[]): string[] {
  return sources
    .flatMap((f) => readFileSync(join(corpus, f), "utf8").split("\n"))
    .filter((l) => l.trim() !== "");
}

/** Writes about `size` bytes of `lines` to `file`, auditIDs made distinct; returns lines and bytes written. */
export function writeCorpusLog(
  file: string,
  size: number,
  lines: string[],
): { n: number; bytes: number } {
  const parts: string[] = [];
  let bytes = 0;
  let n = 0;
  while (bytes < size) {
    // Distinct auditIDs, as in a real log.
    const line = lines[n % lines.length]!.replace(/"auditID":"[^"]*"/, `"auditID":"id-${n}"`);
    parts.push(line);
    bytes += line.length + 1;
    n++;
  }
  writeFileSync(file, `${parts.join("\n")}\n`);
  return { n, bytes };
}

/** The floor: `file` split into lines and each JSON.parse'd; returns the line count. */
export async function splitParse(file: string): Promise<number> {
  let count = 0;
  let rest = "";
  for await (const chunk of createReadStream(file, {
    encoding: "utf8",
    highWaterMark: 256 * 1024,
  })) {
    const ls = (rest + (chunk as string)).split("\n");
    rest = ls.pop()!;
    for (const l of ls) {
      if (l !== "") {
        JSON.parse(l);
        count++;
      }
    }
  }
  return count;
}
