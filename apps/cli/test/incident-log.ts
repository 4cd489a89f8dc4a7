import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { random } from "./random";

/** What {@link writeIncidentLog} put into the log, for assertions. */
export interface IncidentFacts {
  events: number;
  /** 401s from the anonymous burst (all from {@link BURST_IP}). */
  burst401: number;
  /** 403s of mallory across distinct URIs. */
  mallory403: number;
  /** Slow deployment requests (3-5 s, with an apiserver.latency.k8s.io breakdown). */
  slow: number;
}

export const BURST_IP = "198.51.100.7";
export const MALLORY_IP = "203.0.113.50";
const START = Date.UTC(2026, 10, 22, 8, 0, 0);
const INCIDENT = START + 60 * 60_000;

const USERS = [
  ["alice", "kubectl/v1.32.4 (linux/amd64) kubernetes/4cb5f07", "10.0.1.15"],
  ["bob", "kubectl/v1.31.2 (darwin/arm64) kubernetes/5864a46", "10.0.1.22"],
  [
    "system:kube-scheduler",
    "kube-scheduler/v1.32.4 (linux/amd64) kubernetes/4cb5f07/scheduler",
    "10.0.0.2",
  ],
  [
    "system:serviceaccount:kube-system:replicaset-controller",
    "kube-controller-manager/v1.32.4 (linux/amd64) kubernetes/4cb5f07/system:serviceaccount:kube-system:replicaset-controller",
    "10.0.0.2",
  ],
  ["system:node:node-1", "kubelet/v1.32.4 (linux/amd64) kubernetes/4cb5f07", "10.0.2.1"],
  ["system:node:node-2", "kubelet/v1.32.4 (linux/amd64) kubernetes/4cb5f07", "10.0.2.2"],
] as const;
const RESOURCES = [
  ["", "v1", "pods"],
  ["", "v1", "configmaps"],
  ["", "v1", "secrets"],
  ["apps", "v1", "deployments"],
  ["coordination.k8s.io", "v1", "leases"],
  ["", "v1", "services"],
] as const;
const NAMESPACES = ["default", "kube-system", "team-a", "team-b"];
const VERBS = ["get", "get", "get", "list", "list", "watch", "update", "patch", "create", "delete"];

function micro(ms: number): string {
  const iso = new Date(Math.floor(ms)).toISOString();
  const us = Math.floor((ms % 1) * 1000);
  return `${iso.slice(0, 23)}${String(us).padStart(3, "0")}Z`;
}

/**
 * Writes `n` audit.k8s.io/v1 Metadata events over two hours of a cluster's ordinary traffic,
 * with an incident between 09:00 and 09:10 UTC: an anonymous 401 burst from one IP, mallory
 * denied (403) on secrets across many namespaces and URIs, then deleting configmaps, and slow
 * deployment requests with their apiserver.latency.k8s.io breakdown.
 */
export async function writeIncidentLog(path: string, n = 100_000): Promise<IncidentFacts> {
  const rnd = random(42);
  const out = createWriteStream(path);
  const facts: IncidentFacts = { events: 0, burst401: 0, mallory403: 0, slow: 0 };
  const step = (2 * 3_600_000) / n;
  let chunk = "";
  for (let i = 0; i < n; i++) {
    const t = START + i * step;
    const inIncident = t >= INCIDENT && t < INCIDENT + 10 * 60_000;
    const pick = rnd();
    let user: string;
    let agent: string;
    let ip: string;
    let verb = VERBS[Math.floor(rnd() * VERBS.length)]!;
    let [group, version, resource] = RESOURCES[Math.floor(rnd() * RESOURCES.length)]!;
    let ns = NAMESPACES[Math.floor(rnd() * NAMESPACES.length)]!;
    let name: string | undefined =
      verb === "list" || verb === "watch" ? undefined : `obj-${Math.floor(rnd() * 50)}`;
    let code = verb === "create" ? 201 : rnd() < 0.01 ? 404 : rnd() < 0.002 ? 500 : 200;
    let latency = 2 + rnd() * 40;
    let annotations: Record<string, string> = {
      "authorization.k8s.io/decision": "allow",
      "authorization.k8s.io/reason": "",
    };
    if (inIncident && pick < 0.2) {
      user = "system:anonymous";
      agent = "curl/8.5.0";
      ip = BURST_IP;
      code = 401;
      verb = "list";
      [group, version, resource] = ["", "v1", "secrets"];
      name = undefined;
      annotations = {};
      facts.burst401++;
    } else if (inIncident && pick < 0.3) {
      user = "mallory";
      agent = "kubectl/v1.32.4 (linux/amd64) kubernetes/4cb5f07";
      ip = MALLORY_IP;
      if (rnd() < 0.7) {
        code = 403;
        verb = "get";
        [group, version, resource] = ["", "v1", "secrets"];
        ns = `ns-${Math.floor(rnd() * 40)}`;
        annotations = {
          "authorization.k8s.io/decision": "forbid",
          "authorization.k8s.io/reason": "",
        };
        facts.mallory403++;
      } else {
        code = 200;
        verb = "delete";
        [group, version, resource] = ["", "v1", "configmaps"];
        name = `cm-${Math.floor(rnd() * 100)}`;
      }
    } else {
      [user, agent, ip] = USERS[Math.floor(pick * USERS.length)]!;
      if (inIncident && resource === "deployments" && rnd() < 0.5) {
        latency = 3000 + rnd() * 2000;
        annotations["apiserver.latency.k8s.io/etcd"] = `${(latency * 0.9).toFixed(3)}ms`;
        annotations["apiserver.latency.k8s.io/total"] = `${(latency / 1000).toFixed(6)}s`;
        facts.slow++;
      }
    }
    if (verb === "watch") latency = 60_000 + rnd() * 240_000;
    const path = `/api${group ? `s/${group}` : ""}/${version}/namespaces/${ns}/${resource}${name ? `/${name}` : ""}`;
    const event = {
      kind: "Event",
      apiVersion: "audit.k8s.io/v1",
      level: "Metadata",
      auditID: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
      stage: "ResponseComplete",
      requestURI: verb === "watch" ? `${path}?watch=true` : path,
      verb,
      user:
        user === "system:anonymous"
          ? { username: user, groups: ["system:unauthenticated"] }
          : { username: user, groups: ["system:authenticated"] },
      sourceIPs: [ip],
      userAgent: agent,
      objectRef: {
        resource,
        namespace: ns,
        ...(name ? { name } : {}),
        ...(group ? { apiGroup: group } : {}),
        apiVersion: version,
      },
      responseStatus:
        code >= 400
          ? {
              metadata: {},
              status: "Failure",
              reason:
                code === 401
                  ? "Unauthorized"
                  : code === 403
                    ? "Forbidden"
                    : code === 404
                      ? "NotFound"
                      : "InternalError",
              code,
            }
          : { metadata: {}, code },
      requestReceivedTimestamp: micro(t),
      stageTimestamp: micro(t + latency),
      annotations,
    };
    chunk += `${JSON.stringify(event)}\n`;
    facts.events++;
    if (chunk.length > 1 << 16) {
      if (!out.write(chunk)) await once(out, "drain");
      chunk = "";
    }
  }
  out.end(chunk);
  await once(out, "finish");
  return facts;
}
