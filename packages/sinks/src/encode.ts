import type { Event } from "@kaudit/api";
import * as api from "@kaudit/api";

type Encoder = (event: Event) => string;

const apiEncode = (api as unknown as { encodeEvent?: Encoder }).encodeEvent;

// Go's encoding/json escapes <, > and & (and U+2028/U+2029) by default; JSON.stringify does not.
const HTML_UNSAFE = /[<>&\u2028\u2029]/g;
const HTML_ESCAPES: Record<string, string> = {
  "<": "\\u003c",
  ">": "\\u003e",
  "&": "\\u0026",
  "\u2028": "\\u2028",
  "\u2029": "\\u2029",
};

/**
 * Until `@kaudit/api` ships `encodeEvent`, an approximation: kind and apiVersion first, then the
 * event's own key order, HTML-escaped like Go.
 */
function fallbackEncode(event: Event): string {
  const { kind: _k, apiVersion: _v, ...rest } = event;
  const text = JSON.stringify({ kind: "Event", apiVersion: api.API_VERSION, ...rest });
  return text.replace(HTML_UNSAFE, (c) => HTML_ESCAPES[c] ?? c);
}

/** One event as kube-apiserver's JSON encoder writes it, without the trailing newline. */
export const encodeEvent: Encoder = apiEncode ?? fallbackEncode;

/**
 * The JSON text of an EventList whose items are already-encoded events, with the trailing
 * newline the reference's encoder writes. List items carry no kind/apiVersion in Go's output
 * (TypeMeta is set only on the list), so these are stripped from each encoded event.
 */
export function eventListBody(encoded: readonly string[]): string {
  let body = `{"kind":"EventList","apiVersion":"${api.API_VERSION}","metadata":{},"items":[`;
  for (let i = 0; i < encoded.length; i++) {
    if (i > 0) body += ",";
    body += stripTypeMeta(encoded[i]!);
  }
  return `${body}]}\n`;
}

const TYPE_META_PREFIX = `{"kind":"Event","apiVersion":"${api.API_VERSION}",`;

function stripTypeMeta(line: string): string {
  return line.startsWith(TYPE_META_PREFIX) ? `{${line.slice(TYPE_META_PREFIX.length)}` : line;
}

/** Turns an encoded event back into an Event (for delegates that take objects, and reports). */
export function decodeEncoded(line: string): Event {
  return JSON.parse(line) as Event;
}
