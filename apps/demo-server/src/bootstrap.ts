import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { generate } from "selfsigned";
import { stringify as toYAML } from "yaml";
import { DemoConfigError } from "./auth";

/** A PEM certificate and key. */
export interface CertPair {
  cert: string;
  key: string;
}

const SANS = [
  { type: 2 as const, value: "localhost" },
  { type: 7 as const, ip: "127.0.0.1" },
  { type: 7 as const, ip: "::1" },
];

function validFor(days: number) {
  const notBeforeDate = new Date(Date.now() - 60_000);
  return { notBeforeDate, notAfterDate: new Date(notBeforeDate.getTime() + days * 86400_000) };
}

/** A self-signed serving certificate for 127.0.0.1 and localhost (selfsigned, EC P-256). */
export async function generateServingCert(cn = "kaudit-demo"): Promise<CertPair> {
  const pems = await generate([{ name: "commonName", value: cn }], {
    keyType: "ec",
    algorithm: "sha256",
    ...validFor(365),
    extensions: [
      { name: "basicConstraints", cA: true },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames: SANS },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** A CA plus a serving and a client certificate signed by it (for the webhook receiver's mTLS). */
export async function generateMutualTLS(): Promise<{
  ca: CertPair;
  server: CertPair;
  client: CertPair;
}> {
  const caPems = await generate([{ name: "commonName", value: "kaudit-demo-receiver-ca" }], {
    keyType: "ec",
    algorithm: "sha256",
    ...validFor(365),
    extensions: [
      { name: "basicConstraints", cA: true },
      { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true },
    ],
  });
  const ca = { cert: caPems.cert, key: caPems.private };
  const server = await generate([{ name: "commonName", value: "kaudit-demo-receiver" }], {
    keyType: "ec",
    algorithm: "sha256",
    ...validFor(365),
    ca,
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames: SANS },
    ],
  });
  const client = await generate([{ name: "commonName", value: "kube-apiserver" }], {
    keyType: "ec",
    algorithm: "sha256",
    ...validFor(365),
    ca,
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
      { name: "extKeyUsage", clientAuth: true },
    ],
  });
  return {
    ca,
    server: { cert: server.cert, key: server.private },
    client: { cert: client.cert, key: client.private },
  };
}

function b64(s: string): string {
  return Buffer.from(s).toString("base64");
}

/** A kubeconfig for one cluster and one user (token or client certificate). */
export function kubeconfigYAML(opts: {
  name: string;
  server: string;
  caPEM: string;
  token?: string;
  clientCert?: CertPair;
}): string {
  const user: Record<string, string> = {};
  if (opts.token) user.token = opts.token;
  if (opts.clientCert) {
    user["client-certificate-data"] = b64(opts.clientCert.cert);
    user["client-key-data"] = b64(opts.clientCert.key);
  }
  return toYAML({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: opts.name,
        cluster: { server: opts.server, "certificate-authority-data": b64(opts.caPEM) },
      },
    ],
    users: [{ name: opts.name, user }],
    contexts: [{ name: opts.name, context: { cluster: opts.name, user: opts.name } }],
    "current-context": opts.name,
  });
}

/** Files the demo generated (or was given) in its data directory. */
export interface DemoFiles {
  dataDir: string;
  certFile: string;
  keyFile: string;
  tokenFile: string;
  adminToken: string | undefined;
  kubeconfigFile: string;
}

/**
 * Makes sure the data directory holds a serving certificate (unless one is given) and a
 * token file (unless one is given): generated once, reused on later starts.
 */
export async function ensureDemoFiles(opts: {
  dataDir: string;
  certFile?: string;
  keyFile?: string;
  tokenFile?: string;
}): Promise<DemoFiles> {
  const dataDir = resolve(opts.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  let certFile = opts.certFile ? resolve(opts.certFile) : "";
  let keyFile = opts.keyFile ? resolve(opts.keyFile) : "";
  if (!certFile !== !keyFile)
    throw new DemoConfigError("--tls-cert-file and --tls-private-key-file must be given together");
  if (!certFile) {
    certFile = join(dataDir, "apiserver.crt");
    keyFile = join(dataDir, "apiserver.key");
    if (!existsSync(certFile) || !existsSync(keyFile)) {
      const pair = await generateServingCert();
      writeFileSync(keyFile, pair.key, { mode: 0o600 });
      writeFileSync(certFile, pair.cert, { mode: 0o644 });
    }
  }
  let tokenFile = opts.tokenFile ? resolve(opts.tokenFile) : "";
  let adminToken: string | undefined;
  if (!tokenFile) {
    tokenFile = join(dataDir, "tokens.csv");
    if (!existsSync(tokenFile)) {
      const admin = randomBytes(24).toString("hex");
      const dev = randomBytes(24).toString("hex");
      writeFileSync(
        tokenFile,
        `${admin},admin,uid-admin,"system:masters"\n${dev},developer,uid-developer,"developers"\n`,
        { mode: 0o600 },
      );
    }
    adminToken = readFileSync(tokenFile, "utf8").split(/\r?\n/)[0]?.split(",")[0];
  }
  return {
    dataDir,
    certFile,
    keyFile,
    tokenFile,
    adminToken,
    kubeconfigFile: join(dataDir, "kubeconfig"),
  };
}
