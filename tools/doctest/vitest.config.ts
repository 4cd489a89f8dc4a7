import { defineConfig } from "vitest/config";

/**
 * Not the shared config on purpose: README blocks must run against the built packages, as a
 * user gets them, so no `@kaudit/*` → src aliases here.
 */
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    reporters: process.env.CI ? ["default", "json"] : ["default"],
    outputFile: { json: ".reports/vitest.json" },
  },
});
