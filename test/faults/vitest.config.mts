// The fault-injection suite (issue #9): its own clusters and Azurite (it restarts them), so no
// globalSetup; one file, run alone: npm run test:faults.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/faults/**/*.test.ts'],
    environment: 'node',
    reporters: ['default'],
    testTimeout: 600_000,
    hookTimeout: 300_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
