/**
 * The raw zone, history, time travel, replay and export through the real pipeline: rows copied
 * by the first snapshot, then inserts, updates that leave a TOASTed column unchanged, deletes, a
 * truncate and a refill. What the source held at two moments (and at one WAL position) is read
 * from the source then, and time travel must give exactly that back later.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { parseReplayPoint } from '../../src/landing/replay.js';
import { useCluster } from '../harness/use-cluster.js';
import { sourceRows, startPipeline } from '../pipeline/in-process-pipeline.js';

const BIG = (seed: string) => `(SELECT string_agg(md5('${seed}' || i), '') FROM generate_series(1, 400) i)`;
const SOURCE = `SELECT id::text, country, total::text, length(note)::text, md5(note) FROM orders ORDER BY orders.id`;
const WAREHOUSE = (from: string) =>
  `SELECT id::VARCHAR, country, total::VARCHAR, length(note)::VARCHAR, md5(note) FROM ${from} ORDER BY id`;

describe('history, time travel, replay and export', () => {
  const cluster = useCluster({
    setup: async (c) => {
      await c.sql(
        'CREATE TABLE orders (id int PRIMARY KEY, country text NOT NULL, total numeric(12,2), note text)',
      );
      await c.sql('ALTER TABLE orders ALTER COLUMN note SET STORAGE EXTERNAL');
      await c.sql(
        `INSERT INTO orders SELECT i, (ARRAY['FR','DE','US'])[1 + i % 3], i * 1.25, ${BIG('seed')} FROM generate_series(1, 300) i`,
      );
    },
  });
  const exportDir = mkdtempSync(join(tmpdir(), 'tributary-export-'));
  afterAll(() => rmSync(exportDir, { recursive: true, force: true }));

  it('gives back what the source held at each moment, and rebuilds the live tables exactly', async () => {
    const pipeline = await startPipeline(cluster(), { snapshot: { workers: 2 } });
    try {
      await pipeline.jobsDone(1);
      const sql = (text: string) => cluster().sql(text);
      const clock = async () => String((await sql('SELECT clock_timestamp()::text AS t'))[0]?.t);
      const lsn = async () => String((await sql('SELECT pg_current_wal_lsn()::text AS l'))[0]?.l);

      await sql('UPDATE orders SET total = total + 1 WHERE id <= 50'); // note unchanged (TOASTed)
      await sql('DELETE FROM orders WHERE id BETWEEN 51 AND 60');
      await sql(`INSERT INTO orders VALUES (1001, 'JP', 9.99, 'small')`);
      const t1 = await clock();
      const at1 = await sourceRows(cluster(), SOURCE);
      // several versions of one row, in separate transactions close together
      for (let i = 0; i < 3; i++) await sql(`UPDATE orders SET country = 'V${i}' WHERE id = 1`);
      await sql('DELETE FROM orders WHERE id = 1');
      const p2 = await lsn();
      const at2 = await sourceRows(cluster(), SOURCE);
      await sql('TRUNCATE orders');
      await sql(`INSERT INTO orders SELECT i, 'NL', i, ${BIG('again')} FROM generate_series(1, 20) i`);
      await sql('UPDATE orders SET total = 0 WHERE id = 2');
      const t3 = await clock();
      const at3 = await sourceRows(cluster(), SOURCE);
      await sql(`UPDATE orders SET country = 'later' WHERE id = 3`);
      await pipeline.caughtUp();
      const wh = pipeline.warehouse;

      const asOf = async (point: string) =>
        (await wh.queryAsOf(WAREHOUSE('orders'), parseReplayPoint(point))).rows.map((r) =>
          r.map((v) => (v === null ? null : String(v))),
        );
      expect(await asOf(t1)).toEqual(at1);
      expect(await asOf(p2)).toEqual(at2);
      expect(await asOf(t3)).toEqual(at3);
      // the SQL form says the same
      const inSql = await pipeline.rows(WAREHOUSE(`tributary_as_of('orders', '${t1}'::TIMESTAMPTZ)`));
      expect(inSql).toEqual(at1);

      // history: contiguous, never overlapping, at most one current version per key
      const [checks] = await pipeline.rows(`
        WITH h AS (SELECT id, valid_from, valid_to, is_current, is_deleted,
                          lead(valid_from) OVER (PARTITION BY id ORDER BY _tributary_position) AS next_from
                   FROM _tributary_history.orders)
        SELECT count(*) FILTER (WHERE valid_to IS DISTINCT FROM next_from),
               count(*) FILTER (WHERE valid_to < valid_from),
               (SELECT max(n) FROM (SELECT count(*) AS n FROM h WHERE is_current GROUP BY id)),
               count(*) FILTER (WHERE id = 1), count(*) FILTER (WHERE id = 1 AND is_deleted)
        FROM h`);
      // id 1: copied, +1 total, three countries, deleted (gone before the truncate), refilled
      expect(checks).toEqual(['0', '0', '1', '7', '1']);

      // replay to the end = the live tables, row for row (with each row's LSN)
      const live = `SELECT count(*), bit_xor(hash(id, country, total, note, _tributary_lsn)) FROM main.orders`;
      await wh.replay({ kind: 'end' }, 'replayed');
      expect(await pipeline.rows(live.replace('main.orders', 'replayed.orders'))).toEqual(
        await pipeline.rows(live),
      );
      await wh.replay(parseReplayPoint(t1), 'at_t1');
      expect(await pipeline.rows(WAREHOUSE('at_t1.orders'))).toEqual(at1);

      // a batch delivered again changes neither the tables nor the raw zone
      const raw = `SELECT count(*), bit_xor(hash(_tributary_op, _tributary_lsn, _tributary_ordinal, id, total)) FROM _tributary_raw.orders`;
      const rawBefore = await pipeline.rows(raw);
      const liveBefore = await pipeline.rows(live);
      for (const batch of pipeline.batches.slice(-3)) await wh.apply(batch);
      expect(await pipeline.rows(raw)).toEqual(rawBefore);
      expect(await pipeline.rows(live)).toEqual(liveBefore);

      // export: the Parquet files read back are the raw zone; a second export adds only what is new
      const first = await wh.exportRaw(exportDir);
      expect(first.find((t) => t.table === 'orders')?.rows).toBe(Number(rawBefore[0]?.[0]));
      await sql(`UPDATE orders SET country = 'after export' WHERE id = 4`);
      await pipeline.caughtUp();
      const second = await wh.exportRaw(exportDir);
      expect(second.find((t) => t.table === 'orders')?.rows).toBe(1);
      const third = await wh.exportRaw(exportDir);
      expect(third.find((t) => t.table === 'orders')?.rows).toBe(0);
      expect(readdirSync(join(exportDir, 'table=orders')).every((d) => d.startsWith('commit_date='))).toBe(
        true,
      );
      const reader = await DuckDBInstance.create(':memory:');
      try {
        const c = await reader.connect();
        const files = `read_parquet('${exportDir}/**/*.parquet', hive_partitioning = true)`;
        const hashOf = async (from: string) =>
          (
            await (
              await c.run(
                `SELECT count(*), bit_xor(hash(_tributary_op, _tributary_lsn, _tributary_ordinal, _tributary_commit_time, id, country, total, note)) FROM ${from}`,
              )
            ).getRowsJson()
          )[0];
        const fromFiles = await hashOf(`${files} WHERE "table" = 'orders'`);
        const fromRaw = (
          await pipeline.rows(
            `SELECT count(*), bit_xor(hash(_tributary_op, _tributary_lsn, _tributary_ordinal, _tributary_commit_time, id, country, total, note)) FROM _tributary_raw.orders`,
          )
        )[0];
        expect(fromFiles?.map(String)).toEqual(fromRaw);
      } finally {
        reader.closeSync();
      }
    } finally {
      await pipeline.stop();
    }
  });
});
