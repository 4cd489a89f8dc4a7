import { describe, expect, it } from "vitest";
import { AlertStats, MAX_ALERT_ROWS, ROWS_PER_RULE } from "./alert-stats";

const alert = (i: number, rule: string) => ({
  time: `2026-11-22T10:00:${String(i % 60).padStart(2, "0")}.${String(i).padStart(9, "0")}Z`,
  rule,
  priority: rule === "rare" ? "Critical" : "Notice",
  output: `${rule} ${i}`,
});

describe("AlertStats", () => {
  it("counts by rule, keeps the most recent alerts and each rule's last ones, in time order", () => {
    const s = new AlertStats(3);
    for (let i = 0; i < 5; i++) s.add(alert(i, "rare"));
    for (let i = 5; i < MAX_ALERT_ROWS + 100; i++) s.add(alert(i, "noisy"));
    const r = s.report();
    expect(r.total).toBe(MAX_ALERT_ROWS + 100);
    expect(r.rules).toBe(3);
    expect(r.byRule).toEqual([
      { rule: "noisy", priority: "Notice", count: MAX_ALERT_ROWS + 95 },
      { rule: "rare", priority: "Critical", count: 5 },
    ]);
    expect(r.rows.filter((x) => x.rule === "rare")).toHaveLength(5);
    expect(r.rows.filter((x) => x.rule === "noisy")).toHaveLength(MAX_ALERT_ROWS);
    expect(r.rows.map((x) => x.time)).toEqual(r.rows.map((x) => x.time).sort());
    expect(ROWS_PER_RULE).toBeLessThan(MAX_ALERT_ROWS);
  });
});
