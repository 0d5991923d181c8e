/**
 * A table without a primary key, with REPLICA IDENTITY FULL, holding identical rows (an event
 * log): the warehouse must equal the source as a multiset. One copy of a duplicate is deleted
 * and one updated by `ctid`, in the batch that inserted them and in later ones, with NULLs and
 * an out-of-line TOASTed value that an update leaves unchanged; a statement that updates every
 * copy at once changes every copy.
 */
import { describe, expect, it } from 'vitest';
import type { PostgresCluster } from '../harness/postgres.js';
import { EACH_MAJOR, useCluster } from '../harness/use-cluster.js';
import { type InProcessPipeline, runEach, sourceRows, startPipeline } from './in-process-pipeline.js';

/** ~12.8 kB of incompressible text: md5s concatenated. */
const BIG_TEXT = (seed: string) =>
  `(SELECT string_agg(md5('${seed}' || i), '') FROM generate_series(1, 400) i)`;

/** One copy of the first row that matches `where`, chosen by ctid. */
const oneCopy = (where: string) => `ctid = (SELECT ctid FROM events WHERE ${where} LIMIT 1)`;

/** Each distinct row with its number of copies, sorted. */
function multiset(rows: (string | null)[][]): string[] {
  const counts = new Map<string, number>();
  for (const row of rows) {
    const k = JSON.stringify(row);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts].map(([row, n]) => `${n} × ${row}`).sort();
}

async function expectSameMultiset(cluster: PostgresCluster, pipeline: InProcessPipeline): Promise<string[]> {
  const source = multiset(
    await sourceRows(cluster, 'SELECT kind, n::text, note, amount::text, md5(body) FROM events'),
  );
  const warehouse = multiset(
    await pipeline.rows('SELECT kind, n::VARCHAR, note, amount::VARCHAR, md5(body) FROM main.events'),
  );
  expect(warehouse).toEqual(source);
  return source;
}

describe.each(EACH_MAJOR)('duplicate rows in a table without a key (%s)', (_label, binaries) => {
  const cluster = useCluster({
    binaries,
    setup: (c) =>
      c.sql(`
        CREATE TABLE events (kind text NOT NULL, n int, note text, amount numeric(10,2), body text);
        ALTER TABLE events ALTER COLUMN body SET STORAGE EXTERNAL;
        ALTER TABLE events REPLICA IDENTITY FULL;
      `),
  });

  it('keeps the warehouse equal to the source as a multiset', async () => {
    // a long delay: the first group of statements lands in one batch
    const pipeline = await startPipeline(cluster(), { batch: { maxDelayMs: 1_500 } });
    try {
      await runEach(cluster(), [
        `INSERT INTO events VALUES ('click', 1, NULL, 1.50, NULL), ('click', 1, NULL, 1.50, NULL),
                                   ('click', 1, NULL, 1.50, NULL), ('view', NULL, NULL, NULL, NULL)`,
        `INSERT INTO events VALUES ('view', NULL, NULL, NULL, NULL), ('view', NULL, NULL, NULL, NULL)`,
        `INSERT INTO events SELECT 'doc', 7, 'big', 0, ${BIG_TEXT('doc')} FROM generate_series(1, 2)`,
        `DELETE FROM events WHERE ${oneCopy("kind = 'click'")}`,
        `UPDATE events SET n = 2 WHERE ${oneCopy("kind = 'click' AND n = 1")}`,
        `DELETE FROM events WHERE ${oneCopy("kind = 'view'")}`,
        // the TOASTed body is not sent: the source fills it from the old row
        `UPDATE events SET note = 'touched' WHERE ${oneCopy("kind = 'doc'")}`,
        // inserted and deleted again in one transaction
        `BEGIN; INSERT INTO events VALUES ('tmp', 0, NULL, NULL, NULL), ('tmp', 0, NULL, NULL, NULL);
         DELETE FROM events WHERE ${oneCopy("kind = 'tmp'")}; COMMIT`,
      ]);
      await pipeline.caughtUp();
      const inOneBatch = pipeline.batches.some((batch) => {
        const ops = batch.flatMap((i) => (i.kind === 'change' ? [i.event.op] : []));
        return ops.includes('insert') && ops.includes('delete') && ops.includes('update');
      });
      expect(inOneBatch, 'inserts, deletes and updates folded in one batch').toBe(true);
      const first = await expectSameMultiset(cluster(), pipeline);
      const copies = (row: (string | null)[]) => first.find((e) => e.endsWith(JSON.stringify(row)));
      expect(copies(['click', '1', null, '1.50', null])).toMatch(/^1 × /);
      expect(copies(['click', '2', null, '1.50', null])).toMatch(/^1 × /);
      expect(copies(['view', null, null, null, null])).toMatch(/^2 × /);
      expect(copies(['tmp', '0', null, null, null])).toMatch(/^1 × /);
      expect(first.filter((e) => e.includes('"doc"')).map((e) => e.slice(0, 4))).toEqual(['1 × ', '1 × ']);

      // later batches: the copies are in the warehouse, no longer in the batch
      await runEach(cluster(), [
        `DELETE FROM events WHERE ${oneCopy("kind = 'view'")}`,
        `UPDATE events SET amount = 2.25 WHERE ${oneCopy("kind = 'click' AND n = 1")}`,
        `INSERT INTO events VALUES ('click', 2, NULL, 1.50, NULL)`,
        `UPDATE events SET note = 'all' WHERE kind = 'click'`,
        `UPDATE events SET n = 8 WHERE ${oneCopy("kind = 'doc' AND note = 'big'")}`,
      ]);
      await pipeline.caughtUp();
      const final = await expectSameMultiset(cluster(), pipeline);
      expect(final).toContain(`2 × ${JSON.stringify(['click', '2', 'all', '1.50', null])}`);
      expect(final).toContain(`1 × ${JSON.stringify(['view', null, null, null, null])}`);
      expect(
        await pipeline.rows("SELECT count(*) FROM main.events WHERE kind = 'doc' AND length(body) > 8192"),
      ).toEqual([['2']]);
    } finally {
      await pipeline.stop();
    }
  });
});
