import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: process.env.TRIBUTARY_LONG ? [] : ['test/long/**'],
    globalSetup: ['test/harness/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Integration tests each start their own Postgres clusters; two cores do not take more.
    maxWorkers: 2,
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
