import { createRequire } from "node:module";
import type * as Yaml from "yaml";

let lib: typeof Yaml | undefined;

/**
 * The yaml package, loaded on first use: only YAML documents and the positions of problems need
 * it, and loading it was a good part of the start-up of a command that reads JSON or legacy lines.
 */
export function yaml(): typeof Yaml {
  lib ??= createRequire(import.meta.url)("yaml") as typeof Yaml;
  return lib;
}
