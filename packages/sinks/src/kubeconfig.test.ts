import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Kubeconfig, KubeconfigError, loadKubeconfig } from "./kubeconfig";
import { createTestPki, type TestPki } from "./testing/pki";

let pki: TestPki;
let dir: string;
beforeAll(async () => {
  pki = await createTestPki();
  dir = mkdtempSync(join(tmpdir(), "kaudit-kubeconfig-"));
  writeFileSync(join(dir, "ca.crt"), pki.caCert);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const b64 = (s: string) => Buffer.from(s).toString("base64");

describe("loadKubeconfig errors (client-go's words)", () => {
  const cases: { name: string; config: () => Kubeconfig; message: string }[] = [
    {
      name: "empty",
      config: () => ({}),
      message: "invalid configuration: no configuration has been provided",
    },
    {
      name: "named cluster but no context",
      config: () => ({ clusters: [{ name: "c", cluster: { server: "https://x" } }] }),
      message: "invalid configuration: no configuration has been provided",
    },
    {
      name: "unnamed cluster without server",
      config: () => ({ clusters: [{ cluster: { "insecure-skip-tls-verify": true } }] }),
      message: "invalid configuration: default cluster has no server defined",
    },
    {
      name: "named cluster without server",
      config: () => ({
        clusters: [{ name: "c", cluster: { "insecure-skip-tls-verify": true } }],
        contexts: [{ name: "x", context: { cluster: "c" } }],
        "current-context": "x",
      }),
      message: 'invalid configuration: no server found for cluster "c"',
    },
    {
      name: "current-context not found",
      config: () => ({
        clusters: [{ cluster: { server: "https://x" } }],
        "current-context": "nope",
      }),
      message: "invalid configuration: context was not found for specified context: nope",
    },
    {
      name: "missing CA file",
      config: () => ({
        clusters: [{ cluster: { server: "https://x", "certificate-authority": "missing.crt" } }],
      }),
      message:
        "invalid configuration: unable to read certificate-authority DIR/missing.crt for  due to open DIR/missing.crt: no such file or directory",
    },
    {
      name: "client cert without key",
      config: () => ({
        clusters: [{ cluster: { server: "https://x" } }],
        users: [{ user: { "client-certificate-data": b64(pki.clientCert) } }],
      }),
      message:
        "invalid configuration: client-key-data or client-key must be specified for  to use the clientCert authentication method.",
    },
    {
      name: "two auth methods, plus the CA conflict, all listed",
      config: () => ({
        clusters: [
          {
            name: "c",
            cluster: {
              server: "https://x",
              "certificate-authority": "ca.crt",
              "certificate-authority-data": b64(pki.caCert),
            },
          },
        ],
        users: [{ name: "u", user: { token: "t", username: "a", password: "b" } }],
        contexts: [{ name: "x", context: { cluster: "c", user: "u" } }],
        "current-context": "x",
      }),
      message:
        "invalid configuration: [more than one authentication method found for u; found [token basicAuth], only one is allowed, certificate-authority-data and certificate-authority are both specified for c. certificate-authority-data will override.]",
    },
    {
      name: "CA with insecure",
      config: () => ({
        clusters: [
          {
            cluster: {
              server: "https://x",
              "certificate-authority-data": b64(pki.caCert),
              "insecure-skip-tls-verify": true,
            },
          },
        ],
      }),
      message: "specifying a root certificates file with the insecure flag is not allowed",
    },
    {
      name: "CA data that is not PEM",
      config: () => ({
        clusters: [
          { cluster: { server: "https://x", "certificate-authority-data": b64("hello") } },
        ],
      }),
      message: "unable to load root certificates: unable to parse bytes as PEM block",
    },
    {
      name: "CA data with only a key",
      config: () => ({
        clusters: [
          { cluster: { server: "https://x", "certificate-authority-data": b64(pki.caKey) } },
        ],
      }),
      message: "unable to load root certificates: no valid certificate authority data seen",
    },
    {
      name: "duplicate cluster names",
      config: () => ({
        clusters: [
          { name: "c", cluster: { server: "https://x" } },
          { name: "c", cluster: { server: "https://y" } },
        ],
      }),
      message:
        'error converting *[]NamedCluster into *map[string]*api.Cluster: duplicate name "c" in list',
    },
  ];
  it.each(cases)("$name", ({ config, message }) => {
    let caught: unknown;
    try {
      loadKubeconfig(config(), { baseDir: dir });
    } catch (e) {
      caught = e;
    }
    expect(KubeconfigError.isInstance(caught)).toBe(true);
    expect((caught as Error).message).toBe(message.replaceAll("DIR", dir));
  });

  it("names a missing file as Go's stat does", () => {
    expect(() => loadKubeconfig(join(dir, "nope.yaml"))).toThrow(
      `stat ${dir}/nope.yaml: no such file or directory`,
    );
  });

  it("names the file when it does not parse", () => {
    const p = join(dir, "bad.yaml");
    writeFileSync(p, "clusters: [\n");
    expect(() => loadKubeconfig(p)).toThrow(`error loading config file "${p}": `);
  });
});

describe("loadKubeconfig resolution", () => {
  it("uses a single unnamed cluster with an empty current-context, server path kept", () => {
    const t = loadKubeconfig({
      clusters: [{ cluster: { server: "https://audit.example:8443/k8s/audit?x=1" } }],
    });
    expect(t.url.href).toBe("https://audit.example:8443/k8s/audit?x=1");
    expect(t.ca).toBeUndefined();
    expect(t.insecureSkipTLSVerify).toBe(false);
  });

  it("follows current-context to the named cluster and user", () => {
    const t = loadKubeconfig({
      clusters: [
        { name: "a", cluster: { server: "https://a" } },
        { name: "b", cluster: { server: "https://b", "tls-server-name": "b.internal" } },
      ],
      users: [
        { name: "ua", user: { token: "ta" } },
        { name: "ub", user: { username: "x", password: "y" } },
      ],
      contexts: [
        { name: "ca", context: { cluster: "a", user: "ua" } },
        { name: "cb", context: { cluster: "b", user: "ub" } },
      ],
      "current-context": "cb",
    });
    expect(t.url.host).toBe("b");
    expect(t.serverName).toBe("b.internal");
    expect(t.authorization?.()).toBe(`Basic ${b64("x:y")}`);
  });

  it("defaults a scheme-less server to https when TLS is configured, http otherwise", () => {
    expect(
      loadKubeconfig({
        clusters: [{ cluster: { server: "h:1", "certificate-authority-data": b64(pki.caCert) } }],
      }).url.protocol,
    ).toBe("https:");
    expect(loadKubeconfig({ clusters: [{ cluster: { server: "h:1" } }] }).url.protocol).toBe(
      "http:",
    );
  });

  it("resolves relative files against the kubeconfig's directory", () => {
    const p = join(dir, "rel.yaml");
    writeFileSync(
      p,
      "clusters:\n- cluster:\n    server: https://x\n    certificate-authority: ca.crt\n",
    );
    expect(loadKubeconfig(p).ca).toBe(pki.caCert);
  });
});
