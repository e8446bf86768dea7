import { defineConfig } from 'vitest/config';

/** Integration and e2e run on the same servers (one global setup, shared by both projects). */
const onServers = {
  environment: 'node',
  globalSetup: ['test/support/global-setup.ts'],
  testTimeout: 60_000,
  hookTimeout: 120_000,
  pool: 'forks' as const,
};

export default defineConfig({
  test: {
    reporters: ['default'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        // The engine on real servers: PostgreSQL clusters and Azurite, no host.
        test: { name: 'integration', include: ['test/integration/**/*.test.ts'], ...onServers },
      },
      {
        // Through the offline host (dist/ as a child process): HTTP, the CLI, the browser.
        test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], ...onServers },
      },
    ],
  },
});
