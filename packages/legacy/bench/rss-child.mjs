/**
 * Converts one legacy file to kube's JSON lines (legacyToEventBatches + @kaudit/api's encodeEvent,
 * written to /dev/null) the way a CLI would, with
 * back-pressure, and prints peak RSS. Run in its own process by bench/index.ts:
 * `node bench/rss-child.mjs <file> <module>` where <module> is the built dist/index.js (plain
 * node, as a CLI runs) or, with `--import tsx`, src/index.ts. `--idle` as a third argument only
 * loads the module, to show the fixed cost of the process.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import { pathToFileURL } from "node:url";
import { encodeEvent } from "@kaudit/api";

const [path, modulePath, mode] = process.argv.slice(2);
const { legacyToEventBatches, splitLines } = await import(pathToFileURL(modulePath).href);
const started = performance.now();
let events = 0;
let errors = 0;
let bytesOut = 0;
if (mode !== "--idle") {
  await pipeline(
    createReadStream(path, { highWaterMark: 64 * 1024 }),
    async function* (source) {
      for await (const batch of legacyToEventBatches(splitLines(source))) {
        let out = "";
        for (const r of batch) {
          if ("event" in r) {
            events++;
            out += `${encodeEvent(r.event)}\n`;
          } else errors++;
        }
        bytesOut += out.length;
        if (out !== "") yield out;
      }
    },
    createWriteStream("/dev/null"),
  );
}
const ms = performance.now() - started;
process.stdout.write(
  `${JSON.stringify({ maxRssBytes: process.resourceUsage().maxRSS * 1024, events, errors, bytesOut, ms })}\n`,
);
