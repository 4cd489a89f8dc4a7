import { schemas } from "@kaudit/api";
import type { CliContext } from "./context";
import { EXIT_OK, EXIT_USAGE } from "./errors";

/** `kaudit schema [name]`: prints one JSON Schema shipped by @kaudit/api, or lists the names. */
export function runSchema(ctx: CliContext, name: string | undefined): number {
  const all = schemas as Record<string, unknown>;
  const names = Object.keys(all).sort();
  if (name === undefined) {
    ctx.stdout.write(`${names.join("\n")}\n`);
    return EXIT_OK;
  }
  const found = all[name] ?? all[names.find((n) => n.toLowerCase() === name.toLowerCase()) ?? ""];
  if (found === undefined) {
    ctx.stderr.write(
      ctx.err.red(
        `kaudit schema: unknown schema ${JSON.stringify(name)}; known: ${names.join(", ")}\n`,
      ),
    );
    return EXIT_USAGE;
  }
  ctx.stdout.write(`${JSON.stringify(found, null, 2)}\n`);
  return EXIT_OK;
}
