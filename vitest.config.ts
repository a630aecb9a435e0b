// Two projects: `unit` (tests beside the code, in parallel forks, with one throwaway PostgreSQL
// cluster per run) and `e2e` (cross-process Playwright specs, one file at a time).
// See docs/testing.md.
import { defineConfig } from "vitest/config";

const generated = [
  "**/node_modules/**",
  "**/dist/**",
  "**/dist-electron/**",
  "**/release/**",
  "**/.rmm-data/**",
  "**/test-results/**",
  "**/.tmp/**",
];

export default defineConfig({
  test: {
    teardownTimeout: 30_000,
    projects: [
      {
        test: {
          name: "unit",
          include: ["**/*.test.ts", "**/*.test.tsx"],
          exclude: [...generated, "test/e2e/**"],
          environment: "node",
          pool: "forks",
          testTimeout: 20_000,
          hookTimeout: 60_000,
          globalSetup: ["tools/testing/postgres-global-setup.ts"],
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.e2e.ts"],
          exclude: generated,
          environment: "node",
          pool: "forks",
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
          maxWorkers: 1,
          sequence: { concurrent: false },
        },
      },
    ],
  },
});
