import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm", "cjs"],
  // The types use Node's (streams, events, Buffer): say so in the .d.ts, so a consumer's
  // tsc finds them (@types/node is a peer dependency) whatever its `types` setting.
  dts: { banner: '/// <reference types="node" />' },
  sourcemap: true,
  clean: true,
  target: "node20",
  // yaml-lib.ts loads yaml lazily with createRequire(import.meta.url), in CJS too.
  shims: true,
});
