import { configDefaults, defineConfig } from 'vitest/config';

/**
 * The container test: it runs after every other test. Its image is built while they run, in the
 * background (test/container/prepare.ts, the container project's globalSetup).
 */
const containerTest = 'test/container/image.test.ts';

// Tests run against the built packages (dist/), exactly as the daemons run: `tsc -b` comes first.
export default defineConfig({
  test: {
    pool: 'forks',
    // Two cores: many tests start real processes and servers.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // A worker ends with its run, also when vitest is ended without its teardown.
    setupFiles: ['./scripts/exit-with-runner.mjs'],
    reporters: ['default', './scripts/summary-reporter.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'suite',
          // One test certificate for the run (scripts/test-certificate.ts).
          globalSetup: ['./scripts/test-certificate.ts'],
          include: ['packages/*/test/**/*.test.ts', 'services/*/test/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, containerTest],
          sequence: { groupOrder: 0 },
        },
      },
      {
        // Groups run one after the other: this one starts once the suite has finished.
        extends: true,
        test: {
          name: 'container',
          include: [containerTest],
          // Run as the whole run starts: the test's packages, base and image are made while the
          // suite runs, taking only the CPU time its tests leave (test/container/prepare.ts).
          globalSetup: ['./test/container/prepare.ts'],
          sequence: { groupOrder: 1 },
          // Engine install, base image, image build: minutes on a cold machine (test/container/README.md).
          testTimeout: 120_000,
          hookTimeout: 2_700_000,
        },
      },
    ],
  },
});
