import type { WatchAlert } from "./alert";
import { HttpAlertOutput, type HttpOutputOptions } from "./http-output";

/** Options of {@link createWebhookOutput}. */
export interface WebhookOutputOptions extends HttpOutputOptions {
  /** Where to POST. */
  url: string;
}

/**
 * Alerts to any HTTP endpoint: each batch one POST of a JSON array of alerts in Falco's
 * `json_output` shape (`time, rule, priority, source, output, output_fields, tags`, plus `kaudit`
 * for windowed rules), with the retries and bounded queue of {@link HttpAlertOutput}.
 *
 * @example
 * const hook = createWebhookOutput({ url: "https://hooks.example/kaudit", headers: { Authorization: "Bearer …" } });
 * hook.send(alert);
 * await hook.close();
 */
export function createWebhookOutput(options: WebhookOutputOptions): HttpAlertOutput {
  return new HttpAlertOutput(
    `webhook ${options.url}`,
    options.url,
    (alerts: WatchAlert[]) => JSON.stringify(alerts),
    options,
  );
}
