/**
 * A row with out-of-line (TOASTed, uncompressed) jsonb and text values larger than 8 kB: updates
 * of its other columns send those values as "unchanged", and the warehouse must keep what it
 * holds, exactly — across 100 separate transactions, and across 100 updates in one transaction
 * (one batch), and when a big value changes in the middle of such a run.
 */
import { describe, expect, it } from 'vitest';
import { EACH_MAJOR, useCluster } from '../harness/use-cluster.js';
import { sourceRows, startPipeline } from './in-process-pipeline.js';

/** ~12.8 kB of incompressible text: md5s concatenated. */
const BIG_TEXT = (seed: string) =>
  `(SELECT string_agg(md5('${seed}' || i), '') FROM generate_series(1, 400) i)`;
const BIG_JSON = (seed: string) =>
  `(SELECT jsonb_build_object('seed', '${seed}', 'parts', jsonb_agg(md5('${seed}' || i))) FROM generate_series(1, 300) i)`;

const SOURCE_SQL = 'SELECT id::text, n::text, note, doc::text, body FROM docs ORDER BY docs.id';
const WAREHOUSE_SQL =
  'SELECT id::VARCHAR, n::VARCHAR, note, doc::VARCHAR, body FROM main.docs ORDER BY docs.id';

describe.each(EACH_MAJOR)('unchanged TOAST values through the pipeline (%s)', (_label, binaries) => {
  const cluster = useCluster({
    binaries,
    setup: async (c) => {
      await c.sql('CREATE TABLE docs (id int PRIMARY KEY, n int NOT NULL, note text, doc jsonb, body text)');
      await c.sql(
        'ALTER TABLE docs ALTER COLUMN doc SET STORAGE EXTERNAL, ALTER COLUMN body SET STORAGE EXTERNAL',
      );
    },
  });

  it('keeps > 8 kB jsonb and text exactly across 100 updates of other columns', async () => {
    const pipeline = await startPipeline(cluster());
    try {
      await cluster().sql(
        `INSERT INTO docs VALUES (1, 0, 'a', ${BIG_JSON('one')}, ${BIG_TEXT('one')}),
                                 (2, 0, 'b', ${BIG_JSON('two')}, ${BIG_TEXT('two')})`,
      );
      const [sizes] = await sourceRows(
        cluster(),
        `SELECT min(length(doc::text)), min(length(body)),
                bool_and(pg_column_size(body) >= length(body)) FROM docs`,
      );
      expect(Number(sizes?.[0])).toBeGreaterThan(8192);
      expect(Number(sizes?.[1])).toBeGreaterThan(8192);
      expect(sizes?.[2], 'stored uncompressed').toBe('true');
      // applied first, so the unchanged values must come from the warehouse, not the batch
      await pipeline.caughtUp();

      // 100 separate transactions, each updating only n (and note)
      const client = await cluster().connect();
      try {
        for (let i = 1; i <= 100; i++) {
          await client.query('UPDATE docs SET n = $1, note = $2 WHERE id = 1', [i, `sep ${i}`]);
        }
        // 100 updates in one transaction; the big text changes once in the middle
        await client.query('BEGIN');
        for (let i = 1; i <= 100; i++) {
          await client.query('UPDATE docs SET n = n + 1 WHERE id = 2');
          if (i === 50) await client.query(`UPDATE docs SET body = ${BIG_TEXT('two-changed')} WHERE id = 2`);
        }
        // and row 1 updated again in the same transaction, unchanged TOAST again
        await client.query(`UPDATE docs SET note = 'in txn' WHERE id = 1`);
        await client.query('COMMIT');
      } finally {
        await client.end();
      }
      await pipeline.caughtUp();

      const expected = await sourceRows(cluster(), SOURCE_SQL);
      expect(expected.map((r) => r.slice(0, 3))).toEqual([
        ['1', '100', 'in txn'],
        ['2', '100', 'b'],
      ]);
      const actual = await pipeline.rows(WAREHOUSE_SQL);
      expect(actual.length).toBe(expected.length);
      for (const [i, row] of expected.entries()) {
        // compare column by column so a failure does not print 50 kB
        for (const [j, value] of row.entries()) {
          expect(actual[i]?.[j] === value, `row ${i} column ${j}`).toBe(true);
        }
      }
      // the updates really did leave the big columns unsent
      const unchangedSeen = pipeline.batches
        .flat()
        .some((item) => item.kind === 'change' && item.event.unchanged.includes('body'));
      expect(unchangedSeen).toBe(true);
    } finally {
      await pipeline.stop();
    }
  });

  it('moves a row with its > 8 kB values when an update changes its key', async () => {
    const pipeline = await startPipeline(cluster());
    try {
      await cluster().sql(`INSERT INTO docs VALUES (11, 0, 'a', ${BIG_JSON('k1')}, ${BIG_TEXT('k1')}),
                                                   (12, 0, 'b', ${BIG_JSON('k2')}, ${BIG_TEXT('k2')})`);
      await pipeline.caughtUp();
      // the stored rows move: Postgres sends the key change with the big values unchanged
      await cluster().sql('UPDATE docs SET id = id + 100, n = 1 WHERE id IN (11, 12)');
      // and two rows swap keys in one transaction, through a third
      await cluster().sql(`BEGIN;
        UPDATE docs SET id = 999 WHERE id = 111;
        UPDATE docs SET id = 111 WHERE id = 112;
        UPDATE docs SET id = 112 WHERE id = 999;
        COMMIT;`);
      await pipeline.caughtUp();
      const sql = (s: string) => `${s} WHERE id > 100 ORDER BY id`;
      const expected = await sourceRows(
        cluster(),
        sql('SELECT id::text, n::text, note, md5(doc::text), md5(body) FROM docs'),
      );
      expect(expected.map((r) => r.slice(0, 3))).toEqual([
        ['111', '1', 'b'],
        ['112', '1', 'a'],
      ]);
      expect(
        await pipeline.rows(
          sql('SELECT id::VARCHAR, n::VARCHAR, note, md5(doc::VARCHAR), md5(body) FROM main.docs'),
        ),
      ).toEqual(expected);
      const moved = pipeline.batches
        .flat()
        .some(
          (item) =>
            item.kind === 'change' && item.event.before !== null && item.event.unchanged.includes('body'),
        );
      expect(moved, 'a key change sent the big value as unchanged').toBe(true);
    } finally {
      await pipeline.stop();
    }
  });
});
