/**
 * The snapshot reads every type exactly as the stream does: the every-type table's rows, there
 * before the first run, are copied by the initial snapshot (COPY text, decoded by the stream's
 * decoders); the same rows inserted into a twin table after the stream started arrive as change
 * events. Both land in DuckDB with the same types and the same values, column by column — and
 * the stream's side is the one test/warehouse/every-type-into-duckdb.test.ts proves exact
 * against Postgres.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { runPipeline } from '../../src/pipeline/pipeline.js';
import { parseSourceUrl } from '../../src/source/postgres/setup/connection-config.js';
import { TypeRegistry } from '../../src/source/postgres/values/type-registry.js';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { EACH_MAJOR, useCluster } from '../harness/use-cluster.js';
import { waitFor } from '../helpers/events.js';
import { waitForWarehouse } from '../helpers/warehouse.js';
import { acceptedColumns } from '../values/every-type.accepted.js';
import { createEveryTypeTable, insertEveryTypeRows, TABLE } from '../values/every-type.facts.js';

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
    const dir = mkdtempSync(join(tmpdir(), 'tributary-every-snap-'));
    const types = new TypeRegistry();
    const warehouse = await DuckDBWarehouse.open(join(dir, 'w.duckdb'), {
      typeInfo: (oid) => types.info(oid),
    });
    const controller = new AbortController();
    const run = runPipeline(
      {
        source: {
          connection: parseSourceUrl(cluster().url()),
          slot: 'every',
          publication: 'every',
          tables: 'all',
          types,
          statusIntervalMs: 200,
        },
        warehouse,
        logger: silentLogger(),
        batch: { maxDelayMs: 20 },
      },
      controller.signal,
    ).then(
      () => null,
      (error: unknown) => error,
    );
    let failure: unknown = null;
    try {
      await waitFor('the initial snapshot', async () => {
        const jobs = await warehouse.snapshotJobs();
        return (jobs.length === 2 && jobs.every((j) => j.state === 'done')) || undefined;
      });
      await cluster().sql(`INSERT INTO streamed SELECT * FROM ${TABLE}`);
      await waitForWarehouse(cluster(), 'every');
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
      controller.abort();
      failure = await run;
      await warehouse.close();
      rmSync(dir, { recursive: true, force: true });
    }
    if (failure) throw failure;
  });
});
