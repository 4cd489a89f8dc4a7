import { type Event, parseMicroTime } from "@kaudit/api";
import {
  type Counter,
  collectDefaultMetrics,
  Counter as PromCounter,
  Gauge as PromGauge,
  Histogram as PromHistogram,
  Registry,
} from "prom-client";
import type { WatchAlert } from "./alert";
import type { OutputDrop } from "./output";

/** Options of {@link createWatchMetrics}. */
export interface WatchMetricsOptions {
  /** Register on this registry (default: a new one). */
  registry?: Registry | undefined;
  /** Distinct `resource` label values kept; later ones read `other` (default 200). */
  maxResources?: number | undefined;
  /** Distinct `rule` label values kept; later ones read `other` (default 500). */
  maxRules?: number | undefined;
  /** Also Node's process metrics (`process_resident_memory_bytes`, …) (default true). */
  processMetrics?: boolean | undefined;
}

/** The verbs kube-apiserver records; anything else is counted as `other`. */
const VERBS = new Set([
  "get",
  "list",
  "watch",
  "create",
  "update",
  "patch",
  "delete",
  "deletecollection",
  "proxy",
  "connect",
  "impersonate",
]);

const PRIORITIES = new Set([
  "emergency",
  "alert",
  "critical",
  "error",
  "warning",
  "notice",
  "informational",
  "info",
  "debug",
]);

/** kube-apiserver's own request-duration buckets (apiserver_request_duration_seconds), seconds. */
export const LATENCY_BUCKETS = [
  0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45,
  60,
];

/**
 * Keeps a label's distinct values under a cap: the first `max` values pass, later new ones read
 * `other`, so a flood of names (a scanner trying resources) cannot grow the registry.
 */
export class BoundedLabel {
  private readonly seen = new Set<string>();
  /** Values mapped to `other` because the cap was reached. */
  overflowed = 0;
  constructor(readonly max: number) {}
  value(v: string): string {
    if (this.seen.has(v)) return v;
    if (this.seen.size >= this.max) {
      this.overflowed++;
      return "other";
    }
    this.seen.add(v);
    return v;
  }
}

/** `200` → `2xx`; no status → `none`. */
export function codeClass(code: number | undefined): string {
  if (typeof code !== "number" || !Number.isFinite(code) || code < 100 || code > 599) return "none";
  return `${Math.floor(code / 100)}xx`;
}

/**
 * The event that ends a request: ResponseComplete or Panic — or the ResponseStarted that kube
 * records alone for a request that failed authentication (its 401 has no ResponseComplete).
 */
function isFinal(stage: string | undefined, code: number | undefined): boolean {
  return (
    stage === "ResponseComplete" ||
    stage === "Panic" ||
    (stage === "ResponseStarted" && code === 401)
  );
}

/**
 * kaudit watch's Prometheus metrics, on a prom-client registry. Every label value is bounded:
 * inputs and outputs are named by the configuration, verbs are kube's list, resources and rules
 * are capped ({@link BoundedLabel}), codes are classes; no user or user-agent label.
 *
 * | metric | type | labels |
 * |---|---|---|
 * | `kaudit_events_read_total` | counter | input, stage — every event read, all stages |
 * | `kaudit_requests_total` | counter | input, verb, resource, code_class — final stage only (ResponseComplete, Panic, or the lone ResponseStarted of a failed authentication), a request counts once |
 * | `kaudit_request_duration_seconds` | histogram | verb, resource — stageTimestamp − requestReceivedTimestamp of the final stage |
 * | `kaudit_alerts_total` | counter | rule, priority |
 * | `kaudit_input_lag_seconds` | gauge | input — read time − stageTimestamp of the last event read |
 * | `kaudit_follower_position_bytes` | gauge | input — offset in the file being read |
 * | `kaudit_follower_rotations_total` | counter | input |
 * | `kaudit_receiver_requests_total` | counter | code |
 * | `kaudit_dropped_total` | counter | reason |
 * | `kaudit_output_alerts_sent_total` | counter | output |
 * | `kaudit_output_failures_total` | counter | output — failed attempts, retries included |
 * | `kaudit_rules_loaded` | gauge | — |
 * | `kaudit_rules_reloads_total` | counter | result (`ok`, `error`) |
 */
