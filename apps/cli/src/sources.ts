import { stat } from "node:fs/promises";
import type { CliContext } from "./context";
import { fileError } from "./errors";
import { displayName } from "./io";
import { Progress } from "./term";

/**
 * Checks that every input can be opened before any work starts (so a typo in the last of ten
 * file names fails at once with exit 2) and sets up a progress bar over their total size.
 */
export async function prepareInputs(
  ctx: CliContext,
  names: string[],
  label: string,
): Promise<Progress> {
  let total = 0;
  for (const name of names) {
    if (name === "-") continue;
    try {
      const st = await stat(name);
      if (st.isDirectory()) throw Object.assign(new Error("is a directory"), { code: "EISDIR" });
      total += st.size;
    } catch (e) {
      throw fileError(displayName(name), e);
    }
  }
  return new Progress(ctx.stderr, names.includes("-") ? 0 : total, label);
}
