import type { Event } from "@kaudit/api";
import type { WatchAlert } from "./alert";
import type { WatchMetrics } from "./metrics";
import type { AlertOutput, OutputDrop, OutputFailure } from "./output";

/** Something an input could not read: where and what. */
export interface InputProblem {
  /** `file:line:col: message` or the receiver's words. */
  message: string;
}

/**
 * One thing an input yields: an event, several (a webhook batch), or a problem. `rules`, when
 * given, evaluates the item instead of the watcher's rules (a fleet detector keeps one rule set,
 * with its own threshold windows, per partition).
 */
export type InputItem =
  | { event: Event; ack?: (() => void) | undefined; rules?: AlertEvaluator | undefined }
  | { events: Event[]; ack?: (() => void) | undefined; rules?: AlertEvaluator | undefined }
  | { problem: InputProblem; ack?: (() => void) | undefined };

/**
 * A source of events for the watcher: a followed log, the webhook receiver, a test's array.
 * `ack` (when given) is called once the item's events are evaluated and their alerts handed to
 * every output, so a follower may save that position.
 */
export interface WatchInput {
  /** The `input` label of the metrics: `file:/var/log/kube-audit/audit.log`, `webhook`. */
  readonly name: string;
  /** The items, until the input ends or is stopped. */
  readonly items: AsyncIterable<InputItem>;
  /**
   * True when another input reads the same events (a fleet detector's source-IP family): they
   * count in `kaudit_events_read_total` but not again as requests and latencies.
   */
  readonly copies?: boolean | undefined;
  /** Stops reading: the iterable ends after what was already handed over. */
  stop(): Promise<void> | void;
}

/** What the watcher evaluates events with: `@kaudit/rules`' RuleSet fits. */
export interface AlertEvaluator {
  evaluate(event: Event): WatchAlert[];
}

/** Options of {@link createWatcher}. */
export interface WatcherOptions {
  inputs: WatchInput[];
  rules: AlertEvaluator;
  outputs: AlertOutput[];
  metrics?: WatchMetrics | undefined;
  /** Called for each input problem (also counted as `dropped_total{reason="unreadable_event"}`). */
  onProblem?: ((input: string, problem: InputProblem) => void) | undefined;
  /**
   * Called when evaluating an event threw (counted as `rule_error`); the event is skipped. An
   * `UnreadableEventError` (an event the rules cannot read) goes to `onProblem` instead.
   */
  onRuleError?: ((input: string, error: Error, event: Event) => void) | undefined;
  /** Called for each output drop (already counted). */
  onDrop?: ((drop: OutputDrop) => void) | undefined;
  /** Called for each failed delivery attempt (already counted). */
  onOutputFailure?: ((failure: OutputFailure) => void) | undefined;
}

/** Counts of a watcher's life so far. */
export interface WatcherStats {
  events: number;
  alerts: number;
  problems: number;
  ruleErrors: number;
}

/**
 * The pipeline of `kaudit watch`: every input read in its own loop (so a quiet or stuck input
 * never holds the others), each event counted in the metrics, evaluated by the current rules,
 * and each alert handed to every output (whose `send` never blocks). {@link Watcher.setRules}
 * swaps the rules between two events; {@link Watcher.stop} stops the inputs, waits for what they
 * already handed over and flushes the outputs.
 */
export class Watcher {
  private rules: AlertEvaluator;
  private readonly loops: Promise<void>[] = [];
  private running: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private readonly counts: WatcherStats = { events: 0, alerts: 0, problems: 0, ruleErrors: 0 };

  constructor(private readonly options: WatcherOptions) {
    this.rules = options.rules;
    const m = options.metrics;
    for (const out of options.outputs) {
      out.on("drop", (d: OutputDrop) => {
        m?.outputDropped(d);
        options.onDrop?.(d);
      });
      out.on("sent", (n: number) => m?.outputSent(out.name, n));
      out.on("failure", (f: OutputFailure) => {
        m?.outputFailed(out.name);
        options.onOutputFailure?.(f);
      });
    }
  }

  /** Reads every input until all end (or {@link stop}); resolves then. */
  run(): Promise<void> {
    if (!this.running) {
      for (const input of this.options.inputs) this.loops.push(this.readInput(input));
      this.running = Promise.all(this.loops).then(() => undefined);
    }
    return this.running;
  }

  /** Evaluates with `rules` from the next event on. */
  setRules(rules: AlertEvaluator): void {
    this.rules = rules;
  }

  /** The rules in use. */
  currentRules(): AlertEvaluator {
    return this.rules;
  }

  stats(): WatcherStats {
    return { ...this.counts };
  }

  /**
   * Stops reading, waits for the inputs' loops to finish what they were handed, then closes the
   * outputs (each delivering what it queued, within `flushTimeoutMs`, default 10 s).
   */
  stop(flushTimeoutMs = 10_000): Promise<void> {
    if (!this.stopping) {
      this.stopping = (async () => {
        await Promise.all(this.options.inputs.map((i) => i.stop()));
        await this.run();
        await Promise.all(this.options.outputs.map((o) => o.close(flushTimeoutMs)));
      })();
    }
    return this.stopping;
  }

  /**
   * Evaluates one event read from `input` (with `rules`, default the watcher's) and fans its
   * alerts out (synchronously).
   */
  handle(input: string, event: Event, rules: AlertEvaluator = this.rules, copy = false): void {
    this.counts.events++;
    this.options.metrics?.eventRead(input, event, Date.now(), copy);
    let alerts: WatchAlert[];
    try {
      alerts = rules.evaluate(event);
    } catch (e) {
      // An event the rules cannot read (Falco's "data not recognized as a k8s audit event") is
      // a problem of the input; anything else is a fault of the rules.
      if ((e as Error)?.name === "UnreadableEventError") {
        this.counts.problems++;
        this.options.metrics?.dropped("unreadable_event");
        this.options.onProblem?.(input, { message: (e as Error).message });
        return;
      }
      this.counts.ruleErrors++;
      this.options.metrics?.dropped("rule_error");
      this.options.onRuleError?.(input, e as Error, event);
      return;
    }
    for (const alert of alerts) {
      this.counts.alerts++;
      this.options.metrics?.alert(alert);
      for (const out of this.options.outputs) out.send(alert);
    }
  }

  private async readInput(input: WatchInput): Promise<void> {
    for await (const item of input.items) {
      if ("problem" in item) {
        this.counts.problems++;
        this.options.metrics?.dropped("unreadable_event");
        this.options.onProblem?.(input.name, item.problem);
        item.ack?.();
        continue;
      }
      const rules = item.rules ?? this.rules;
      const copy = input.copies === true;
      if ("events" in item) for (const e of item.events) this.handle(input.name, e, rules, copy);
      else this.handle(input.name, item.event, rules, copy);
      item.ack?.();
    }
  }
}

/** Builds a {@link Watcher}; call `run()` to start it. */
export function createWatcher(options: WatcherOptions): Watcher {
  return new Watcher(options);
}
