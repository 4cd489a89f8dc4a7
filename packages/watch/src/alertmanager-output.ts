import { type AlertmanagerMapping, toAlertmanagerAlert, type WatchAlert } from "./alert";
import { HttpAlertOutput, type HttpOutputOptions } from "./http-output";

/** Options of {@link createAlertmanagerOutput}. */
export interface AlertmanagerOutputOptions
  extends HttpOutputOptions,
    Omit<AlertmanagerMapping, "description"> {
  /** Alertmanager's base URL (`http://alertmanager:9093`); `/api/v2/alerts` is added. */
  url: string;
  /** The `desc` of a rule by name, for the `description` annotation (e.g. from the rule set). */
  describe?: ((rule: string) => string | undefined) | undefined;
}

/** `http://am:9093` → `http://am:9093/api/v2/alerts` (kept when already there). */
export function alertmanagerAlertsURL(base: string): string {
  const u = new URL(base);
  if (!/\/api\/v2\/alerts\/?$/.test(u.pathname)) {
    u.pathname = `${u.pathname.replace(/\/+$/, "")}/api/v2/alerts`;
  }
  return u.toString();
}

/**
 * Alerts to Alertmanager's v2 API: each batch one `POST /api/v2/alerts` of
 * {@link toAlertmanagerAlert}s, with the retries and bounded queue of {@link HttpAlertOutput}.
 *
 * @example
 * const am = createAlertmanagerOutput({ url: "http://127.0.0.1:9093" });
 * am.on("drop", ({ reason, count }) => console.warn(`${count} alerts dropped: ${reason}`));
 * am.send(alert);
 * await am.close();
 */
export function createAlertmanagerOutput(options: AlertmanagerOutputOptions): HttpAlertOutput {
  const url = alertmanagerAlertsURL(options.url);
  const encode = (alerts: WatchAlert[]) =>
    JSON.stringify(
      alerts.map((a) =>
        toAlertmanagerAlert(a, {
          description: options.describe?.(a.rule),
          extraLabels: options.extraLabels,
          maxLabelLength: options.maxLabelLength,
          generatorURL: options.generatorURL,
        }),
      ),
    );
  return new HttpAlertOutput(`alertmanager ${options.url}`, url, encode, options);
}
