import { Counter } from "./counter";

/** Alert rows kept for the report: the most recent, and each rule's last {@link ROWS_PER_RULE}. */
export const MAX_ALERT_ROWS = 500;
/** Rows kept per rule besides the most recent ones, so a rare rule is not pushed out by a noisy one. */
export const ROWS_PER_RULE = 25;

/** One alert as the statistics keep it (the fields of a Falco json_output line the report shows). */
export interface AlertRow {
  time: string;
  rule: string;
  priority: string;
  output: string;
  /** `ka.user.name` of the alert, when it has one (so a user filter applies to alerts too). */
  user?: string;
}

/** What {@link AlertStats.report} returns. */
export interface AlertReport {
  total: number;
  /** Rules loaded (enabled ones). */
  rules: number;
  byRule: { rule: string; priority: string; count: number }[];
  rows: AlertRow[];
}

/** Counts alerts by rule and keeps a bounded set of them as rows, in time order. */
export class AlertStats {
  private total = 0;
  private readonly counts = new Counter();
  private readonly priorities = new Map<string, string>();
  private readonly recent: AlertRow[] = [];
  private readonly perRule = new Map<string, AlertRow[]>();

  /** @param rules how many rules were evaluated (shown on the page). */
  constructor(private readonly rules: number) {}

  add(alert: AlertRow): void {
    this.total++;
    this.counts.add(alert.rule);
    this.priorities.set(alert.rule, alert.priority);
    push(this.recent, alert, MAX_ALERT_ROWS);
    let mine = this.perRule.get(alert.rule);
    if (!mine) {
      mine = [];
      this.perRule.set(alert.rule, mine);
    }
    push(mine, alert, ROWS_PER_RULE);
  }

  report(): AlertReport {
    const kept = new Set(this.recent);
    for (const rows of this.perRule.values()) for (const r of rows) kept.add(r);
    return {
      total: this.total,
      rules: this.rules,
      byRule: this.counts.top(Number.MAX_SAFE_INTEGER).map((r) => ({
        rule: r.key,
        priority: this.priorities.get(r.key) ?? "",
        count: r.count,
      })),
      rows: [...kept].sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0)),
    };
  }
}

/** Appends, dropping the oldest past `cap` (alerts are few next to events: a shift is fine). */
function push<T>(rows: T[], row: T, cap: number): void {
  rows.push(row);
  if (rows.length > cap) rows.shift();
}
