import { Counter, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { auditMetrics } from "./metrics";

describe("auditMetrics", () => {
  it("registers the reference's counters once per registry, readable by prom-client", async () => {
    const registry = new Registry();
    const a = auditMetrics(registry);
    expect(auditMetrics(registry)).toBe(a);
    a.errorTotal.inc({ plugin: "webhook" }, 3);
    a.errorTotal.inc({ plugin: "webhook" }, 2);
    a.errorTotal.inc({ plugin: "buffered" }, 1);
    a.eventTotal.inc(7);
    a.levelTotal.inc({ level: "Metadata" });
    const text = await registry.metrics();
    expect(text).toContain("# TYPE apiserver_audit_error_total counter");
    expect(text).toContain('apiserver_audit_error_total{plugin="webhook"} 5');
    expect(text).toContain('apiserver_audit_error_total{plugin="buffered"} 1');
    expect(text).toContain("apiserver_audit_event_total 7");
    expect(text).toContain('apiserver_audit_level_total{level="Metadata"} 1');
    expect(text).toContain("apiserver_audit_requests_rejected_total 0");
    const json = await registry.getMetricsAsJSON();
    expect(json.map((m) => m.name).sort()).toEqual([
      "apiserver_audit_error_total",
      "apiserver_audit_event_total",
      "apiserver_audit_level_total",
      "apiserver_audit_requests_rejected_total",
    ]);
    registry.resetMetrics();
    expect(await registry.metrics()).toContain("apiserver_audit_event_total 0");
  });

  it("uses a prom-client Counter already registered under the same name", async () => {
    const registry = new Registry();
    const own = new Counter({
      name: "apiserver_audit_error_total",
      help: "mine",
      labelNames: ["plugin"],
      registers: [registry],
    });
    auditMetrics(registry).errorTotal.inc({ plugin: "log" }, 4);
    expect((await own.get()).values).toEqual([{ labels: { plugin: "log" }, value: 4 }]);
  });
});
