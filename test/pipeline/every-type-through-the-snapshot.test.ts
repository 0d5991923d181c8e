/**
 * The snapshot reads every type exactly as the stream does: the every-type table's rows, there
 * before the first run, are copied by the initial snapshot; the same rows inserted into a twin
 * table after the stream started arrive as change events. Both land in DuckDB with the same
 * types and the same values, column by column — and the stream's side is the one
 * test/warehouse/every-type-into-duckdb.test.ts proves exact against Postgres.
 *
 * The first run's snapshot has two paths, and the test runs both: rows read as COPY text and
 * decoded in JavaScript (`csv: false`, and every later snapshot), and chunks written by Postgres
 * as CSV that DuckDB reads and converts in SQL (`csv: true`, the default), for tables whose every
 * column it converts. `every_type` has columns DuckDB does not convert (it is read as rows),
 * `every_csv` only columns it does: its rows are converted in SQL but for the values DuckDB
 * refuses — BC dates, a numeric NaN that widens its column — which go through the decoders.
 * Each has a streamed twin.
 */
import { describe, expect, it } from 'vitest';
import { EACH_MAJOR, useCluster } from '../harness/use-cluster.js';
import { acceptedColumns } from '../values/every-type.accepted.js';
import { createEveryTypeTable, insertEveryTypeRows, TABLE } from '../values/every-type.facts.js';
import { startPipeline } from './in-process-pipeline.js';

/** The types the CSV path converts in SQL (src/warehouse/duckdb/csv-columns.ts). */
const CSV_TYPES = new Set([
  'int2',
  'int4',
  'int8',
  'float8',
  'numeric',
  'numeric(12,4)',
  'bool',
  'uuid',
  'text',
  'varchar(20)',
  'char(5)',
  'name',
  'date',
  'timestamp',
  'timestamptz',
  'json',
  'jsonb',
  'bytea',
]);

const PATHS = EACH_MAJOR.flatMap(([label, binaries]) =>
  [true, false].map((csv) => [`${label}, ${csv ? 'CSV' : 'COPY text'}`, binaries, csv] as const),
);

describe.each(PATHS)('every type through the snapshot (%s)', (_label, binaries, csv) => {
  const columns = acceptedColumns(binaries.major);
  const csvColumns = columns.filter((c) => CSV_TYPES.has(c.type));
  const cluster = useCluster({
    binaries,
    setup: async (c) => {
      const client = await c.connect();
      try {
        await createEveryTypeTable(client, columns);
        await insertEveryTypeRows(client, columns);
        await client.query(`CREATE TABLE streamed (LIKE ${TABLE} INCLUDING ALL)`);
        const names = csvColumns.map((c) => c.name).join(', ');
        await client.query(
          `CREATE TABLE every_csv (id int PRIMARY KEY, ${csvColumns.map((c) => `${c.name} ${c.type}`).join(', ')})`,
        );
        await client.query(`INSERT INTO every_csv SELECT id, ${names} FROM ${TABLE}`);
        await client.query(`INSERT INTO every_csv (id, c_numeric_scaled) VALUES (100000, 'NaN')`);
        await client.query('CREATE TABLE streamed_csv (LIKE every_csv INCLUDING ALL)');
      } finally {
        await client.end();
      }
    },
  });

  it('lands each value as the stream lands it', async () => {
    const pipeline = await startPipeline(cluster(), { slot: 'every', snapshot: { csv } });
    const warehouse = pipeline.warehouse;
    try {
      await pipeline.jobsDone(4);
      const converted = (table: string) =>
        pipeline.files.filter((f) => f.table === table).reduce((n, f) => n + f.converted, 0);
      if (csv) {
        // every_type has columns DuckDB does not convert: it is read as rows
        expect(pipeline.files.map((f) => f.table).sort()).toEqual(['every_csv', 'streamed_csv']);
        expect(converted('every_csv')).toBeGreaterThan(5);
      } else expect(pipeline.files).toEqual([]);
      await cluster().sql(`INSERT INTO streamed SELECT * FROM ${TABLE}`);
      await cluster().sql('INSERT INTO streamed_csv SELECT * FROM every_csv');
      await pipeline.caughtUp();
      const shape = async (table: string) =>
        (
          await warehouse.query(
            `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'main' AND table_name = '${table}' ORDER BY ordinal_position`,
          )
        ).rows;
      expect(await shape(TABLE)).toEqual(await shape('streamed'));
      expect(await shape('every_csv')).toEqual(await shape('streamed_csv'));
      const count = await warehouse.query(`SELECT count(*)::INTEGER FROM ${TABLE}`);
      expect(count.rows[0]?.[0]).toBeGreaterThan(10);
      const twins = [
        [TABLE, 'streamed', columns],
        ['every_csv', 'streamed_csv', csvColumns],
      ] as const;
      for (const [copied, streamed, list] of twins) {
        for (const column of ['id', ...list.map((c) => c.name)]) {
          // text of each value, by id: floats print shortest round-trip, -0 and NaN included
          const values = (table: string) =>
            warehouse
              .query(`SELECT id, CAST("${column}" AS VARCHAR) FROM ${table} ORDER BY id`)
              .then((r) => r.rows);
          expect(await values(copied), `${copied}.${column}`).toEqual(await values(streamed));
        }
      }
    } finally {
      await pipeline.stop();
    }
  });
});
