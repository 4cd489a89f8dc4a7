import type { ServerResponse } from "node:http";
import { stringifyJSON } from "./safe-json";

/** How much of a list is gathered before it is handed to the socket. */
const CHUNK = 64 * 1024;

/**
 * Writes a JSON list (`{"kind":…,"apiVersion":…,"metadata":…,"items":[…]}`) item by item, each
 * serialised only when the ones before it are with the socket, waiting for `drain` when the client
 * reads slowly: a list of 200 objects of 2.5 MB never exists as one string (issue 20 case 1).
 * `item` is called for every element even when the client has gone (deletecollection deletes
 * there) and returns the element's JSON.
 */
export async function streamList<T>(
  res: ServerResponse,
  head: { kind: string; apiVersion: string; metadata: Record<string, unknown> },
  items: Iterable<T>,
  item: (x: T) => string | string[],
): Promise<void> {
  res.writeHead(200, {
    "Content-Type": "application/json",
    "Cache-Control": "no-cache, private",
    "Transfer-Encoding": "chunked",
  });
  const closed = new Promise<void>((ok) => res.once("close", () => ok()));
  let chunk = `{"kind":${JSON.stringify(head.kind)},"apiVersion":${JSON.stringify(head.apiVersion)},"metadata":${stringifyJSON(head.metadata)},"items":[`;
  let first = true;
  for (const x of items) {
    const out = item(x);
    if (res.destroyed) continue;
    const parts = typeof out === "string" ? [out] : out;
    if (!first) chunk += ",";
    first = false;
    let flowing = true;
    for (const part of parts) {
      if (part.length >= CHUNK) {
        // a large piece is written as it is, never copied into the chunk
        flowing = res.write(chunk) && flowing;
        flowing = res.write(part) && flowing;
        chunk = "";
      } else chunk += part;
    }
    if (chunk.length >= CHUNK) {
      flowing = res.write(chunk) && flowing;
      chunk = "";
    }
    if (!flowing) await Promise.race([new Promise((ok) => res.once("drain", ok)), closed]);
  }
  if (!res.destroyed) res.end(`${chunk}]}\n`);
}
