import { defineConfig } from 'vitest/config';

// `make bench`: the benchmarks run as one sequential vitest file each, so they
// can share the test helpers (network namespaces, the exporter process). They
// print their figures; they assert only that the measurement itself worked.
export default defineConfig({
  test: {
    include: ['bench/**/*.bench.ts'],
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 120_000,
  },
});
