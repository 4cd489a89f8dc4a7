import { StatusError } from "../status";
import { PROTOBUF_MEDIA_TYPE } from "./envelope";

/** How the demo answers a request: JSON, kube protobuf, or not at all (406). */
export type ResponseEncoding = "json" | "protobuf" | "none";

/**
 * Picks the response encoding from `Accept`. JSON whenever the client takes it (no header,
 * `application/json` with any parameters, `application/*`, `*\/*`) — kubectl sends
 * `application/vnd.kubernetes.protobuf,application/json` and gets JSON; protobuf only for a
 * client that accepts nothing else; otherwise none. Ranges with `q=0` are refusals.
 */
export function negotiateResponse(accept: string | undefined): ResponseEncoding {
  if (accept === undefined || accept.trim() === "") return "json";
  let protobuf = false;
  for (const range of accept.split(",")) {
    const [type = "", ...params] = range.split(";").map((p) => p.trim().toLowerCase());
    if (params.some((p) => /^q=0(\.0*)?$/.test(p))) continue;
    if (type === "application/json" || type === "application/*" || type === "*/*") return "json";
    if (type === PROTOBUF_MEDIA_TYPE) protobuf = true;
  }
  return protobuf ? "protobuf" : "none";
}

/** kube's 406 for an `Accept` it cannot serve (`negotiation.NewNotAcceptableError`). */
export function notAcceptable(): StatusError {
  return new StatusError(
    406,
    "NotAcceptable",
    `only the following media types are accepted: application/json, ${PROTOBUF_MEDIA_TYPE}`,
  );
}
