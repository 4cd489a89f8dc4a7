import {
  decodeEvent,
  type Event,
  encodeEvent as encodeApiEvent,
  encodedEventsToList,
} from "@kaudit/api";

/** One event as kube-apiserver's JSON encoder writes it, without the trailing newline. */
export const encodeEvent: (event: Event) => string = encodeApiEvent;

/**
 * The webhook's request body: an EventList of already-encoded events (items without
 * kind/apiVersion), with the trailing newline the reference's encoder writes.
 */
export function eventListBody(encoded: readonly string[]): string {
  return `${encodedEventsToList(encoded)}\n`;
}

/**
 * Turns an encoded event back into an Event (for delegates that take objects, and reports),
 * keeping the request/response bodies byte-exact for a later re-encoding.
 */
export function decodeEncoded(line: string): Event {
  return decodeEvent(line);
}
