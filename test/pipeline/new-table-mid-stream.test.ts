/**
 * Without a table list, a table created while the pipeline runs joins the publication (the
 * table watcher) and its changes reach the warehouse: rows written after it joined — inserts,
 * updates, deletes, in a non-public schema too. Rows written before it joined are not streamed
 * (that is the snapshot/backfill's job), so the test writes only after it is published.
 */
import { describe, expect, it } from 'vitest';
import type { PostgresCluster } from '../harness/postgres.js';
import { EACH_MAJOR, useCluster } from '../harness/use-cluster.js';
import { waitFor } from '../helpers/events.js';
import { sourceRows, startPipeline } from './in-process-pipeline.js';

async function published(cluster: PostgresCluster, schema: string, table: string): Promise<void> {
  await waitFor(`${schema}.${table} in the publication`, async () => {
    const rows = await cluster.sql(
      `SELECT 1 FROM pg_publication_tables WHERE pubname = 'tributary' AND schemaname = $1 AND tablename = $2`,
      [schema, table],
    );
    return rows.length > 0 || undefined;
  });
}

describe.each(EACH_MAJOR)('a table created while the pipeline runs (%s)', (_label, binaries) => {
  const cluster = useCluster({
    binaries,
    setup: (c) => c.sql('CREATE TABLE existing (id int PRIMARY KEY, v text)'),
  });

  it('is published and its changes reach the warehouse', async () => {
    const pipeline = await startPipeline(cluster(), { tableWatchIntervalMs: 100 });
    try {
      await cluster().sql(`INSERT INTO existing VALUES (1, 'one')`);
      await cluster().sql(
        `CREATE TABLE late (id bigint PRIMARY KEY, label text NOT NULL, amount numeric(8,2));
         CREATE SCHEMA sales;
         CREATE TABLE sales."Late Orders" (id int PRIMARY KEY, note text)`,
      );
      await published(cluster(), 'public', 'late');
      await published(cluster(), 'sales', 'Late Orders');

      const client = await cluster().connect();
      try {
        for (let i = 1; i <= 20; i++) {
          await client.query('INSERT INTO late VALUES ($1, $2, $3)', [i, `row ${i}`, `${i}.25`]);
        }
        await client.query(`UPDATE late SET label = 'changed', amount = NULL WHERE id % 3 = 0`);
        await client.query('DELETE FROM late WHERE id > 17');
        await client.query(`INSERT INTO sales."Late Orders" VALUES (1, 'a'), (2, 'b')`);
        await client.query(`UPDATE sales."Late Orders" SET note = 'B' WHERE id = 2`);
        await client.query(`INSERT INTO existing VALUES (2, 'two')`);
      } finally {
        await client.end();
      }
      await pipeline.caughtUp();

      const compare = async (source: string, warehouse: string) =>
        expect(await pipeline.rows(warehouse)).toEqual(await sourceRows(cluster(), source));
      await compare(
        'SELECT id::text, label, amount::text FROM late ORDER BY late.id',
        'SELECT id::VARCHAR, label, amount::VARCHAR FROM main.late ORDER BY late.id',
      );
      await compare(
        'SELECT id::text, note FROM sales."Late Orders" ORDER BY "Late Orders".id',
        'SELECT id::VARCHAR, note FROM sales."Late Orders" ORDER BY "Late Orders".id',
      );
      await compare(
        'SELECT id::text, v FROM existing ORDER BY existing.id',
        'SELECT id::VARCHAR, v FROM main.existing ORDER BY existing.id',
      );
      const [count] = await pipeline.rows('SELECT count(*)::VARCHAR FROM main.late');
      expect(count?.[0]).toBe('17');
    } finally {
      await pipeline.stop();
    }
  });

  it('copies the rows a new table held before it joined the publication, then streams it', async () => {
    const pipeline = await startPipeline(cluster(), {
      tableWatchIntervalMs: 100,
      snapshot: { mode: 'initial' },
    });
    try {
      // created with its rows in one transaction: none of them is ever in the stream
      await cluster().sql(
        `BEGIN;
         CREATE TABLE preloaded (id bigint PRIMARY KEY, label text NOT NULL, doc text);
         INSERT INTO preloaded SELECT i, 'row ' || i, CASE WHEN i % 10 = 0 THEN repeat('d', 9000) END
           FROM generate_series(1, 2000) AS i;
         COMMIT;`,
      );
      await published(cluster(), 'public', 'preloaded');
      await cluster().sql(`UPDATE preloaded SET label = 'changed' WHERE id % 7 = 0`);
      await cluster().sql('DELETE FROM preloaded WHERE id % 11 = 0');
      await cluster().sql(`INSERT INTO preloaded VALUES (5000, 'after', NULL)`);
      await waitFor(
        'the new table snapshot',
        async () => {
          const jobs = await pipeline.warehouse.snapshotJobs();
          const job = jobs.find((j) => j.table.name === 'preloaded');
          return job?.state === 'done' ? job : undefined;
        },
        60_000,
      );
      await cluster().sql(`UPDATE preloaded SET label = 'later' WHERE id = 1`);
      await pipeline.caughtUp();
      const sql = "SELECT id, label, length(coalesce(doc, '')) FROM preloaded ORDER BY id";
      expect(await pipeline.rows(sql)).toEqual(await sourceRows(cluster(), sql));
      const [job] = (await pipeline.warehouse.snapshotJobs()).filter((j) => j.table.name === 'preloaded');
      expect(job?.reason).toBe('new table');
    } finally {
      await pipeline.stop();
    }
  });
});
