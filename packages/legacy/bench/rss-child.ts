/**
 * Converts one legacy file to JSON lines (written to /dev/null) the way a CLI would, with
 * back-pressure, and prints peak RSS. Run in its own process by bench/index.ts.
 * `--idle` only loads the modules, to show the fixed cost of node + tsx.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import { legacyToEvents, splitLines } from "../src/index";

const [path, mode] = process.argv.slice(2);
const started = performance.now();
let events = 0;
let errors = 0;
let bytesOut = 0;
if (mode !== "--idle") {
  await pipeline(
    createReadStream(path!, { highWaterMark: 64 * 1024 }),
    async function* (source: AsyncIterable<Buffer>) {
      let batch = "";
      for await (const r of legacyToEvents(splitLines(source))) {
        if ("event" in r) {
          events++;
          batch += `${JSON.stringify(r.event)}\n`;
          if (batch.length >= 64 * 1024) {
            bytesOut += batch.length;
            yield batch;
            batch = "";
          }
        } else errors++;
      }
      bytesOut += batch.length;
      if (batch !== "") yield batch;
    },
    createWriteStream("/dev/null"),
  );
}
const ms = performance.now() - started;
process.stdout.write(
  `${JSON.stringify({ maxRssBytes: process.resourceUsage().maxRSS * 1024, events, errors, bytesOut, ms })}\n`,
);
