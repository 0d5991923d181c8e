import { describe, expect, it } from 'vitest';
import { EACH_MAJOR, useCluster } from '../harness/use-cluster.js';
import { acceptedColumns } from '../values/every-type.accepted.js';
import { createEveryTypeTable, insertEveryTypeRows, TABLE } from '../values/every-type.facts.js';
import { startPipeline } from './in-process-pipeline.js';

describe.each(EACH_MAJOR)('every type through the snapshot (%s)', (_label, binaries) => {
  const columns = acceptedColumns(binaries.major);
  const cluster = useCluster({
    binaries,
    setup: async (c) => {
      const client = await c.connect();
      try {
        await createEveryTypeTable(client, columns);
        await insertEveryTypeRows(client, columns);
        await client.query(`CREATE TABLE streamed (LIKE ${TABLE} INCLUDING ALL)`);
      } finally {
        await client.end();
      }
    },
  });

  it('lands each value as the stream lands it', async () => {
    const pipeline = await startPipeline(cluster(), { slot: 'every', snapshot: {} });
    const warehouse = pipeline.warehouse;
    try {
      await pipeline.jobsDone(2);
      await cluster().sql(`INSERT INTO streamed SELECT * FROM ${TABLE}`);
      await pipeline.caughtUp();
      const shape = async (table: string) =>
        (
          await warehouse.query(
            `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = '${table}' ORDER BY ordinal_position`,
          )
        ).rows;
      expect(await shape(TABLE)).toEqual(await shape('streamed'));
      const count = await warehouse.query(`SELECT count(*)::INTEGER FROM ${TABLE}`);
      expect(count.rows[0]?.[0]).toBeGreaterThan(10);
      for (const column of ['id', ...columns.map((c) => c.name)]) {
        // text of each value, by id: floats print shortest round-trip, -0 and NaN included
        const values = (table: string) =>
          warehouse
            .query(`SELECT id, CAST("${column}" AS VARCHAR) FROM ${table} ORDER BY id`)
            .then((r) => r.rows);
        expect(await values(TABLE), column).toEqual(await values('streamed'));
      }
    } finally {
      await pipeline.stop();
    }
  });
});
