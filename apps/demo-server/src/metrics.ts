/**
 * A small Prometheus registry speaking the collector protocol @kaudit/sinks uses
 * (`registerMetric`, `getSingleMetric`, metrics with `get()`), rendered in the text format.
 */

type Labels = Record<string, string>;

interface MetricLike {
  name: string;
  get():
    | { name: string; help: string; type: string; values: { labels: Labels; value: number }[] }
    | Promise<{
        name: string;
        help: string;
        type: string;
        values: { labels: Labels; value: number }[];
      }>;
}

/** A labelled counter. */
export class Counter {
  readonly type = "counter";
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: string[],
  ) {}
  /** Adds `value` (default 1) to the series with these labels. */
  inc(labels: Labels = {}, value = 1): void {
    const key = this.labelNames.map((n) => labels[n] ?? "").join("\u0000");
    const cur = this.values.get(key);
    if (cur) cur.value += value;
    else this.values.set(key, { labels: { ...labels }, value });
  }
  get() {
    return { name: this.name, help: this.help, type: this.type, values: [...this.values.values()] };
  }
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

/** The demo's metrics registry (served at `/metrics`). */
export class SimpleRegistry {
  private readonly metrics = new Map<string, MetricLike>();
  /** prom-client's `registerMetric`. */
  registerMetric(metric: MetricLike): void {
    this.metrics.set(metric.name, metric);
  }
  /** prom-client's `getSingleMetric`. */
  getSingleMetric(name: string): unknown {
    return this.metrics.get(name);
  }
  /** Registers and returns a counter. */
  counter(name: string, help: string, labelNames: string[]): Counter {
    const c = new Counter(name, help, labelNames);
    this.registerMetric(c);
    return c;
  }
  /** The Prometheus text exposition of every metric. */
  async render(): Promise<string> {
    let out = "";
    for (const m of this.metrics.values()) {
      const g = await m.get();
      out += `# HELP ${g.name} ${g.help}\n# TYPE ${g.name} ${g.type}\n`;
      for (const v of g.values) {
        const labels = Object.entries(v.labels)
          .map(([k, val]) => `${k}="${escapeLabel(String(val))}"`)
          .join(",");
        out += `${g.name}${labels ? `{${labels}}` : ""} ${v.value}\n`;
      }
    }
    return out;
  }
}