export class WatchMetrics {
  readonly registry: Registry;
  private readonly resources: BoundedLabel;
  private readonly rules: BoundedLabel;
  private readonly eventsRead: PromCounter<"input" | "stage">;
  private readonly requests: PromCounter<"input" | "verb" | "resource" | "code_class">;
  private readonly duration: PromHistogram<"verb" | "resource">;
  private readonly alerts: PromCounter<"rule" | "priority">;
  private readonly position: PromGauge<"input">;
  private readonly rotations: PromCounter<"input">;
  private readonly receiver: PromCounter<"code">;
  private readonly drops: PromCounter<"reason">;
  private readonly outSent: PromCounter<"output">;
  private readonly outFailures: PromCounter<"output">;
  private readonly rulesLoaded: PromGauge;
  private readonly reloads: PromCounter<"result">;
  // prom-client hashes label objects on every call; the hot path keeps its children by key.
  private readonly requestChildren = new Map<string, Counter.Internal>();
  private readonly durationChildren = new Map<
    string,
    PromHistogram.Internal<"verb" | "resource">
  >();
  private readonly lastEvent = new Map<string, { stageTimestamp: string; readAt: number }>();
  private readonly collectHooks: Array<() => void> = [];

  constructor(options: WatchMetricsOptions = {}) {
    const registry = options.registry ?? new Registry();
    this.registry = registry;
    this.resources = new BoundedLabel(options.maxResources ?? 200);
    this.rules = new BoundedLabel(options.maxRules ?? 500);
    const registers = [registry];
    this.eventsRead = new PromCounter({
      name: "kaudit_events_read_total",
      help: "Audit events read, every stage, by input.",
      labelNames: ["input", "stage"],
      registers,
    });
    this.requests = new PromCounter({
      name: "kaudit_requests_total",
      help: "Requests seen (final stage events: ResponseComplete or Panic), by input, verb, resource and response code class.",
      labelNames: ["input", "verb", "resource", "code_class"],
      registers,
    });
    this.duration = new PromHistogram({
      name: "kaudit_request_duration_seconds",
      help: "Request latency (stageTimestamp - requestReceivedTimestamp of the final stage), by verb and resource.",
      labelNames: ["verb", "resource"],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.alerts = new PromCounter({
      name: "kaudit_alerts_total",
      help: "Alerts raised, by rule and priority.",
      labelNames: ["rule", "priority"],
      registers,
    });
    const lastEvent = this.lastEvent;
    // computed at scrape time from the last event of each input, not on the hot path
    new PromGauge({
      name: "kaudit_input_lag_seconds",
      help: "Read time minus stageTimestamp of the last event read, by input.",
      labelNames: ["input"],
      registers,
      collect() {
        for (const [input, e] of lastEvent) {
          const t = parseMicroTime(e.stageTimestamp);
          if (!Number.isNaN(t)) this.set({ input }, Math.max(0, (e.readAt - t) / 1000));
        }
      },
    });
    this.position = new PromGauge({
      name: "kaudit_follower_position_bytes",
      help: "Offset read up to in the file a follower is reading, by input.",
      labelNames: ["input"],
      registers,
    });
    this.rotations = new PromCounter({
      name: "kaudit_follower_rotations_total",
      help: "Rotations (rename, truncation) a follower went through, by input.",
      labelNames: ["input"],
      registers,
    });
    const hooks = this.collectHooks;
    this.receiver = new PromCounter({
      name: "kaudit_receiver_requests_total",
      help: "Webhook receiver requests, by HTTP status code.",
      labelNames: ["code"],
      registers,
      collect() {
        for (const h of hooks) h();
      },
    });
    this.drops = new PromCounter({
      name: "kaudit_dropped_total",
      help: "Things dropped (alerts an output could not deliver, events that could not be read), by reason.",
      labelNames: ["reason"],
      registers,
    });
    this.outSent = new PromCounter({
      name: "kaudit_output_alerts_sent_total",
      help: "Alerts delivered, by output.",
      labelNames: ["output"],
      registers,
    });
    this.outFailures = new PromCounter({
      name: "kaudit_output_failures_total",
      help: "Failed delivery attempts (each retry counts), by output.",
      labelNames: ["output"],
      registers,
    });
    this.rulesLoaded = new PromGauge({
      name: "kaudit_rules_loaded",
      help: "Rules in the active rule set.",
      registers,
    });
    this.reloads = new PromCounter({
      name: "kaudit_rules_reloads_total",
      help: "Rule reloads (SIGHUP), by result.",
      labelNames: ["result"],
      registers,
    });
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  }

  /**
   * Counts one event read from `input`; final-stage events also count as a request and a latency
   * unless `copy` says another input counts the same event (a fleet detector reads each event
   * twice, once per partition family: requests and latencies count on the first family only).
   */
  eventRead(input: string, event: Event, readAt = Date.now(), copy = false): void {
    const stage = event.stage ?? "";
    this.eventsRead.inc({ input, stage });
    if (typeof event.stageTimestamp === "string") {
      const last = this.lastEvent.get(input);
      if (last) {
        last.stageTimestamp = event.stageTimestamp;
        last.readAt = readAt;
      } else this.lastEvent.set(input, { stageTimestamp: event.stageTimestamp, readAt });
    }
    if (copy || !isFinal(stage, event.responseStatus?.code)) return;
    const verb = VERBS.has(event.verb) ? event.verb : "other";
    const ref = event.objectRef;
    const resource = this.resources.value(
      ref?.resource ? (ref.subresource ? `${ref.resource}/${ref.subresource}` : ref.resource) : "",
    );
    const cls = codeClass(event.responseStatus?.code);
    const key = `${input}\u0000${verb}\u0000${resource}\u0000${cls}`;
    let child = this.requestChildren.get(key);
    if (!child) {
      child = this.requests.labels({ input, verb, resource, code_class: cls });
      this.requestChildren.set(key, child);
    }
    child.inc();
    const start = parseMicroTime(event.requestReceivedTimestamp ?? "");
    const end = parseMicroTime(event.stageTimestamp ?? "");
    if (Number.isNaN(start) || Number.isNaN(end)) return;
    const dkey = `${verb}\u0000${resource}`;
    let h = this.durationChildren.get(dkey);
    if (!h) {
      h = this.duration.labels({ verb, resource });
      this.durationChildren.set(dkey, h);
    }
    h.observe(Math.max(0, (end - start) / 1000));
  }

  /** Counts one alert. */
  alert(alert: WatchAlert): void {
    const p = alert.priority.toLowerCase();
    this.alerts.inc({
      rule: this.rules.value(alert.rule),
      priority: PRIORITIES.has(p) ? p : "other",
    });
  }

  /** Counts dropped things (`count` of them) for `reason` (a fixed word, not free text). */
  dropped(reason: string, count = 1): void {
    this.drops.inc({ reason }, count);
  }

  /** Counts an output's drop as `output_<reason>` (`output_queue_full`, …). */
  outputDropped(drop: OutputDrop): void {
    this.dropped(`output_${drop.reason.replace(/-/g, "_")}`, drop.count);
  }

  /** Counts alerts an output delivered. */
  outputSent(output: string, count: number): void {
    this.outSent.inc({ output }, count);
  }

  /** Counts a failed delivery attempt. */
  outputFailed(output: string): void {
    this.outFailures.inc({ output });
  }

  /** Sets how far a follower has read. */
  followerPosition(input: string, offset: number): void {
    this.position.set({ input }, offset);
  }

  /** Counts a rotation a follower went through. */
  followerRotated(input: string, count = 1): void {
    this.rotations.inc({ input }, count);
  }

  /** Counts receiver requests (`count`, default 1) by the status they got. */
  receiverRequest(code: number, count = 1): void {
    this.receiver.inc({ code: String(code) }, count);
  }

  /** Runs `hook` before each scrape, to bring over counts kept elsewhere (a receiver's stats). */
  onCollect(hook: () => void): void {
    this.collectHooks.push(hook);
  }

  /** Records a rule (re)load. */
  rulesLoadedCount(count: number, result: "initial" | "ok" | "error"): void {
    if (result !== "error") this.rulesLoaded.set(count);
    if (result !== "initial") this.reloads.inc({ result });
  }

  /** Values of `resource` / `rule` labels folded into `other` so far. */
  overflow(): { resources: number; rules: number } {
    return { resources: this.resources.overflowed, rules: this.rules.overflowed };
  }
}

/** Builds {@link WatchMetrics}. */
export function createWatchMetrics(options: WatchMetricsOptions = {}): WatchMetrics {
  return new WatchMetrics(options);
}
