import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WatchAlert } from "./alert";
import { alertmanagerAlertsURL, createAlertmanagerOutput } from "./alertmanager-output";
import {
  ALERTMANAGER_BIN,
  alertmanagerAlerts,
  type Component,
  eventually,
  haveBinary,
  startAlertmanager,
} from "./testing/components";

describe("alertmanagerAlertsURL", () => {
  it.each([
    ["http://am:9093", "http://am:9093/api/v2/alerts"],
    ["http://am:9093/", "http://am:9093/api/v2/alerts"],
    ["https://x/alertmanager", "https://x/alertmanager/api/v2/alerts"],
    ["http://am:9093/api/v2/alerts", "http://am:9093/api/v2/alerts"],
  ])("%s → %s", (base, url) => {
    expect(alertmanagerAlertsURL(base)).toBe(url);
  });
});

describe.runIf(haveBinary(ALERTMANAGER_BIN))("against a real Alertmanager", () => {
  let dir: string;
  let am: Component;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "kaudit-am-"));
    am = await startAlertmanager(dir);
  });
  afterAll(async () => {
    await am?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("lists what the output sent, with kaudit's labels, annotations and window", async () => {
    const now = Date.now();
    const iso = (ms: number) => new Date(ms).toISOString();
    const alerts: WatchAlert[] = [
      {
        time: iso(now - 2_000),
        rule: "Read secret by user",
        priority: "Warning",
        source: "k8s_audit",
        output: "alice get secret shop/db-password",
        output_fields: { "ka.user.name": "alice", "ka.target.name": "db-password" },
        tags: ["secrets"],
      },
      {
        time: iso(now - 1_000),
        rule: "401 burst",
        priority: "Critical",
        source: "k8s_audit",
        output: "5 x 401 from 10.9.8.7",
        output_fields: { "ka.sourceips": ["10.9.8.7"] },
        tags: [],
        kaudit: {
          key: { "ka.sourceips": ["10.9.8.7"] },
          count: 5,
          window_ms: 60_000,
          first: iso(now - 5_000),
        },
      },
    ];
    const out = createAlertmanagerOutput({
      url: am.url,
      describe: (r) => `desc of ${r}`,
    });
    const drops: unknown[] = [];
    out.on("drop", (d) => drops.push(d));
    for (const a of alerts) out.send(a);
    await out.close();
    expect(drops).toEqual([]);
    expect(out.stats().sent).toBe(2);
    const listed = await eventually(
      () => alertmanagerAlerts(am),
      (l) => l.length === 2,
    );
    const byName = Object.fromEntries(listed.map((a) => [a.labels.alertname, a]));
    expect(byName["Read secret by user"]!.labels).toEqual({
      alertname: "Read secret by user",
      severity: "warning",
      source: "kaudit",
      ka_user_name: "alice",
      ka_target_name: "db-password",
    });
    expect(byName["Read secret by user"]!.annotations).toEqual({
      summary: "alice get secret shop/db-password",
      description: "desc of Read secret by user",
    });
    expect(byName["401 burst"]!.labels).toEqual({
      alertname: "401 burst",
      severity: "critical",
      source: "kaudit",
      ka_sourceips: "10.9.8.7",
    });
    expect(Date.parse(byName["401 burst"]!.endsAt as string)).toBe(now + 59_000);
    expect(Date.parse(byName["401 burst"]!.startsAt as string)).toBe(now - 1_000);
  });
});
