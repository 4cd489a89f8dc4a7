/// <reference lib="dom" />
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIX, kaudit } from "./helpers";
import { BURST_IP, type IncidentFacts, writeIncidentLog } from "./incident-log";

const CHROMIUM = "/usr/bin/chromium";
const SHOTS = fileURLToPath(new URL("../.reports/screenshots/", import.meta.url));
// `KAUDIT_UPDATE_SCREENSHOTS=1` also refreshes the pictures the README shows.
const DOCS = fileURLToPath(new URL("../docs/", import.meta.url));
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) {
  throw new Error(`${CHROMIUM} is missing: .ci/run installs it (scripts/ci-deps.sh)`);
}

interface Opened {
  page: Page;
  errors: string[];
  requests: string[];
}

describe.skipIf(!haveChromium)("kaudit report in Chromium", () => {
  let browser: Browser;
  let tmp: string;
  let facts: IncidentFacts;
  let incidentLog: string;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), "kaudit-report-"));
    mkdirSync(SHOTS, { recursive: true });
    incidentLog = join(tmp, "incident.log");
    facts = await writeIncidentLog(incidentLog, 100_000);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  async function open(file: string): Promise<Opened> {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("request", (r) => requests.push(r.url()));
    await page.goto(`file://${file}`);
    await page.waitForSelector("body[data-ready=true]", { timeout: 20_000 });
    return { page, errors, requests };
  }

  async function build(args: string[], name: string) {
    const out = join(tmp, `${name}.html`);
    const r = await kaudit(["report", ...args, "-o", out]);
    const a = await kaudit(["analyze", "--json", "--top", "15", ...args]);
    expect(JSON.parse(a.stdout).problems, a.stderr).toBe(0);
    return { out, report: r, analysis: JSON.parse(a.stdout) };
  }

  /** Every chart drew an SVG with marks in it. */
  async function chartsDrawn(page: Page): Promise<Record<string, number>> {
    return page.$$eval(".chart", (nodes) =>
      Object.fromEntries(nodes.map((n) => [n.id, n.querySelectorAll("svg path, svg rect").length])),
    );
  }

  async function stats(page: Page) {
    return page.$$eval("#summary [data-key]", (nodes) =>
      Object.fromEntries(nodes.map((n) => [(n as HTMLElement).dataset.key, n.textContent])),
    );
  }

  async function rows(page: Page, id: string): Promise<string[][]> {
    return page.$$eval(`#${id} tbody tr`, (trs) =>
      trs.map((tr) => Array.from(tr.querySelectorAll("td")).map((td) => td.textContent ?? "")),
    );
  }

  it("draws the 100,000-event incident log, with the numbers of `kaudit analyze --json`", async () => {
    const { out, report, analysis } = await build([incidentLog], "incident");
    expect(report.code, report.stderr).toBe(0);
    const { page, errors, requests } = await open(out);
    await page.screenshot({ path: join(SHOTS, "report-incident.png"), fullPage: false });
    if (process.env.KAUDIT_UPDATE_SCREENSHOTS) {
      await page.screenshot({ path: join(DOCS, "report-overview.png") });
    }

    const drawn = await chartsDrawn(page);
    expect(Object.keys(drawn).length).toBeGreaterThanOrEqual(12);
    for (const [id, marks] of Object.entries(drawn)) expect(marks, id).toBeGreaterThan(5);

    expect(await stats(page)).toMatchObject({
      events: String(analysis.events),
      requests: String(analysis.requests),
      failures: String(analysis.failures.total),
      denied: String(analysis.denied.total),
      writes: String(analysis.writes.total),
    });
    expect(analysis.events).toBe(facts.events);
    expect(analysis.denied.total).toBe(facts.burst401 + facts.mallory403);
    const users = await rows(page, "top-users-table");
    expect(users).toEqual(
      analysis.top.users.map((u: { user: string; count: number; failures: number }) => [
        u.user,
        String(u.count),
        String(u.failures),
      ]),
    );
    const ips = await rows(page, "denied-ips-table");
    expect(ips[0]).toEqual([BURST_IP, String(facts.burst401), "0"]);
    const slowest = await rows(page, "table-slowest");
    expect(slowest.length).toBe(15);
    expect(slowest[0]![5]).toMatch(/^etcd .*ms, total .*s$/);

    // Filter by a user: click mallory in the denied rows; every row left is hers, and fewer.
    const before = await rows(page, "table-denied");
    expect(new Set(before.map((r) => r[2]))).toEqual(new Set(["system:anonymous", "mallory"]));
    await page
      .locator("#table-denied td.link", { hasText: /^mallory$/ })
      .first()
      .click();
    const after = await rows(page, "table-denied");
    expect(after.length).toBeGreaterThan(0);
    expect(after.length).toBeLessThan(before.length);
    expect(after.every((r) => r[2] === "mallory")).toBe(true);
    expect(await page.textContent("#filter-text")).toContain("user mallory");
    const writes = await rows(page, "table-writes");
    expect(writes.length).toBeGreaterThan(0);
    expect(writes.every((r) => r[1] === "mallory")).toBe(true);
    if (process.env.KAUDIT_UPDATE_SCREENSHOTS) {
      await page.locator("#denied").screenshot({ path: join(DOCS, "report-filtered.png") });
    }

    // Clear, then zoom the timeline onto its first tenth: the rows left are in that range.
    await page.click("#filter-clear");
    expect((await rows(page, "table-writes")).length).toBe(analysis.writes.rows.length);
    await page.evaluate(() => {
      const g = globalThis as unknown as {
        echarts: { getInstanceByDom(n: Element): { dispatchAction(a: object): void } };
      };
      const node = document.getElementById("chart-timeline");
      if (node)
        g.echarts.getInstanceByDom(node).dispatchAction({ type: "dataZoom", start: 0, end: 10 });
    });
    const early = await rows(page, "table-writes");
    expect(early.length).toBeLessThan(analysis.writes.rows.length);
    expect(await page.textContent("#filter-text")).toMatch(/filtered to 2026-11-22 08:00:00 – /);

    // The default rules saw the incident: the burst, mallory's 403s, the slow requests.
    const alertRules = (await rows(page, "alerts-table")).map((r) => r[0]);
    expect(alertRules).toEqual(
      expect.arrayContaining([
        "Unauthorized Burst From Source IP",
        "Forbidden Burst By User",
        "Slow API Request",
      ]),
    );
    const alertCounts = (await rows(page, "alerts-table")).map((r) => Number(r[2]));
    expect((await stats(page)).alerts).toBe(String(alertCounts.reduce((a, b) => a + b, 0)));

    expect(errors).toEqual([]);
    expect(requests).toEqual([`file://${out}`]);
    await page.close();
  }, 180_000);

  it("runs the rules given with --rules (Falco's own) for the alerts, and refuses a broken file", async () => {
    const falco = fileURLToPath(
      new URL("../../../packages/rules/src/__fixtures__/k8s_audit_rules.yaml", import.meta.url),
    );
    const out = join(tmp, "falco.html");
    const r = await kaudit([
      "report",
      "--rules",
      falco,
      join(FIX, "create_nginx_pod_privileged.json"),
      join(FIX, "exec_pod.json"),
      "-o",
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const { page, errors } = await open(out);
    const fired = (await rows(page, "alerts-table")).map((x) => x[0]);
    expect(fired).toEqual(expect.arrayContaining(["Create Privileged Pod", "Attach/Exec Pod"]));
    expect(errors).toEqual([]);
    await page.close();

    const bad = join(tmp, "bad-rules.yaml");
    writeFileSync(
      bad,
      "- rule: x\n  desc: d\n  condition: ka.verb = \n  output: o\n  priority: INFO\n  source: k8s_audit\n",
    );
    const b = await kaudit([
      "report",
      "--rules",
      bad,
      join(FIX, "exec_pod.json"),
      "-o",
      join(tmp, "no.html"),
    ]);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/bad-rules\.yaml:3:/);
    expect(existsSync(join(tmp, "no.html"))).toBe(false);
  }, 60_000);

  it.each([
    [["audit2rbac-demo.v1.jsonl"], "audit2rbac"],
    [
      [
        "create_nginx_pod_privileged.json",
        "exec_pod.json",
        "v1beta1.eventlist-webhook.k8s-1.8-docs.json",
      ],
      "falco",
    ],
    [["basic-audit.k8s-1.6-docs.log"], "legacy"],
  ])(
    "draws corpus logs %j without errors or network",
    async (files, name) => {
      const { out, report, analysis } = await build(
        files.map((f) => join(FIX, f)),
        name,
      );
      expect(report.code, report.stderr).toBe(0);
      const { page, errors, requests } = await open(out);
      await page.screenshot({ path: join(SHOTS, `report-${name}.png`), fullPage: true });
      expect((await stats(page)).requests).toBe(String(analysis.requests));
      const drawn = await chartsDrawn(page);
      expect(drawn["chart-timeline"]).toBeGreaterThan(0);
      expect(errors).toEqual([]);
      expect(requests).toEqual([`file://${out}`]);
      await page.close();
    },
    60_000,
  );

  it("writes nothing of a request body and escapes what the log says", async () => {
    const evil = join(tmp, "evil.jsonl");
    const event = {
      kind: "Event",
      apiVersion: "audit.k8s.io/v1",
      level: "RequestResponse",
      auditID: "11111111-1111-4111-8111-111111111111",
      stage: "ResponseComplete",
      requestURI: "/api/v1/namespaces/default/secrets",
      verb: "create",
      user: { username: "<img src=x onerror=alert(1)></script><script>alert(2)</script>" },
      sourceIPs: ["10.0.0.1"],
      userAgent: "</script><b>agent</b>",
      objectRef: { resource: "secrets", namespace: "default", name: "s", apiVersion: "v1" },
      responseStatus: { metadata: {}, code: 201 },
      requestObject: { kind: "Secret", stringData: { password: "hunter2-in-the-body" } },
      responseObject: { kind: "Secret", data: { password: "aHVudGVyMg==" } },
      requestReceivedTimestamp: "2026-11-22T10:00:00.000000Z",
      stageTimestamp: "2026-11-22T10:00:00.010000Z",
    };
    writeFileSync(evil, `${JSON.stringify(event)}\n`);
    const out = join(tmp, "evil.html");
    const r = await kaudit(["report", evil, "-o", out]);
    expect(r.code, r.stderr).toBe(0);
    const html = readFileSync(out, "utf8");
    expect(html).not.toContain("hunter2-in-the-body");
    expect(html).not.toContain("aHVudGVyMg==");
    const { page, errors } = await open(out);
    const dialogs: string[] = [];
    page.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.waitForTimeout(200);
    expect(await page.textContent("#top-users-table tbody td")).toBe(event.user.username);
    expect(await page.$$("img")).toHaveLength(0);
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
