/**
 * The long suite's JetStream kill loops: the loader, the source and `run --feed` killed with
 * SIGKILL 15 times each, and the nats-server killed and restarted 8 times, under a write load.
 */
import { describe, it } from 'vitest';
import { newestBinaries } from '../harness/postgres.js';
import { useCluster } from '../harness/use-cluster.js';
import { useNatsServer } from '../harness/use-nats-server.js';
import { killFeedUnderLoad, type Victim } from '../helpers/kill-split.js';
import { ITEMS_DDL } from '../helpers/workload.js';

const LOOPS: readonly (readonly [Victim, number])[] = [
  ['loader', 15],
  ['source', 15],
  ['run', 15],
  ['nats', 8],
];

describe('the pipeline over JetStream, killed again and again', () => {
  const nats = useNatsServer();
  describe.each(LOOPS)('%s killed %i times', (victim, rounds) => {
    const cluster = useCluster({ binaries: newestBinaries(), setup: (c) => c.sql(ITEMS_DDL) });
    it(
      'ends with warehouse = source and no duplicate keys',
      // a feed of three lanes (one table: two lanes move only with the watermarks)
      () => killFeedUnderLoad(cluster, nats, { victim, rounds, slot: `long_${victim}`, seed: 23, lanes: 3 }),
      900_000,
    );
  });
});
