/**
 * The alert kaudit watch delivers: the shape of Falco's `json_output` line, as
 * `@kaudit/rules`' `ruleSet.evaluate(event)` returns it, plus what windowed rules add.
 */
export interface WatchAlert {
  /** When the event happened (its stageTimestamp), RFC 3339. */
  time: string;
  /** The rule's name. */
  rule: string;
  /** Falco's priority: Emergency, Alert, Critical, Error, Warning, Notice, Informational, Debug. */
  priority: string;
  /** `k8s_audit`. */
  source: string;
  /** The rule's output template, filled in. */
  output: string;
  /** The values of the fields the output names, by field (`ka.user.name`). */
  output_fields: Record<string, unknown>;
  /** The rule's tags. */
  tags: string[];
  /** kaudit's extension, on alerts of windowed (threshold) rules. */
  kaudit?: ThresholdInfo | undefined;
  /**
   * A fleet detector's stable identity of the alert (`kaudit watch --from-nats`): the same alert
   * raised again after a crash has the same `id`, so a consumer of the JSON outputs can drop the
   * repeat. A hash of rule + key + window start (threshold rules) or rule + auditID + stage.
   */
  id?: string | undefined;
}

/** What `@kaudit/rules` adds to a threshold rule's alert. */
export interface ThresholdInfo {
  /** The values of the key (`by`) fields the count was kept per: `{ "ka.sourceips": ["10.0.0.7"] }`. */
  key: Record<string, unknown>;
  /** Events (or distinct values) counted within the window. */
  count: number;
  /** The window's length, ms; the rule stays quiet for this key that long after firing. */
  window_ms: number;
  /** Time of the first counted event. */
  first: string;
}

/** One alert of Alertmanager's v2 API (`POST /api/v2/alerts` takes an array of these). */
export interface AlertmanagerAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt?: string;
  generatorURL?: string;
}

/** Options of {@link toAlertmanagerAlert}. */
export interface AlertmanagerMapping {
  /** The rule's description (its `desc`), for the `description` annotation. */
  description?: string | undefined;
  /** Extra labels on every alert (e.g. `cluster`). Never override the ones kaudit sets. */
  extraLabels?: Record<string, string> | undefined;
  /** Longest label value kept; longer ones are cut and end in `…` (default 256). */
  maxLabelLength?: number | undefined;
  /** `generatorURL`, e.g. a link to the watch's /metrics. */
  generatorURL?: string | undefined;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * A Falco field name as an Alertmanager label name: `ka.user.name` → `ka_user_name`,
 * `ka.uri.param[command]` → `ka_uri_param_command`, `jevt.value[/a/b]` → `jevt_value_a_b`.
 * Alertmanager (like Prometheus) takes `[a-zA-Z_][a-zA-Z0-9_]*` only.
 */
export function labelName(field: string): string {
  if (LABEL_NAME.test(field)) return field;
  let s = field.replace(/[^a-zA-Z0-9_]+/g, "_").replace(/_+$/, "");
  if (s === "" || /^[0-9]/.test(s)) s = `_${s}`;
  return s;
}

/** A field value as one label value: lists joined with `,` (as Falco prints them), `<NA>` for none. */
export function labelValue(value: unknown, max = 256): string {
  let s: string;
  if (value === undefined || value === null) s = "<NA>";
  else if (Array.isArray(value)) s = value.map((v) => labelValue(v, max)).join(",");
  else if (typeof value === "object") s = JSON.stringify(value);
  else s = String(value);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/**
 * The labels of an alert: `alertname` = rule, `severity` = priority (lower case, as Alertmanager
 * routes usually match it), `source` = `kaudit`, and the rule's key fields — for a windowed rule
 * the fields its count is kept per, for a single-event rule the fields its output names (so two
 * different execs are two alerts, and the same one repeated is one). Reserved names win over
 * fields that would map onto them.
 */
export function alertLabels(
  alert: WatchAlert,
  options: Pick<AlertmanagerMapping, "extraLabels" | "maxLabelLength"> = {},
): Record<string, string> {
  const max = options.maxLabelLength ?? 256;
  const labels: Record<string, string> = { ...(options.extraLabels ?? {}) };
  const fields = alert.kaudit?.key ?? alert.output_fields;
  for (const [field, value] of Object.entries(fields ?? {})) {
    labels[labelName(field)] = labelValue(value, max);
  }
  labels.alertname = alert.rule;
  labels.severity = alert.priority.toLowerCase();
  labels.source = "kaudit";
  return labels;
}

/**
 * An alert as Alertmanager's v2 API takes it: labels as {@link alertLabels}; annotations
 * `summary` = the output line, `description` = the rule's desc (or its tags when none is known);
 * `startsAt` = the time of the event that fired it; a windowed rule's alert ends one window later
 * (`endsAt`), the time until which the rule stays quiet for that key. Single-event alerts carry no
 * `endsAt`, so Alertmanager resolves them after its `resolve_timeout`.
 */
export function toAlertmanagerAlert(
  alert: WatchAlert,
  options: AlertmanagerMapping = {},
): AlertmanagerAlert {
  const annotations: Record<string, string> = { summary: alert.output };
  const description =
    options.description ?? (alert.tags.length ? `tags: ${alert.tags.join(", ")}` : undefined);
  if (description) annotations.description = description;
  const out: AlertmanagerAlert = {
    labels: alertLabels(alert, options),
    annotations,
    startsAt: alert.time,
  };
  const t = Date.parse(alert.time);
  if (alert.kaudit && Number.isFinite(t) && alert.kaudit.window_ms > 0) {
    out.endsAt = new Date(t + alert.kaudit.window_ms).toISOString();
  }
  if (options.generatorURL) out.generatorURL = options.generatorURL;
  return out;
}
