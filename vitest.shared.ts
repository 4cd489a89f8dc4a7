import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const pkg = (name: string) =>
  fileURLToPath(new URL(`./packages/${name}/src/index.ts`, import.meta.url));

/**
 * Shared vitest settings. Tests import sibling packages from their sources, so a change in
 * @kaudit/api is seen by @kaudit/policy's tests without a rebuild; end-to-end tests that spawn
 * the CLI or the demo server use the built dist/ (turbo builds before it tests).
 */
export const shared = defineConfig({
  resolve: {
    alias: {
      "@kaudit/api": pkg("api"),
      "@kaudit/policy": pkg("policy"),
      "@kaudit/legacy": pkg("legacy"),
      "@kaudit/sinks": pkg("sinks"),
      "@kaudit/middleware": pkg("middleware"),
      "@kaudit/sources": pkg("sources"),
      "@kaudit/rules": pkg("rules"),
      "@kaudit/analyze": pkg("analyze"),
      "@kaudit/watch": pkg("watch"),
    },
  },
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: process.env.CI ? ["default", "json"] : ["default"],
    outputFile: { json: ".reports/vitest.json" },
  },
});
