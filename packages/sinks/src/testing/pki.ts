import { generate } from "selfsigned";

/** A throwaway PKI for tests: a CA, a server certificate for 127.0.0.1, a client certificate. */
export interface TestPki {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

const opts = { keyType: "ec" as const, curve: "P-256" as const, algorithm: "sha256" };

/** Generates a CA and a server and a client certificate signed by it (EC P-256, fast). */
export async function createTestPki(name = "kaudit-test"): Promise<TestPki> {
  const ca = await generate([{ name: "commonName", value: `${name}-ca` }], {
    ...opts,
    extensions: [
      { name: "basicConstraints", cA: true, critical: true },
      {
        name: "keyUsage",
        keyCertSign: true,
        cRLSign: true,
        digitalSignature: true,
        critical: true,
      },
    ],
  });
  const server = await generate([{ name: "commonName", value: "receiver.test" }], {
    ...opts,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
      { name: "extKeyUsage", serverAuth: true },
      {
        name: "subjectAltName",
        altNames: [
          { type: 2, value: "receiver.test" },
          { type: 7, ip: "127.0.0.1" },
        ],
      },
    ],
  });
  const client = await generate([{ name: "commonName", value: "kube-apiserver-audit" }], {
    ...opts,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
      { name: "extKeyUsage", clientAuth: true },
    ],
  });
  return {
    caCert: ca.cert,
    caKey: ca.private,
    serverCert: server.cert,
    serverKey: server.private,
    clientCert: client.cert,
    clientKey: client.private,
  };
}
