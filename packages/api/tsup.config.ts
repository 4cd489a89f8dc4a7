import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm", "cjs"],
  // The types use ES2020 library types (Map, AsyncIterable, …): declared in the .d.ts, so they
  // check even with tsc's default `lib` (ES5).
  dts: { banner: '/// <reference lib="es2020" />' },
  sourcemap: true,
  clean: true,
  target: "node20",
  // validate.ts loads ajv lazily with createRequire(import.meta.url), in CJS too.
  shims: true,
});
