import { defineConfig } from "tsup";

export default defineConfig({
  // The convert worker is an entry of its own: worker threads start from a file.
  entry: ["src/index.ts", "src/convert-worker.ts"],
  format: ["esm"],
  dts: false,
  sourcemap: true,
  clean: true,
  target: "node20",
});
