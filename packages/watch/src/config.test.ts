import { describe, expect, it } from "vitest";
import { parseHostPort, parseWatchConfig } from "./config";

describe("parseWatchConfig", () => {
  it("takes kebab-case or camelCase keys, lists or single strings, and resolves paths", () => {
    const text = [
      "rules: [falco.yaml, /etc/kaudit/local.yaml]",
      "follow: logs/audit.log",
      "position-file: state/positions.json",
      "listen: 0.0.0.0:8443",
      "tlsCertFile: tls/cert.pem",
      "tls-private-key-file: tls/key.pem",
      "alertmanager:",
      "  - http://am-1:9093",
      "  - http://am-2:9093",
      "alert-webhook: https://hooks.example/kaudit",
      'alerts-out: "-"',
      "metrics-address: 127.0.0.1:9464",
      "time-zone: Europe/Berlin",
      "",
    ].join("\n");
    expect(parseWatchConfig(text, "/etc/kaudit/watch.yaml")).toEqual({
      rules: ["/etc/kaudit/falco.yaml", "/etc/kaudit/local.yaml"],
      follow: ["/etc/kaudit/logs/audit.log"],
      positionFile: "/etc/kaudit/state/positions.json",
      listen: "0.0.0.0:8443",
      tlsCertFile: "/etc/kaudit/tls/cert.pem",
      tlsPrivateKeyFile: "/etc/kaudit/tls/key.pem",
      alertmanager: ["http://am-1:9093", "http://am-2:9093"],
      alertWebhook: ["https://hooks.example/kaudit"],
      alertsOut: "-",
      metricsAddress: "127.0.0.1:9464",
      timeZone: "Europe/Berlin",
    });
  });

  it("an empty file is no settings", () => {
    expect(parseWatchConfig("", "w.yaml")).toEqual({});
    expect(parseWatchConfig("# nothing\n", "w.yaml")).toEqual({});
  });

  it.each([
    [
      "unknown key",
      "folow: a.log\n",
      "w.yaml:1:1: folow: unknown setting (known: rules, follow, from, position-file,",
    ],
    ["wrong type", "listen: [a, b]\n", "w.yaml:1:9: listen: expected a string"],
    [
      "list of non-strings",
      "rules:\n  - a.yaml\n  - {x: 1}\n",
      "w.yaml:3:5: rules: expected a list of strings",
    ],
    ["not a mapping", "- a\n- b\n", "w.yaml:1:1: the file must be a mapping of settings"],
    ["YAML syntax", "rules: [a.yaml\n", "w.yaml:2:1:"],
  ])("%s → error with file:line:col", (_name, text, message) => {
    expect(() => parseWatchConfig(text, "w.yaml")).toThrow(message);
  });

  it("reports every problem at once", () => {
    try {
      parseWatchConfig("bogus: 1\nlisten: [x]\n", "w.yaml");
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message.split("\n")).toHaveLength(2);
      expect((e as Error).name).toBe("WatchConfigError");
    }
  });
});

describe("parseHostPort", () => {
  it.each([
    ["127.0.0.1:9464", { host: "127.0.0.1", port: 9464 }],
    ["[::1]:8443", { host: "::1", port: 8443 }],
    [":9464", { host: "0.0.0.0", port: 9464 }],
    ["localhost:0", { host: "localhost", port: 0 }],
  ])("%s", (v, hp) => {
    expect(parseHostPort(v, "--listen")).toEqual(hp);
  });
  it.each(["9464", "host:", "host:70000", "a:b:1"])("%s is refused", (v) => {
    expect(() => parseHostPort(v, "--metrics-address")).toThrow(
      `--metrics-address ${JSON.stringify(v)}: expected HOST:PORT`,
    );
  });
});
