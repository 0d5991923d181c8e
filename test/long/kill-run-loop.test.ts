/** The long suite's pipeline kill loop: 25 SIGKILLs of `tributary run` under a write load, per major. */
import { describe, it } from 'vitest';
import { EACH_MAJOR, useCluster } from '../harness/use-cluster.js';
import { killRunUnderLoad } from '../helpers/kill-run.js';
import { ITEMS_DDL } from '../helpers/workload.js';

describe.each(EACH_MAJOR)('kill -9 of the pipeline, 25 times (%s)', (_label, binaries) => {
  const cluster = useCluster({ binaries, setup: (c) => c.sql(ITEMS_DDL) });

  it('ends with warehouse = source and no duplicate keys', () => killRunUnderLoad(cluster, 25), 900_000);
});
