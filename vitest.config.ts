import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["src/**/*.test.ts"],
          environment: "node",
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/**/*.test.ts"],
          exclude: ["test/faults/**"],
          environment: "node",
          sequence: { groupOrder: 1 },
          globalSetup: ["test/support/global-setup.ts"],
          setupFiles: ["test/support/env.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // One retry for a test that failed: on two shared cores a few timing-bound cases (campaign
          // pause within 2 s, browser journeys) can miss under load; a test that fails twice fails.
          retry: 1,
          // Two cores: a few files at a time, each with its own queue prefix, SMTP sink and data.
          maxWorkers: 3,
          fileParallelism: true,
        },
      },
      {
        // Real processes (API and workers) against a private PostgreSQL and Redis per file, which the
        // tests kill and restart: one file at a time, after the integration tests, so that timings
        // do not fight the rest of the suite for two cores.
        test: {
          name: "faults",
          include: ["test/faults/**/*.test.ts"],
          environment: "node",
          sequence: { groupOrder: 2 },
          // Generous: on two cores shared with other work a case took up to 4 minutes.
          testTimeout: 480_000,
          hookTimeout: 480_000,
          maxWorkers: 1,
          fileParallelism: false,
        },
      },
    ],
  },
});
