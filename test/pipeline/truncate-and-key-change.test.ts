/**
 * TRUNCATE and primary-key changes through the real pipeline, folded inside one applied batch:
 * inserts before and after a TRUNCATE, TRUNCATE ... CASCADE over two tables, and updates that
 * move rows to new keys (shifts, chains A→B→C, swap-like moves through a free key). At the end
 * the warehouse equals the source, with no duplicate keys.
 */
import { describe, expect, it } from 'vitest';
import type { PostgresCluster } from '../harness/postgres.js';
import { EACH_MAJOR, useCluster } from '../harness/use-cluster.js';
import { type InProcessPipeline, runEach, sourceRows, startPipeline } from './in-process-pipeline.js';

const TABLES = {
  items: { source: 'SELECT id::text, label FROM items ORDER BY items.id', key: 'id' },
  parents: { source: 'SELECT id::text, name FROM parents ORDER BY parents.id', key: 'id' },
  children: {
    source: 'SELECT id::text, parent_id::text, name FROM children ORDER BY children.id',
    key: 'id',
  },
} as const;

async function expectSame(cluster: PostgresCluster, pipeline: InProcessPipeline): Promise<void> {
  for (const [table, { source, key }] of Object.entries(TABLES)) {
    const expected = await sourceRows(cluster, source);
    const warehouseSql = source.replaceAll('::text', '::VARCHAR').replace(` ${table} `, ` main.${table} `);
    expect(await pipeline.rows(warehouseSql), table).toEqual(expected);
    const [counts] = await pipeline.rows(
      `SELECT count(*)::VARCHAR, count(DISTINCT ${key})::VARCHAR FROM main.${table}`,
    );
    expect(counts?.[0], `${table}: duplicate keys`).toBe(counts?.[1]);
  }
}

/** How many applied batches held a truncate of `table` together with other changes of it. */
function mixedTruncateBatches(pipeline: InProcessPipeline, table: string): number {
  return pipeline.batches.filter((batch) => {
    const ops = batch.flatMap((i) =>
      i.kind === 'change' && i.event.table.name === table ? [i.event.op] : [],
    );
    const t = ops.indexOf('truncate');
    return t > 0 && ops.slice(t + 1).includes('insert');
  }).length;
}

describe.each(EACH_MAJOR)('truncate and key changes (%s)', (_label, binaries) => {
  const cluster = useCluster({
    binaries,
    setup: (c) =>
      c.sql(`
        CREATE TABLE items (id int PRIMARY KEY, label text NOT NULL);
        CREATE TABLE parents (id int PRIMARY KEY, name text NOT NULL);
        CREATE TABLE children (id int PRIMARY KEY, parent_id int NOT NULL REFERENCES parents (id), name text NOT NULL);
      `),
  });

  it('applies a TRUNCATE in the middle of a batch, and TRUNCATE ... CASCADE over two tables', async () => {
    // a long delay: everything below lands in one batch
    const pipeline = await startPipeline(cluster(), { batch: { maxDelayMs: 1_500 } });
    try {
      await runEach(cluster(), [
        `INSERT INTO items SELECT i, 'before ' || i FROM generate_series(1, 50) i`,
        `UPDATE items SET label = 'updated' WHERE id <= 10`,
        'TRUNCATE items',
        `INSERT INTO items SELECT i, 'after ' || i FROM generate_series(40, 60) i`,
        `INSERT INTO parents SELECT i, 'p' || i FROM generate_series(1, 5) i`,
        `INSERT INTO children SELECT i, 1 + i % 5, 'c' || i FROM generate_series(1, 20) i`,
      ]);
      // one transaction: changes before and after the truncate inside it
      await runEach(cluster(), [
        `BEGIN; INSERT INTO items VALUES (1000, 'gone'); TRUNCATE items; INSERT INTO items VALUES (1001, 'kept'), (40, 'again'); COMMIT`,
        'TRUNCATE parents CASCADE',
        `INSERT INTO parents VALUES (7, 'p7')`,
        `INSERT INTO children VALUES (100, 7, 'c100')`,
      ]);
      await pipeline.caughtUp();
      expect(mixedTruncateBatches(pipeline, 'items')).toBeGreaterThan(0);
      const truncates = pipeline.batches
        .flat()
        .filter((i) => i.kind === 'change' && i.event.op === 'truncate')
        .map((i) => (i.kind === 'change' ? i.event.table.name : ''));
      expect(truncates).toEqual(expect.arrayContaining(['parents', 'children']));
      await expectSame(cluster(), pipeline);
      expect(await pipeline.rows('SELECT id::VARCHAR FROM main.children')).toEqual([['100']]);
    } finally {
      await pipeline.stop();
    }
  });

  it('moves rows to new keys: shifts, chains A→B→C in one batch, swap-like moves', async () => {
    await cluster().sql('TRUNCATE items; TRUNCATE parents CASCADE');
    const pipeline = await startPipeline(cluster(), { batch: { maxDelayMs: 1_500 } });
    try {
      await runEach(cluster(), [
        `INSERT INTO items SELECT i, 'row ' || i FROM generate_series(1, 30) i`,
        // every key + 1000 in one statement
        'UPDATE items SET id = id + 1000 WHERE id <= 10',
        // a chain 11 → 12 → 13 would collide: move through free keys A→B→C across transactions
        'UPDATE items SET id = 2011 WHERE id = 11',
        'UPDATE items SET id = 3011 WHERE id = 2011',
        `UPDATE items SET id = 4011, label = 'chained' WHERE id = 3011`,
        // a chain inside one transaction
        'BEGIN; UPDATE items SET id = 2012 WHERE id = 12; UPDATE items SET id = 3012 WHERE id = 2012; COMMIT',
        // swap 20 and 21 through a free key
        'BEGIN; UPDATE items SET id = -1 WHERE id = 20; UPDATE items SET id = 20 WHERE id = 21; UPDATE items SET id = 21 WHERE id = -1; COMMIT',
        // a key reused after its row moved away, then the moved row moves back onto a freed key
        `INSERT INTO items VALUES (1, 'new one')`,
        'UPDATE items SET id = 5001 WHERE id = 1001',
        'DELETE FROM items WHERE id = 1',
        'UPDATE items SET id = 1 WHERE id = 5001',
        // a delete of a moved row
        'DELETE FROM items WHERE id = 1002',
      ]);
      await pipeline.caughtUp();
      // the chain landed in one applied batch, so the fold (not the store) had to resolve it
      const chained = pipeline.batches.some((batch) => {
        const moved = new Set(
          batch.flatMap((i) =>
            i.kind === 'change' && i.event.op === 'update' ? [String(i.event.pk?.id)] : [],
          ),
        );
        return ['2011', '3011', '4011', '1001', '5001', '1'].every((id) => moved.has(id));
      });
      expect(chained).toBe(true);
      await expectSame(cluster(), pipeline);
      const ids = (await sourceRows(cluster(), 'SELECT id::text FROM items ORDER BY items.id')).map(
        (r) => r[0],
      );
      expect(ids).toContain('4011');
      expect(ids).toContain('3012');
      expect(ids).not.toContain('11');
    } finally {
      await pipeline.stop();
    }
  });
});
