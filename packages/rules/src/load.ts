import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Collector } from "./collector";
import { RulesError } from "./errors";
import { type LoadOptions, RuleSet } from "./rule-set";

/** A rules file given as text. */
export interface RulesSource {
  /** Shown in errors and warnings (a path, or any label). */
  name: string;
  text: string;
}

/** The path of kaudit's default rule set (`packages/rules/rules/kaudit-default.yaml`). */
export const DEFAULT_RULES_FILE: string = fileURLToPath(
  new URL("../rules/kaudit-default.yaml", import.meta.url),
);

/**
 * Loads Falco rules files (for source `k8s_audit`, with kaudit's extensions) into a rule set.
 * Files are read in order; later ones change earlier items (`append`, `override`, `enabled`).
 * With no files, kaudit's default rule set is loaded. Throws {@link RulesError} with
 * file:line:col, the item and Falco's wording when a file cannot be loaded.
 *
 * @example
 * const rules = loadRules(["/etc/falco/k8s_audit_rules.yaml"]);
 * for (const alert of rules.evaluate(event)) console.log(alert.output);
 */
export function loadRules(
  files: readonly (string | RulesSource)[] = [],
  options: LoadOptions = {},
): RuleSet {
  const col = new Collector();
  const list = files.length === 0 ? [DEFAULT_RULES_FILE] : files;
  for (const f of list) {
    if (typeof f === "string") {
      let text: string;
      try {
        text = readFileSync(f, "utf8");
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new RulesError(
          "LOAD_ERR_FILE_READ",
          `Could not read file${code === "ENOENT" ? ": no such file or directory" : code ? `: ${code}` : ""}`,
          { file: f, line: 1, column: 1 },
        );
      }
      col.addFile(f, text);
    } else col.addFile(f.name, f.text);
  }
  return new RuleSet(col, options);
}
