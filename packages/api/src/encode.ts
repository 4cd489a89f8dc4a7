import { eventMembers } from "./encode-event";
import { API_VERSION } from "./levels";
import type { Event } from "./types";

export {
  attachRawJSON,
  compactJSON,
  EncodeError,
  encodeValue,
  goJSONString,
  rawJSONOf,
} from "./encode-value";

/**
 * One event as kube-apiserver's log backend writes it, without the trailing newline: kind and
 * apiVersion (`audit.k8s.io/v1`) first, then the fields in Go struct order. Never throws for an
 * event of the right shape; values of the wrong type are written as Go would write their JSON.
 * Bodies of any depth are written without overflowing the stack.
 * @throws EncodeError when a body contains itself, or its JSON would exceed V8's string limit.
 */
export function encodeEvent(event: Event): string {
  return `{"kind":"Event","apiVersion":"${API_VERSION}",${eventMembers(event)}}`;
}

/**
 * An EventList as the webhook backend POSTs it, without the trailing newline; items carry no
 * kind or apiVersion.
 */
export function encodeEventList(events: readonly Event[]): string {
  let items = "";
  for (let i = 0; i < events.length; i++) items += `${i ? "," : ""}{${eventMembers(events[i]!)}}`;
  return `{"kind":"EventList","apiVersion":"${API_VERSION}","metadata":{},"items":[${items}]}`;
}

/**
 * Wraps already-encoded events (each an {@link encodeEvent} line) into an EventList body without
 * decoding them again: strips each line's kind/apiVersion prefix.
 */
export function encodedEventsToList(lines: readonly string[]): string {
  const prefix = `{"kind":"Event","apiVersion":"${API_VERSION}",`;
  let items = "";
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    items += (i ? "," : "") + (l.startsWith(prefix) ? `{${l.slice(prefix.length)}` : l);
  }
  return `{"kind":"EventList","apiVersion":"${API_VERSION}","metadata":{},"items":[${items}]}`;
}
