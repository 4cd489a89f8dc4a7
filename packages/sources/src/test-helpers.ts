import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import type { Event } from "@kaudit/api";
import type { Problem } from "./problem";
import { type ReadCounts, type ReadEventsOptions, readEvents } from "./read-events";
import type { EventSource } from "./records";

/** The package's test data (copied from the shared corpus; see __fixtures__/SOURCES.md). */
export const FIX = fileURLToPath(new URL("../__fixtures__/", import.meta.url));

/** Everything one read gave, in order. */
export interface Collected {
  events: Event[];
  sources: EventSource[];
  problems: Problem[];
  counts: ReadCounts;
}

/** A readable stream of the given text or bytes, in chunks of `chunk` bytes (to cross chunk edges). */
export function stream(data: string | Buffer, chunk = 7): Readable {
  const buf = typeof data === "string" ? Buffer.from(data) : data;
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += chunk) parts.push(buf.subarray(i, i + chunk));
  return Readable.from(parts, { objectMode: false });
}

/** Reads an input to its end. */
export async function collect(
  input: string | NodeJS.ReadableStream,
  options: ReadEventsOptions = {},
): Promise<Collected> {
  const reader = readEvents(input, options);
  const c: Collected = { events: [], sources: [], problems: [], counts: reader.counts };
  for await (const r of reader) {
    if ("problem" in r) c.problems.push(r.problem);
    else {
      c.events.push(r.event);
      c.sources.push(r.source);
    }
  }
  return c;
}

/** A JSON round trip: what an event looks like once written (drops undefined, raw bodies as values). */
export function plain(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v));
}
