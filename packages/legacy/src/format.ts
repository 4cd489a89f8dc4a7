import type { Event } from "@kaudit/api";
import { LegacyFormatError } from "./errors";
import { goQuote } from "./go-quote";
import { toRfc3339Nano } from "./time";

/** Each group Go-quoted and joined with `,` (format.go `auditStringSlice`). */
function stringSlice(list: readonly string[]): string {
  let out = "";
  for (let i = 0; i < list.length; i++) {
    if (i > 0) out += ",";
    out += goQuote(String(list[i]));
  }
  return out;
}

/**
 * The line kube-apiserver's legacy log backend writes for `event` today (k8s 1.21+,
 * `pkg/audit/format.go` `EventString`, generation G5), without the trailing newline:
 *
 * `<RFC3339Nano requestReceivedTimestamp> AUDIT: id=%q stage=%q ip=%q method=%q user=%q
 * groups=%q as=%q asgroups=%q user-agent=%q namespace=%q uri=%q response="%s"`
 *
 * Placeholders as kube writes them: `ip="<unknown>"` without sourceIPs, `user="<none>"` for an
 * empty username, `groups="<none>"` unless both username and groups are non-empty, `as="<self>"`
 * and `asgroups="<lookup>"` without impersonatedUser (`asgroups` also when its groups are
 * absent; `[]` gives `""`), `namespace="<none>"`, `response="<deferred>"` without
 * responseStatus. The timestamp is written in UTC (kube uses the server's local zone, which
 * is UTC in the usual container images). Every value is quoted with {@link goQuote}, so a
 * value holding `"` or a newline cannot end the line or forge another.
 *
 * @throws {LegacyFormatError} when requestReceivedTimestamp is not an RFC 3339 time.
 * @example
 * formatLegacyLine(event)
 * // => '2020-04-08T16:32:36.125094Z AUDIT: id="c38408b4-..." stage="ResponseComplete" ip="98.207.36.92" method="create" user="admin" groups="\"system:masters\",\"system:authenticated\"" as="<self>" asgroups="<lookup>" user-agent="kubectl/v1.17.4 (darwin/amd64) kubernetes/8d8aa39" namespace="ns1" uri="/api/v1/namespaces/ns1/pods" response="201"'
 */
export function formatLegacyLine(event: Event): string {
  const ts = toRfc3339Nano(event.requestReceivedTimestamp);
  if (ts === undefined) {
    throw new LegacyFormatError(
      `requestReceivedTimestamp ${JSON.stringify(event.requestReceivedTimestamp)} is not an RFC 3339 time`,
      "requestReceivedTimestamp",
    );
  }
  const user = event.user ?? {};
  let username = "<none>";
  let groups = "<none>";
  if (typeof user.username === "string" && user.username.length > 0) {
    username = user.username;
    if (Array.isArray(user.groups) && user.groups.length > 0) groups = stringSlice(user.groups);
  }
  let as = "<self>";
  let asgroups = "<lookup>";
  const imp = event.impersonatedUser;
  if (imp !== undefined && imp !== null) {
    as = imp.username ?? "";
    if (Array.isArray(imp.groups)) asgroups = stringSlice(imp.groups);
  }
  const ns = event.objectRef?.namespace;
  const namespace = typeof ns === "string" && ns.length > 0 ? ns : "<none>";
  const rs = event.responseStatus;
  let response = "<deferred>";
  if (rs !== undefined && rs !== null) {
    // Go: strconv.Itoa(int(code)), code an int32 (0 when absent).
    const code =
      typeof rs.code === "number" && Number.isFinite(rs.code) ? Math.trunc(rs.code) | 0 : 0;
    response = String(code);
  }
  const ips = event.sourceIPs;
  const ip = Array.isArray(ips) && ips.length > 0 ? String(ips[0]) : "<unknown>";
  return `${ts} AUDIT: id=${goQuote(event.auditID ?? "")} stage=${goQuote(event.stage ?? "")} ip=${goQuote(ip)} method=${goQuote(event.verb ?? "")} user=${goQuote(username)} groups=${goQuote(groups)} as=${goQuote(as)} asgroups=${goQuote(asgroups)} user-agent=${goQuote(event.userAgent ?? "")} namespace=${goQuote(namespace)} uri=${goQuote(event.requestURI ?? "")} response="${response}"`;
}
