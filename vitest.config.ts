import { defineConfig } from 'vitest/config';

// Tests run against the built packages (dist/), exactly as the daemons run: `tsc -b` comes first.
export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'services/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    pool: 'forks',
    // Two cores: many tests start real processes and servers.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ['default', './scripts/summary-reporter.ts'],
  },
});
