import { writeFileSync } from "node:fs";
import { random } from "./random";

/**
 * Rules for the fleet tests: a threshold keyed by the source IP (the ip family), one keyed by the
 * user with distinct URIs (the user family) and a single-event rule — the three kinds a fleet
 * detector splits between its partition families.
 */
export const FLEET_RULES = `
- rule: Unauthenticated burst
  desc: Five 401s from one source IP within a minute
  condition: ka.stage = ResponseComplete and ka.response.code = 401
  output: "401 burst from %kaudit.source_ip"
  priority: WARNING
  source: k8s_audit
  kaudit:
    threshold: { count: 5, window: 1m, by: [kaudit.source_ip] }

- rule: Forbidden probing
  desc: 403s on three distinct URIs by one user within a minute
  condition: ka.stage = ResponseComplete and ka.response.code = 403
  output: "403 probing by %kaudit.user.name"
  priority: WARNING
  source: k8s_audit
  kaudit:
    threshold: { count: 3, window: 1m, by: [kaudit.user.name], distinct: ka.uri }

- rule: Secret read
  desc: A secret read by anyone
  condition: ka.stage = ResponseComplete and ka.target.resource = secrets and ka.verb = get
  output: "secret %ka.target.namespace/%ka.target.name read by %ka.user.name from %kaudit.source_ip"
  priority: NOTICE
  source: k8s_audit
`;

const START = Date.UTC(2026, 10, 22, 8, 0, 0);

/**
 * `n` audit.k8s.io/v1 events, one every 150 ms of event time from `first`, by 24 users from 20
 * source IPs drawn independently — so one IP's events come from many users and one user's from
 * many IPs: counts by IP and by user cross every partition of the other family. About a third
 * are 401s, a third 403s on 6 URIs, some secret reads. Deterministic (seeded by `first`).
 */
export function fleetEvents(first: number, n: number): Record<string, unknown>[] {
  const rnd = random(first + 7);
  const out: Record<string, unknown>[] = [];
  for (let i = first; i < first + n; i++) {
    const user = `user-${Math.floor(rnd() * 24)}`;
    const ip = `10.20.${Math.floor(rnd() * 4)}.${Math.floor(rnd() * 5) + 1}`;
    const r = rnd();
    const code = r < 0.33 ? 401 : r < 0.66 ? 403 : 200;
    const secret = code === 200 && rnd() < 0.2;
    const uri = secret
      ? `/api/v1/namespaces/team-a/secrets/s-${i % 7}`
      : `/api/v1/namespaces/team-a/configmaps/c-${Math.floor(rnd() * 6)}`;
    const at = new Date(START + i * 150).toISOString().replace("Z", "000Z");
    out.push({
      kind: "Event",
      apiVersion: "audit.k8s.io/v1",
      level: "Metadata",
      auditID: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
      stage: "ResponseComplete",
      requestURI: uri,
      verb: "get",
      user: { username: user, groups: ["system:authenticated"] },
      sourceIPs: [ip],
      userAgent: "kubectl/v1.32.4 (linux/amd64) kubernetes/4cb5f07",
      objectRef: {
        resource: secret ? "secrets" : "configmaps",
        namespace: "team-a",
        name: secret ? `s-${i % 7}` : "c",
        apiVersion: "v1",
      },
      responseStatus: { metadata: {}, code },
      requestReceivedTimestamp: at,
      stageTimestamp: at,
    });
  }
  return out;
}

/** Writes events as a JSON-lines audit log (appending when `append`). */
export function writeEvents(path: string, events: Record<string, unknown>[], append = false): void {
  const text = events.map((e) => JSON.stringify(e)).join("\n") + "\n";
  writeFileSync(path, text, { flag: append ? "a" : "w" });
}
