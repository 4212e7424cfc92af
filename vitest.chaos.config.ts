import { defineConfig } from 'vitest/config';

// Chaos tests start their own Redis and processes and kill them; one file at a time.
export default defineConfig({
  test: {
    include: ['test/**/*.chaos.test.ts'],
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 120_000,
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest-chaos.json' },
  },
});
