import { readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { type Event, upgradeEvent } from "@kaudit/api";
import { describe, expect, it } from "vitest";
import type { WatchAlert } from "./alert";
import { createAlertmanagerOutput } from "./alertmanager-output";
import { createWatchMetrics } from "./metrics";
import { MemoryOutput } from "./testing/memory-output";
import { type AlertEvaluator, createWatcher, type InputItem, type WatchInput } from "./watcher";

const demo: Event[] = readFileSync(
  new URL("./__fixtures__/audit2rbac-demo.v1.jsonl", import.meta.url),
  "utf8",
)
  .split("\n")
  .filter((l) => l.trim())
  .map((l) => upgradeEvent(JSON.parse(l)));

/** A stand-in rule: every 403 is an alert naming the user. */
const forbidden = (rule = "forbidden"): AlertEvaluator => ({
  evaluate(e) {
    if (e.responseStatus?.code !== 403) return [];
    const alert: WatchAlert = {
      time: e.stageTimestamp ?? "",
      rule,
      priority: "Warning",
      source: "k8s_audit",
      output: `${e.user.username} was refused ${e.verb} ${e.requestURI}`,
      output_fields: { "ka.user.name": e.user.username },
      tags: [],
    };
    return [alert];
  },
});

/** An input over an array, optionally waiting `gate` before the rest, stoppable. */
function arrayInput(
  name: string,
  items: InputItem[],
  gate?: Promise<void>,
): WatchInput & { acks: number } {
  let stopped = false;
  const input = {
    name,
    acks: 0,
    items: (async function* () {
      for (const [i, item] of items.entries()) {
        if (stopped) return;
        if (i === 1 && gate) await gate;
        if ("problem" in item) yield item;
        else yield { ...item, ack: () => input.acks++ };
      }
    })(),
    stop() {
      stopped = true;
    },
  };
  return input;
}

describe("Watcher", () => {
  it("merges inputs: a stuck input does not hold the others; every event evaluated once", async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => {
      open = r;
    });
    const a = arrayInput(
      "file:a",
      demo.map((event) => ({ event })),
    );
    const stuck = arrayInput(
      "webhook",
      [{ events: demo.slice(0, 2) }, { events: demo.slice(2) }],
      gate,
    );
    const out = new MemoryOutput();
    const metrics = createWatchMetrics({ processMetrics: false });
    const w = createWatcher({ inputs: [a, stuck], rules: forbidden(), outputs: [out], metrics });
    const done = w.run();
    await new Promise((r) => setTimeout(r, 50));
    expect(w.stats().events).toBe(37 + 2); // input a finished while the webhook waits
    open();
    await done;
    expect(w.stats()).toEqual({ events: 74, alerts: 22, problems: 0, ruleErrors: 0 });
    expect(out.alerts).toHaveLength(22);
    expect(a.acks).toBe(37);
    expect(stuck.acks).toBe(2);
    const read = await metrics.registry.getSingleMetric("kaudit_events_read_total")!.get();
    expect(read.values.map((v) => [v.labels.input, v.value])).toEqual([
      ["file:a", 37],
      ["webhook", 37],
    ]);
  });

  it("a dead Alertmanager does not block the JSON output or the inputs; its drops are counted", async () => {
    const server = http.createServer(() => {}); // accepts, never answers
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const many = Array.from({ length: 200 }, () => demo).flat(); // 7400 events, 2200 alerts
      const mem = new MemoryOutput();
      const am = createAlertmanagerOutput({ url, queueSize: 50, timeout: 100_000 });
      const metrics = createWatchMetrics({ processMetrics: false });
      const w = createWatcher({
        inputs: [
          arrayInput(
            "file:a",
            many.map((event) => ({ event })),
          ),
        ],
        rules: forbidden(),
        outputs: [am, mem],
        metrics,
      });
      const t0 = performance.now();
      await w.run();
      expect(performance.now() - t0).toBeLessThan(2_000);
      expect(mem.alerts).toHaveLength(2200);
      await w.stop(200);
      const drops = await metrics.registry.getSingleMetric("kaudit_dropped_total")!.get();
      const byReason = Object.fromEntries(drops.values.map((v) => [v.labels.reason, v.value]));
      // all 2200 are accounted for: 50 queued then cut at shutdown (plus the batch in flight)
      expect(byReason.output_queue_full! + byReason.output_shutdown!).toBe(2200);
      expect(byReason.output_queue_full).toBeGreaterThanOrEqual(2200 - 50 - 64);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it("setRules swaps the evaluator between two events", async () => {
    const out = new MemoryOutput();
    const w = createWatcher({ inputs: [], rules: forbidden("old"), outputs: [out] });
    for (const e of demo.slice(0, 20)) w.handle("x", e);
    w.setRules(forbidden("new"));
    for (const e of demo.slice(20)) w.handle("x", e);
    const rules = out.alerts.map((a) => a.rule);
    expect(rules.filter((r) => r === "old").length + rules.filter((r) => r === "new").length).toBe(
      11,
    );
    expect(rules.indexOf("new")).toBeGreaterThan(rules.lastIndexOf("old"));
  });

  it("problems and rule errors are counted and reported, not fatal", async () => {
    const problems: string[] = [];
    const errors: string[] = [];
    const metrics = createWatchMetrics({ processMetrics: false });
    const boom: AlertEvaluator = {
      evaluate(e) {
        if (e.verb === "get") throw new Error("rule bug");
        if (e.objectRef?.resource === "secrets") {
          throw Object.assign(new Error("data not recognized as a k8s audit event"), {
            name: "UnreadableEventError",
          });
        }
        return [];
      },
    };
    const w = createWatcher({
      inputs: [
        arrayInput("file:a", [
          { problem: { message: "audit.log:3:1: unexpected end of JSON" } },
          ...demo.map((event) => ({ event })),
        ]),
      ],
      rules: boom,
      outputs: [],
      metrics,
      onProblem: (input, p) => problems.push(`${input}: ${p.message}`),
      onRuleError: (input, e) => errors.push(`${input}: ${e.message}`),
    });
    await w.run();
    expect(problems).toEqual([
      "file:a: audit.log:3:1: unexpected end of JSON",
      "file:a: data not recognized as a k8s audit event",
    ]);
    expect(errors).toHaveLength(23);
    expect(w.stats()).toEqual({ events: 37, alerts: 0, problems: 2, ruleErrors: 23 });
    const drops = await metrics.registry.getSingleMetric("kaudit_dropped_total")!.get();
    expect(drops.values.map((v) => [v.labels.reason, v.value])).toEqual([
      ["unreadable_event", 2],
      ["rule_error", 23],
    ]);
  });

  it("stop() stops the inputs, then flushes the outputs", async () => {
    const order: string[] = [];
    const out = new MemoryOutput();
    const close = out.close.bind(out);
    out.close = async () => {
      order.push("output closed");
      await close();
    };
    let release!: () => void;
    const never = new Promise<void>((r) => {
      release = r;
    });
    const input: WatchInput = {
      name: "file:a",
      items: (async function* () {
        yield { event: demo.find((e) => e.responseStatus?.code === 403)! };
        await never; // blocks until stopped
        order.push("input ended");
      })(),
      stop() {
        order.push("input stopped");
        release();
      },
    };
    const w = createWatcher({ inputs: [input], rules: forbidden(), outputs: [out] });
    void w.run();
    await new Promise((r) => setTimeout(r, 20));
    await w.stop();
    expect(order).toEqual(["input stopped", "input ended", "output closed"]);
    expect(out.alerts).toHaveLength(1);
  });
});
