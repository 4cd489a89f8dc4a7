import {
  goJSONString,
  goQuote,
  type Issue,
  isLevel,
  isStage,
  LEVELS,
  type Policy,
  type PolicyRule,
  STAGES,
} from "@kaudit/api";

/** Go's encoding/json rendering of a string slice, as field.Error prints slice values. */
const goJSONStrings = (values: readonly string[]) => `[${values.map(goJSONString).join(",")}]`;

const SUPPORTED_LEVELS = LEVELS.map((l) => goQuote(l)).join(", ");
const ALLOWED_STAGES = STAGES.join(",");

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

/** A validation issue plus the exact path (with indexes kube leaves out) used to locate it. */
export interface LocatedIssue extends Issue {
  /** Where in the document to point, e.g. `rules[0].resources[1].group`. */
  locatePath: string;
}

/** apimachinery IsDNS1123Subdomain: the messages for a value, empty when it is valid. */
export function dns1123SubdomainErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 253) errs.push("must be no more than 253 characters");
  if (!DNS1123_SUBDOMAIN.test(value)) errs.push(DNS1123_SUBDOMAIN_MSG);
  return errs;
}

function invalid(path: string, rendered: string, detail: string, locatePath = path): LocatedIssue {
  return { path, message: `${path}: Invalid value: ${rendered}: ${detail}`, locatePath };
}

function validateOmitStages(stages: unknown, path: string, out: LocatedIssue[]): void {
  if (!Array.isArray(stages)) return;
  stages.forEach((stage, i) => {
    const s = String(stage ?? "");
    if (!isStage(s)) {
      out.push(invalid(`${path}[${i}]`, goQuote(s), `allowed stages are ${ALLOWED_STAGES}`));
    }
  });
}

function list(v: unknown): string[] {
  return Array.isArray(v) ? v.map((x) => (typeof x === "string" ? x : String(x ?? ""))) : [];
}

function validateRule(rule: PolicyRule, path: string, out: LocatedIssue[]): void {
  const level = String(rule?.level ?? "");
  if (level === "") {
    out.push({ path: `${path}.level`, message: `${path}.level: Required value`, locatePath: path });
  } else if (!isLevel(level)) {
    out.push({
      path: `${path}.level`,
      message: `${path}.level: Unsupported value: ${goQuote(level)}: supported values: ${SUPPORTED_LEVELS}`,
      locatePath: `${path}.level`,
    });
  }

  const urls = list(rule?.nonResourceURLs);
  urls.forEach((url, j) => {
    if (url === "*") return;
    const p = `${path}.nonResourceURLs[${j}]`;
    if (!url.startsWith("/")) {
      out.push(invalid(p, goQuote(url), "non-resource URL rules must begin with a '/' character"));
    }
    if (url !== "" && url.slice(0, -1).includes("*")) {
      out.push(
        invalid(
          p,
          goQuote(url),
          "non-resource URL wildcards '*' must be the final character of the rule",
        ),
      );
    }
  });

  const resources = Array.isArray(rule?.resources) ? rule.resources : [];
  resources.forEach((gr, j) => {
    const group = String(gr?.group ?? "");
    if (group !== "" && group !== "*") {
      const msgs = dns1123SubdomainErrors(group);
      if (msgs.length > 0) {
        out.push(
          invalid(
            `${path}.resources.group`,
            goQuote(group),
            msgs.join(","),
            `${path}.resources[${j}].group`,
          ),
        );
      }
    }
    const names = list(gr?.resourceNames);
    if (names.length > 0 && list(gr?.resources).length === 0) {
      out.push(
        invalid(
          `${path}.resources.resourceNames`,
          goJSONStrings(names),
          "using resourceNames requires at least one resource",
          `${path}.resources[${j}].resourceNames`,
        ),
      );
    }
  });

  validateOmitStages(rule?.omitStages, `${path}.omitStages`, out);

  if (urls.length > 0 && (resources.length > 0 || list(rule?.namespaces).length > 0)) {
    out.push(
      invalid(
        `${path}.nonResourceURLs`,
        goJSONStrings(urls),
        "rules cannot apply to both regular resources and non-resource URLs",
      ),
    );
  }
}

/** validatePolicy with the exact locations; see {@link validatePolicy}. */
export function validatePolicyLocated(policy: Policy): LocatedIssue[] {
  const out: LocatedIssue[] = [];
  validateOmitStages(policy?.omitStages, "omitStages", out);
  const rules = Array.isArray(policy?.rules) ? policy.rules : [];
  rules.forEach((rule, i) => {
    validateRule(rule, `rules[${i}]`, out);
  });
  return out;
}

/**
 * kube-apiserver's ValidatePolicy (pkg/apis/audit/validation): every problem, in the reference's
 * order (policy omitStages, then per rule: level, nonResourceURLs, resources, omitStages, the
 * resources/non-resource mixing check) and wording; `message` is `field.Error.Error()`, e.g.
 * `rules[0].level: Unsupported value: "metadata": supported values: "None", "Metadata", "Request", "RequestResponse"`.
 * An empty policy is valid here (the loader rejects it with `loaded illegal policy with 0 rules`).
 */
export function validatePolicy(policy: Policy): Issue[] {
  return validatePolicyLocated(policy).map(({ path, message }) => ({ path, message }));
}
