/**
 * `tributary run` killed with SIGKILL at random moments while a writer keeps committing; each
 * restart resumes from the warehouse checkpoint. At the end the warehouse equals the source
 * exactly, with no duplicate keys. (The long suite repeats this 25 times.)
 */
import { describe, it } from 'vitest';
import { newestBinaries } from '../harness/postgres.js';
import { useCluster } from '../harness/use-cluster.js';
import { killRunUnderLoad } from '../helpers/kill-run.js';
import { ITEMS_DDL } from '../helpers/workload.js';

const ROUNDS = 6;

describe('kill -9 of the pipeline under a concurrent write load', () => {
  const cluster = useCluster({ binaries: newestBinaries(), setup: (c) => c.sql(ITEMS_DDL) });

  it(`ends with warehouse = source after ${ROUNDS} kills`, () => killRunUnderLoad(cluster, ROUNDS));
});
