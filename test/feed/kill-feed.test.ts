/**
 * The pipeline over JetStream killed at random moments under a concurrent write load: `run
 * --feed` (one process), the loader or the source of a split pipeline, and the nats-server
 * itself. Each ends with the warehouse equal to the source, with no duplicate keys.
 * (test/long repeats these with more rounds.)
 */
import { describe, it } from 'vitest';
import { newestBinaries } from '../harness/postgres.js';
import { useCluster } from '../harness/use-cluster.js';
import { useNatsServer } from '../harness/use-nats-server.js';
import { killFeedUnderLoad } from '../helpers/kill-split.js';
import { ITEMS_DDL } from '../helpers/workload.js';

const ROUNDS = 2;

describe('the pipeline over JetStream, killed under a write load', () => {
  const nats = useNatsServer();

  describe('tributary run --feed', () => {
    const cluster = useCluster({ binaries: newestBinaries(), setup: (c) => c.sql(ITEMS_DDL) });
    it(`ends with warehouse = source after ${ROUNDS} kills -9 of run`, () =>
      killFeedUnderLoad(cluster, nats, { victim: 'run', rounds: ROUNDS, slot: 'feedrun' }));
  });

  describe('tributary load', () => {
    const cluster = useCluster({ binaries: newestBinaries(), setup: (c) => c.sql(ITEMS_DDL) });
    // a feed of three lanes: the loader's first-run copy waits for every lane to pass its watermark
    it(`ends with warehouse = source after ${ROUNDS} kills -9 of the loader mid-batch`, () =>
      killFeedUnderLoad(cluster, nats, { victim: 'loader', rounds: ROUNDS, slot: 'feedload', lanes: 3 }));
  });

  describe('tributary source', () => {
    const cluster = useCluster({ binaries: newestBinaries(), setup: (c) => c.sql(ITEMS_DDL) });
    it(`ends with warehouse = source after ${ROUNDS} kills -9 of the source mid-publish`, () =>
      killFeedUnderLoad(cluster, nats, { victim: 'source', rounds: ROUNDS, slot: 'feedsource' }));
  });

  describe('nats-server', () => {
    const cluster = useCluster({ binaries: newestBinaries(), setup: (c) => c.sql(ITEMS_DDL) });
    it('ends with warehouse = source after the nats-server is killed and restarted twice mid-stream', () =>
      killFeedUnderLoad(cluster, nats, { victim: 'nats', rounds: 2, slot: 'feednats' }));
  });
});
