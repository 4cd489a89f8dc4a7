/** Synthetic legacy input for the benchmarks: a realistic mix of generations. */
import type { Event } from "@kaudit/api";
import { formatLegacyLine } from "../src/index";

const USERS = [
  {
    username: "system:serviceaccount:kube-system:default",
    groups: [
      "system:serviceaccounts",
      "system:serviceaccounts:kube-system",
      "system:authenticated",
    ],
  },
  { username: "kubernetes-admin", groups: ["system:masters", "system:authenticated"] },
  { username: "system:kube-controller-manager", groups: ["system:authenticated"] },
  { username: "alice@example.com", groups: ["dev", "system:authenticated"] },
];
const URIS = [
  ["get", "/api/v1/namespaces/kube-system/endpoints/kube-controller-manager"],
  ["update", "/api/v1/namespaces/kube-system/endpoints/kube-controller-manager"],
  ["list", "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles"],
  ["watch", "/api/v1/pods?allowWatchBookmarks=true&resourceVersion=12345&timeout=7m33s&watch=true"],
  ["create", "/apis/apps/v1/namespaces/prod/deployments"],
  ["patch", "/api/v1/nodes/node-17/status"],
  ["get", "/healthz"],
] as const;
const METHOD: Record<string, string> = {
  get: "GET",
  list: "GET",
  watch: "GET",
  update: "PUT",
  create: "POST",
  patch: "PATCH",
};

/**
 * `n` lines: 70 % G5 (k8s 1.21+), 15 % G4 (no user-agent), 15 % G3 request+response pairs
 * interleaved with the next request.
 */
export function makeLines(n: number, idPrefix = "id"): string[] {
  const lines: string[] = [];
  let pendingResponse: string | undefined;
  for (let i = 0; lines.length < n; i++) {
    const [verb, uri] = URIS[i % URIS.length]!;
    const user = USERS[i % USERS.length]!;
    const id = `${idPrefix}-${i.toString(16).padStart(8, "0")}-4af9-4322-8a71-542231c3887b`;
    const ts = `2026-11-22T10:04:${String(i % 60).padStart(2, "0")}.${String((i * 7919) % 1_000_000).padStart(6, "0")}Z`;
    const kind = i % 20;
    if (kind < 3) {
      lines.push(
        `${ts.replace(/Z$/, "123Z")} AUDIT: id="${id}" ip="10.2.1.${i % 250}" method="${METHOD[verb]}" user="${user.username}" groups="${user.groups.map((g) => `\\"${g}\\"`).join(",")}" as="<self>" asgroups="<lookup>" namespace="kube-system" uri="${uri}"`,
      );
      if (pendingResponse !== undefined) lines.push(pendingResponse);
      pendingResponse = `${ts} AUDIT: id="${id}" response="200"`;
      continue;
    }
    const event: Event = {
      level: "Metadata",
      auditID: id,
      stage: i % 2 === 0 ? "ResponseComplete" : "RequestReceived",
      requestURI: uri,
      verb,
      user,
      sourceIPs: [`10.2.1.${i % 250}`],
      userAgent: "kube-controller-manager/v1.31.0 (linux/amd64) kubernetes/abcdef0/leader-election",
      objectRef: { resource: "endpoints", namespace: "kube-system", apiVersion: "v1" },
      ...(i % 2 === 0 ? { responseStatus: { metadata: {}, code: 200 } } : {}),
      ...(i % 9 === 0
        ? { impersonatedUser: { username: "bob", groups: ["system:authenticated"] } }
        : {}),
      requestReceivedTimestamp: ts,
    };
    let line = formatLegacyLine(event);
    if (kind < 6) line = line.replace(/ user-agent="[^"]*"/, ""); // G4
    lines.push(line);
  }
  if (pendingResponse !== undefined) lines.push(pendingResponse);
  return lines;
}
