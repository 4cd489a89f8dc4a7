/// <reference lib="dom" />
/**
 * The report page's script. It is serialised with `Function.prototype.toString` into the page,
 * so it must not use anything from outside its own body (no imports, no module helpers).
 * Every string from the log reaches the page as text (`textContent`, SVG text, rich-text
 * tooltips), never as HTML: user names and agents are attacker-chosen.
 */
// biome-ignore lint/suspicious/noExplicitAny: the page's data, ECharts and its events are untyped JSON
type Json = any;

export function reportClient(): void {
  const echarts = (globalThis as Json).echarts;
  const data: Json = JSON.parse(document.getElementById("kaudit-data")?.textContent ?? "{}");
  const r = data.report;
  const width = r.timeline.bucketSeconds * 1000;
  const filter: { user: string | null; from: number | null; to: number | null } = {
    user: null,
    from: null,
    to: null,
  };
  const palette = {
    "2xx": "#4caf50",
    "3xx": "#2196f3",
    "4xx": "#ff9800",
    "5xx": "#e53935",
    other: "#9e9e9e",
    "401": "#6a1b9a",
    "403": "#c2185b",
  } as Record<string, string>;
  const fmtTime = (iso: string): string => iso.replace("T", " ").replace(/\.\d+Z$|Z$/, "");
  const fmtMs = (v: number): string => (v >= 1000 ? `${(v / 1000).toFixed(3)} s` : `${v} ms`);
  const labels = r.timeline.buckets.map((b: { start: string }) => fmtTime(b.start));
  const charts: unknown[] = [];

  function chart(id: string, option: Record<string, unknown>) {
    const node = document.getElementById(id);
    if (!node) return null;
    const c = echarts.init(node, null, { renderer: "svg" });
    c.setOption({
      animation: false,
      tooltip: { trigger: "axis", renderMode: "richText", confine: true },
      grid: { left: 60, right: 20, top: 36, bottom: 40, containLabel: true },
      ...option,
    });
    charts.push(c);
    return c;
  }

  // Requests over time by response class, 401 and 403 marked.
  const timeline = chart("chart-timeline", {
    legend: { top: 0 },
    xAxis: { type: "category", data: labels },
    yAxis: { type: "value", name: "requests" },
    dataZoom: [{ type: "inside" }, { type: "slider", height: 18, bottom: 4 }],
    series: [
      ...["2xx", "3xx", "4xx", "5xx", "other"].map((k) => ({
        name: k,
        type: "bar",
        stack: "requests",
        color: palette[k],
        data: r.timeline.buckets.map((b: Record<string, number>) => b[k]),
      })),
      ...["401", "403"].map((k) => ({
        name: k,
        type: "line",
        color: palette[k],
        symbol: "diamond",
        symbolSize: 9,
        data: r.timeline.buckets.map((b: Record<string, number>) => (b[k] > 0 ? b[k] : null)),
      })),
    ],
  });
  timeline?.on("click", (p: Json) => setRange(p.dataIndex, p.dataIndex));
  timeline?.on("datazoom", (p: Json) => {
    const z = p.batch ? p.batch[0] : p;
    const n = r.timeline.buckets.length;
    if (z.start === 0 && z.end === 100) return setRange(null, null);
    setRange(Math.floor((z.start / 100) * (n - 1)), Math.ceil((z.end / 100) * (n - 1)));
  });

  chart("chart-latency-time", {
    legend: { top: 0 },
    xAxis: { type: "category", data: labels },
    yAxis: { type: "value", name: "ms" },
    series: ["p50", "p99", "max"].map((k) => ({
      name: k,
      type: "line",
      connectNulls: false,
      data: r.timeline.buckets.map((b: { latency: Record<string, number> }) =>
        b.latency.count > 0 ? b.latency[k] : null,
      ),
    })),
  });
  const latencyBars = (id: string, rows: Json[], key: string) =>
    chart(id, {
      legend: { top: 0 },
      tooltip: { trigger: "axis", renderMode: "richText", confine: true },
      xAxis: { type: "value", name: "ms" },
      yAxis: { type: "category", inverse: true, data: rows.map((x) => x[key]) },
      series: ["p50", "p99"].map((k) => ({ name: k, type: "bar", data: rows.map((x) => x[k]) })),
    });
  latencyBars("chart-latency-verb", r.latency.byVerb, "verb");
  latencyBars("chart-latency-resource", r.latency.byResource, "resource");
  const topBars = (id: string, rows: Json[], key: string, byUser: boolean) => {
    const c = chart(id, {
      legend: { top: 0 },
      tooltip: { trigger: "axis", renderMode: "richText", confine: true },
      xAxis: { type: "value" },
      yAxis: { type: "category", inverse: true, data: rows.map((x) => x[key]) },
      series: [
        {
          name: "succeeded",
          type: "bar",
          stack: "t",
          color: palette["2xx"],
          data: rows.map((x) => x.count - x.failures),
        },
        {
          name: "failed",
          type: "bar",
          stack: "t",
          color: palette["5xx"],
          data: rows.map((x) => x.failures),
        },
      ],
    });
    if (byUser) c?.on("click", (p: Json) => setUser(rows[p.dataIndex][key]));
  };
  topBars("chart-top-users", r.top.users, "user", true);
  topBars("chart-top-agents", r.top.userAgents, "userAgent", false);
  topBars("chart-top-ips", r.top.sourceIPs, "sourceIP", false);
  topBars("chart-top-resources", r.top.resources, "resource", false);
  topBars("chart-top-namespaces", r.top.namespaces, "namespace", false);
  const deniedBars = (id: string, rows: Json[], key: string, byUser: boolean) => {
    const c = chart(id, {
      legend: { top: 0 },
      xAxis: { type: "value" },
      yAxis: { type: "category", inverse: true, data: rows.map((x) => x[key]) },
      series: [
        {
          name: "401",
          type: "bar",
          stack: "d",
          color: palette["401"],
          data: rows.map((x) => x.unauthorized),
        },
        {
          name: "403",
          type: "bar",
          stack: "d",
          color: palette["403"],
          data: rows.map((x) => x.forbidden),
        },
      ],
    });
    if (byUser) c?.on("click", (p: Json) => setUser(rows[p.dataIndex][key]));
  };
  deniedBars("chart-denied-users", r.denied.byUser, "user", true);
  deniedBars("chart-denied-ips", r.denied.bySourceIP, "sourceIP", false);

  chart("chart-slowest", {
    xAxis: { type: "value", name: "ms" },
    yAxis: {
      type: "category",
      inverse: true,
      data: r.latency.slowest.map(
        (s: { verb: string; auditID: string }) => `${s.verb} ${s.auditID.slice(0, 8)}`,
      ),
    },
    series: [
      { name: "latency", type: "bar", data: r.latency.slowest.map((s: { ms: number }) => s.ms) },
    ],
  });

  const writers: string[] = [];
  for (const b of r.timeline.buckets)
    for (const u of Object.keys(b.writes)) if (!writers.includes(u)) writers.push(u);
  const writes = chart("chart-writes", {
    legend: { top: 0, type: "scroll" },
    xAxis: { type: "category", data: labels },
    yAxis: { type: "value", name: "writes" },
    series: writers.map((u) => ({
      name: u,
      type: "bar",
      stack: "w",
      data: r.timeline.buckets.map((b: { writes: Record<string, number> }) => b.writes[u] ?? 0),
    })),
  });
  writes?.on("click", (p: Json) => {
    if (p.seriesName !== "(other)") setUser(p.seriesName);
  });

  if (data.alerts) {
    const rules = data.alerts.byRule;
    chart("chart-alerts", {
      xAxis: { type: "value" },
      yAxis: { type: "category", inverse: true, data: rules.map((a: Json) => a.rule) },
      series: [
        {
          name: "alerts",
          type: "bar",
          color: palette["5xx"],
          data: rules.map((a: Json) => a.count),
        },
      ],
    });
  }

  function setUser(user: string | null) {
    filter.user = filter.user === user ? null : user;
    render();
  }
  function setRange(a: number | null, b: number | null) {
    if (a === null || b === null) {
      filter.from = null;
      filter.to = null;
    } else {
      filter.from = Date.parse(r.timeline.buckets[a].start);
      filter.to = Date.parse(r.timeline.buckets[b].start) + width;
    }
    render();
  }
  function keep(row: Json, timeKey: string, userKey: string) {
    if (filter.user !== null && row[userKey] !== filter.user) return false;
    const t = Date.parse(row[timeKey]);
    if (filter.from !== null && !(t >= filter.from)) return false;
    if (filter.to !== null && !(t < filter.to)) return false;
    return true;
  }
  function fill(
    id: string,
    rows: Json[],
    total: number,
    cols: [string, (x: Json) => string][],
    timeKey: string,
    userKey: string,
  ) {
    const table = document.getElementById(id);
    if (!table) return;
    const shown = rows.filter((x) => keep(x, timeKey, userKey));
    const body = document.createElement("tbody");
    for (const row of shown) {
      const tr = document.createElement("tr");
      for (const [name, get] of cols) {
        const td = document.createElement("td");
        td.textContent = get(row);
        if (name === "user") {
          td.className = "link";
          td.title = "filter by this user";
          td.addEventListener("click", () => setUser(row[userKey]));
        }
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
    table.querySelector("tbody")?.remove();
    table.appendChild(body);
    const note = document.getElementById(`${id}-note`);
    if (note) {
      note.textContent = `${shown.length} shown of ${rows.length} kept${total > rows.length ? ` of ${total} (the most recent, and the last 25 of each user or rule)` : ""}`;
    }
  }
  function render() {
    const f = document.getElementById("filter-text");
    const clear = document.getElementById("filter-clear");
    const parts: string[] = [];
    if (filter.user !== null) parts.push(`user ${filter.user}`);
    if (filter.from !== null && filter.to !== null) {
      parts.push(
        `${fmtTime(new Date(filter.from).toISOString())} – ${fmtTime(new Date(filter.to).toISOString())}`,
      );
    }
    if (f)
      f.textContent = parts.length
        ? `Tables filtered to ${parts.join(", ")}`
        : "Tables show every request kept (click a user or a time bucket to filter)";
    if (clear) clear.hidden = parts.length === 0;
    const code = (x: { code: number | null }) => (x.code === null ? "-" : String(x.code));
    const what = (x: { verb: string; resource: string; namespace: string; name: string }) =>
      `${x.verb} ${x.resource}${x.namespace ? ` ${x.namespace}/` : " "}${x.name}`;
    fill(
      "table-denied",
      r.denied.rows,
      r.denied.total,
      [
        ["time", (x) => fmtTime(x.time)],
        ["code", code],
        ["user", (x) => x.user],
        ["sourceIP", (x) => x.sourceIP],
        ["request", what],
        ["reason", (x) => x.reason],
      ],
      "time",
      "user",
    );
    fill(
      "table-slowest",
      r.latency.slowest,
      r.latency.slowest.length,
      [
        ["latency", (x) => fmtMs(x.ms)],
        ["time", (x) => fmtTime(x.requestReceivedTimestamp)],
        ["user", (x) => x.user],
        ["code", code],
        ["request", (x) => `${x.verb} ${x.requestURI}`],
        [
          "breakdown",
          (x) =>
            x.breakdown
              ? Object.entries(x.breakdown)
                  .map(([k, v]) => `${k.replace("apiserver.latency.k8s.io/", "")} ${v}`)
                  .join(", ")
              : "",
        ],
      ],
      "requestReceivedTimestamp",
      "user",
    );
    fill(
      "table-writes",
      r.writes.rows,
      r.writes.total,
      [
        ["time", (x) => fmtTime(x.time)],
        ["user", (x) => x.user],
        ["request", what],
        ["code", code],
        ["agent", (x) => x.userAgent],
      ],
      "time",
      "user",
    );
    if (data.alerts) {
      fill(
        "table-alerts",
        data.alerts.rows,
        data.alerts.total,
        [
          ["time", (x) => fmtTime(x.time)],
          ["priority", (x) => x.priority],
          ["rule", (x) => x.rule],
          ["user", (x) => x.user ?? ""],
          ["output", (x) => x.output],
        ],
        "time",
        "user",
      );
    }
  }
  document.getElementById("filter-clear")?.addEventListener("click", () => {
    filter.user = null;
    filter.from = null;
    filter.to = null;
    timeline?.dispatchAction({ type: "dataZoom", start: 0, end: 100 });
    render();
  });
  window.addEventListener("resize", () => {
    for (const c of charts as Json[]) c.resize();
  });
  window.addEventListener("beforeprint", () => {
    for (const c of charts as Json[]) c.resize();
  });
  render();
  document.body.dataset.ready = "true";
}
