/** Suite-level cluster lifecycle for vitest: start before the suite's tests, stop after. */
import { afterAll, beforeAll } from 'vitest';
import { availableBinaries, type ClusterOptions, PostgresCluster } from './postgres.js';

/** `[label, binaries]` rows for `describe.each`: every available Postgres major. */
export const EACH_MAJOR = availableBinaries().map((b) => [b.label, b] as const);

/**
 * Every major in the long suite (`npm run test:long`), the newest alone in `npm test`: for the
 * slowest suites, whose major-specific paths the newest exercises (keeps `npm test` in budget).
 */
export const EACH_MAJOR_IN_LONG = process.env.TRIBUTARY_LONG ? EACH_MAJOR : EACH_MAJOR.slice(0, 1);

/**
 * Starts a cluster in `beforeAll` (then runs `setup` on it) and stops it in `afterAll`.
 * Returns a getter, since the cluster exists only once the suite runs.
 */
export function useCluster(
  options: ClusterOptions & { readonly setup?: (cluster: PostgresCluster) => Promise<unknown> } = {},
): () => PostgresCluster {
  let cluster: PostgresCluster | undefined;
  beforeAll(async () => {
    cluster = await PostgresCluster.start(options);
    await options.setup?.(cluster);
  });
  afterAll(async () => {
    await cluster?.stop();
  });
  return () => {
    if (!cluster) throw new Error('the cluster is used before the suite started it');
    return cluster;
  };
}
