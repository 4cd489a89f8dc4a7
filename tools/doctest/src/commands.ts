/** One `$ command` of a console block and the output shown under it. */
export interface Command {
  /** The command as bash runs it (continuation lines joined by their newline). */
  text: string;
  /** The output lines shown (without the trailing empty line). */
  expected: string[];
  /** Offset of the command's first line inside the block (0-based). */
  offset: number;
}

/**
 * Splits a console block into commands and their expected output. A line starting with `$ ` is a
 * command; one ending in `\` continues on the next line; every other line is output of the
 * command above it. A `sh` block (no prompts) is one command: the whole script, no output shown.
 */
export function parseConsole(body: string, prompts: boolean): Command[] {
  const lines = body.replace(/\n$/, "").split("\n");
  if (!prompts) return [{ text: lines.join("\n"), expected: [], offset: 0 }];
  const out: Command[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.startsWith("$ ")) {
      const offset = i;
      let text = l.slice(2);
      while (text.endsWith("\\") && i + 1 < lines.length) text += `\n${lines[++i]}`;
      out.push({ text, expected: [], offset });
    } else if (out.length === 0) {
      throw new Error(`line ${i + 1} of the block is output before any \`$ \` command`);
    } else {
      out[out.length - 1]!.expected.push(l);
    }
  }
  return out;
}

/** Whether one output line matches a README line, in which `...` stands for any text. */
export function lineMatches(expected: string, actual: string): boolean {
  if (!expected.includes("...")) return expected === actual;
  const parts = expected.split("...").map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${parts.join(".*")}$`, "s").test(actual);
}

/**
 * Compares output with what the README shows: line by line, trailing spaces ignored, a line
 * `...` standing for any number of lines (zero included) and `...` inside a line for any text
 * (as Python's doctest ELLIPSIS). Returns a description of the first
 * difference, or undefined when they match.
 */
export function compareOutput(expected: string[], actual: string[]): string | undefined {
  const norm = (s: string) => s.replace(/\s+$/, "");
  const exp = expected.map(norm);
  const act = actual.map(norm);
  while (act.length > 0 && act[act.length - 1] === "") act.pop();
  while (exp.length > 0 && exp[exp.length - 1] === "") exp.pop();
  // Small backtracking matcher: `...` is the only wildcard, and blocks are short.
  const match = (e: number, a: number): boolean => {
    if (e === exp.length) return a === act.length;
    if (exp[e] === "...") {
      for (let k = a; k <= act.length; k++) if (match(e + 1, k)) return true;
      return false;
    }
    return a < act.length && lineMatches(exp[e]!, act[a]!) && match(e + 1, a + 1);
  };
  if (match(0, 0)) return undefined;
  let i = 0;
  while (i < exp.length && i < act.length && lineMatches(exp[i]!, act[i]!)) i++;
  return `output differs at line ${i + 1}:\n  README: ${JSON.stringify(exp[i] ?? "<end>")}\n  actual: ${JSON.stringify(act[i] ?? "<end>")}\nwhole output:\n${act.join("\n")}`;
}
