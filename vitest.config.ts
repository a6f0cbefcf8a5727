import { defineConfig } from 'vitest/config';

// Kernel tests create network namespaces, veth pairs and tc attachments; they
// run one file at a time so that two files never race for the same kernel
// state, and with timeouts long enough for real traffic.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results.json' },
  },
});
