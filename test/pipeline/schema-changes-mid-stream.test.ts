/**
 * DDL while the pipeline runs, with no restart: ADD COLUMN with a DEFAULT, DROP COLUMN, type
 * changes that convert exactly (int → bigint, varchar(10) → text, numeric(10,2) →
 * numeric(12,2)), and one that cannot (text → int, where a stored value is not an int). Each
 * new shape is a new row of `_tributary.schema_versions`.
 *
 * What the warehouse does, and the gaps only a backfill repairs (shown repaired here):
 * - Postgres sends no change for existing rows when a column is added, whatever its DEFAULT.
 *   A constant default lives in the catalog (pg_attribute.attmissingval): the source reads it
 *   with the Relation message and the warehouse fills it into the rows it already held. A
 *   volatile default (gen_random_uuid(), a sequence) rewrites the table with a value per row
 *   that neither the WAL nor the catalog carries: those rows stay NULL until they change or the
 *   table is backfilled. The tests assert both explicitly.
 * - A retype is applied in place (ALTER COLUMN ... TYPE) only when every stored value converts
 *   exactly and back; otherwise the batch fails, naming the column and the recovery (drop the
 *   warehouse table and backfill), the pipeline stops, and nothing at or past the failing change
 *   is acknowledged. A USING clause that rewrites values (USING a * 10) is invisible to logical
 *   decoding: the warehouse keeps the converted old values — also a case for backfill.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { StreamItem } from '../../src/core/change-event.js';
import { TributaryError } from '../../src/core/errors.js';
import { parseLsn } from '../../src/core/lsn.js';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { EACH_MAJOR, useCluster } from '../harness/use-cluster.js';
import { change, col, commit, schemaItem } from '../warehouse/items.js';
import { sourceRows, startPipeline } from './in-process-pipeline.js';

const COLUMNS_SQL = (table: string) =>
  `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'main' AND table_name = '${table}' AND column_name NOT LIKE '_tributary%' ORDER BY column_name`;

describe.each(EACH_MAJOR)('schema changes while the pipeline runs (%s)', (_label, binaries) => {
  const cluster = useCluster({
    binaries,
    setup: (c) =>
      c.sql(
        `CREATE TABLE evolving (id int PRIMARY KEY, a int, v varchar(10), amount numeric(10,2), t text, gone text);
         CREATE TABLE retyped (id int PRIMARY KEY, t text);
         CREATE TABLE defaults (id int PRIMARY KEY)`,
      ),
  });

  it('adds, drops and retypes columns in place, one schema version each', async () => {
    const pipeline = await startPipeline(cluster(), { tables: [{ schema: 'public', name: 'evolving' }] });
    try {
      const sql = (text: string) => cluster().sql(text);
      await sql(`INSERT INTO evolving VALUES (1, 10, 'ten', 1.50, 'x', 'g1'), (2, 20, 'twenty', 2.25, 'y', 'g2'),
                                             (3, 30, 'thirty', 3.00, 'z', 'g3')`);
      await pipeline.caughtUp();

      await sql(`ALTER TABLE evolving ADD COLUMN extra text DEFAULT 'dflt'`);
      await sql(`INSERT INTO evolving (id, a, v, amount, t, gone) VALUES (4, 40, 'forty', 4.75, 'w', 'g4')`);
      await sql(`UPDATE evolving SET a = 11 WHERE id = 1`);
      await pipeline.caughtUp();

      await sql('ALTER TABLE evolving DROP COLUMN gone');
      await sql(`INSERT INTO evolving (id, a, v, amount, t) VALUES (5, 50, 'fifty', 5.05, 'u')`);
      await pipeline.caughtUp();

      await sql('ALTER TABLE evolving ALTER COLUMN a TYPE bigint');
      await sql(`UPDATE evolving SET a = 9000000000 WHERE id = 2`);
      await sql('ALTER TABLE evolving ALTER COLUMN v TYPE text');
      await sql(`UPDATE evolving SET v = 'now longer than ten' WHERE id = 3`);
      await sql('ALTER TABLE evolving ALTER COLUMN amount TYPE numeric(12,2)');
      await sql(`UPDATE evolving SET amount = 1234567890.12 WHERE id = 4`);
      await pipeline.caughtUp();

      // every row changed after the ADD COLUMN, so each was re-sent with `extra` (rows that did
      // not change keep NULL: the next test asserts that gap)
      const expected = await sourceRows(
        cluster(),
        'SELECT id::text, a::text, v, amount::text, t, extra FROM evolving ORDER BY evolving.id',
      );
      expect(expected.map((r) => r[5])).toEqual(['dflt', 'dflt', 'dflt', 'dflt', 'dflt']);
      expect(
        await pipeline.rows(
          'SELECT id::VARCHAR, a::VARCHAR, v, amount::VARCHAR, t, extra FROM main.evolving ORDER BY evolving.id',
        ),
      ).toEqual(expected);

      expect(await pipeline.rows(COLUMNS_SQL('evolving'))).toEqual([
        ['a', 'BIGINT'],
        ['amount', 'DECIMAL(12,2)'],
        ['extra', 'VARCHAR'],
        ['id', 'INTEGER'],
        ['t', 'VARCHAR'],
        ['v', 'VARCHAR'],
      ]);

      const versions = await pipeline.rows(
        `SELECT version, columns::VARCHAR FROM _tributary.schema_versions WHERE table_name = 'evolving' ORDER BY recorded_at, rowid`,
      );
      const shapes = versions.map((v) =>
        (JSON.parse(v[1] ?? '{}') as { columns: { name: string; typeOid: number }[] }).columns
          .map((c) => `${c.name}:${c.typeOid}`)
          .join(' '),
      );
      expect(shapes).toEqual([
        'id:23 a:23 v:1043 amount:1700 t:25 gone:25',
        'id:23 a:23 v:1043 amount:1700 t:25 gone:25 extra:25',
        'id:23 a:23 v:1043 amount:1700 t:25 extra:25',
        'id:23 a:20 v:1043 amount:1700 t:25 extra:25',
        'id:23 a:20 v:25 amount:1700 t:25 extra:25',
        'id:23 a:20 v:25 amount:1700 t:25 extra:25', // numeric(10,2) → (12,2): same OID, new modifier
      ]);
      expect(new Set(versions.map((v) => v[0])).size).toBe(6);
    } finally {
      await pipeline.stop();
    }
  });

  it('fills rows stored before ADD COLUMN with its constant default, whatever its type', async () => {
    const pipeline = await startPipeline(cluster(), {
      slot: 'defaults',
      tables: [{ schema: 'public', name: 'defaults' }],
    });
    const added = [
      `n int NOT NULL DEFAULT 42`,
      `quoted text DEFAULT 'he said "hi", {x}'`,
      `null_word text DEFAULT 'NULL'`,
      `empty text DEFAULT ''`,
      `amount numeric(5,2) DEFAULT 12.5`,
      `nan numeric DEFAULT 'NaN'`,
      `at_time timestamptz DEFAULT '2024-02-29 12:34:56.789012+05:30'`,
      `doc jsonb DEFAULT '{"a": [1, 2], "b": "x"}'`,
      `ints int[] DEFAULT '{1,NULL,3}'`,
      `day date DEFAULT now()`, // stable, not volatile: evaluated once, kept in the catalog
      `nothing text DEFAULT NULL`,
      `later_default text`,
    ];
    try {
      await cluster().sql(`INSERT INTO defaults VALUES (1), (2)`);
      await pipeline.caughtUp();
      await cluster().sql(`ALTER TABLE defaults ${added.map((a) => `ADD COLUMN ${a}`).join(', ')}`);
      await cluster().sql(`ALTER TABLE defaults ALTER COLUMN later_default SET DEFAULT 'not for old rows'`);
      await cluster().sql(`INSERT INTO defaults (id, n, quoted) VALUES (3, 7, 'new')`);
      await pipeline.caughtUp();
      const expected = await sourceRows(
        cluster(),
        `SELECT id::text, n::text, quoted, null_word, empty, amount::text, nan::text,
                to_char(at_time AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), doc::text,
                array_to_json(ints)::text, day::text, nothing, later_default FROM defaults ORDER BY id`,
      );
      expect(expected[0]?.slice(1)).toEqual([
        '42',
        'he said "hi", {x}',
        'NULL',
        '',
        '12.50',
        'NaN',
        '2024-02-29 07:04:56.789012',
        '{"a": [1, 2], "b": "x"}',
        '[1,null,3]',
        expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
        null,
        null,
      ]);
      expect(
        await pipeline.rows(
          `SELECT id::VARCHAR, n::VARCHAR, quoted, null_word, empty, amount::VARCHAR, nan,
                  strftime(at_time AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S.%f'), doc, to_json(ints)::VARCHAR,
                  day::VARCHAR, nothing, later_default FROM main.defaults ORDER BY id`,
        ),
      ).toEqual(expected);
      const [version] = await pipeline.rows(
        `SELECT json_extract(columns, '$.missingValues')::VARCHAR FROM _tributary.schema_versions
          WHERE table_name = 'defaults' ORDER BY recorded_at DESC, rowid DESC LIMIT 1`,
      );
      expect(JSON.parse(version?.[0] ?? '{}')).toMatchObject({
        n: 42,
        quoted: 'he said "hi", {x}',
        nan: 'NaN',
      });
    } finally {
      await pipeline.stop();
    }
  });

  it('gaps a backfill repairs: a volatile ADD COLUMN default is not seen for old rows; nor is a USING rewrite', async () => {
    const pipeline = await startPipeline(cluster(), {
      slot: 'gap',
      tables: [{ schema: 'public', name: 'retyped' }],
      snapshot: { mode: 'never' },
    });
    const retyped = { schema: 'public', name: 'retyped' };
    try {
      await cluster().sql(`INSERT INTO retyped VALUES (1, '1'), (2, '2')`);
      await pipeline.caughtUp();
      // volatile: Postgres rewrites the table with a value per row; the WAL has no change for it
      await cluster().sql(`ALTER TABLE retyped ADD COLUMN flag text NOT NULL DEFAULT md5(random()::text)`);
      await cluster().sql(`INSERT INTO retyped VALUES (3, '3', 'off')`);
      await pipeline.caughtUp();
      const flags = await sourceRows(cluster(), 'SELECT id::text, flag FROM retyped ORDER BY retyped.id');
      expect(flags.map((r) => r[1] !== null)).toEqual([true, true, true]);
      // the warehouse differs from the source for rows 1 and 2 until a backfill
      expect(await pipeline.rows('SELECT id::VARCHAR, flag FROM main.retyped ORDER BY retyped.id')).toEqual([
        ['1', null],
        ['2', null],
        ['3', 'off'],
      ]);
      await cluster().sql(`UPDATE retyped SET t = t WHERE id = 1`);
      await pipeline.caughtUp();
      expect(await pipeline.rows('SELECT id::VARCHAR, flag FROM main.retyped ORDER BY retyped.id')).toEqual([
        ['1', flags[0]?.[1]],
        ['2', null],
        ['3', 'off'],
      ]);
      // a backfill re-reads the rows: every flag as the source has it
      await pipeline.runner().request(retyped, null, 'volatile default');
      await pipeline.jobsDone(1);
      expect(await pipeline.rows('SELECT id::VARCHAR, flag FROM main.retyped ORDER BY retyped.id')).toEqual(
        flags,
      );
      await cluster().sql('ALTER TABLE retyped DROP COLUMN flag');

      // a retype whose USING rewrites values: logical decoding sends nothing for the rewrite, so
      // the warehouse keeps the old values converted as they were (known gap: backfill)
      await cluster().sql('ALTER TABLE retyped ADD COLUMN n int');
      await cluster().sql('UPDATE retyped SET n = id');
      await pipeline.caughtUp();
      await cluster().sql('ALTER TABLE retyped ALTER COLUMN n TYPE bigint USING n * 10');
      await cluster().sql(`INSERT INTO retyped VALUES (4, '4', 40)`);
      await pipeline.caughtUp();
      expect(
        await sourceRows(cluster(), 'SELECT id::text, n::text FROM retyped ORDER BY retyped.id'),
      ).toEqual([
        ['1', '10'],
        ['2', '20'],
        ['3', '30'],
        ['4', '40'],
      ]);
      expect(
        await pipeline.rows('SELECT id::VARCHAR, n::VARCHAR FROM main.retyped ORDER BY retyped.id'),
      ).toEqual([
        ['1', '1'],
        ['2', '2'],
        ['3', '3'],
        ['4', '40'],
      ]);
      // and a backfill brings the rewritten values
      await pipeline.runner().request(retyped, 'id <= 3', 'USING rewrite');
      await pipeline.jobsDone(2);
      expect(
        await pipeline.rows('SELECT id::VARCHAR, n::VARCHAR FROM main.retyped ORDER BY retyped.id'),
      ).toEqual([
        ['1', '10'],
        ['2', '20'],
        ['3', '30'],
        ['4', '40'],
      ]);
      await cluster().sql('ALTER TABLE retyped DROP COLUMN n');
    } finally {
      await pipeline.stop();
    }
  });

  it('stops with a clear error on a retype the stored values cannot follow, acknowledging nothing past it', async () => {
    const pipeline = await startPipeline(cluster(), {
      slot: 'stops',
      tables: [{ schema: 'public', name: 'retyped' }],
    });
    let stopped = false;
    try {
      await cluster().sql(`INSERT INTO retyped VALUES (10, 'not a number'), (11, '42')`);
      await pipeline.caughtUp();
      await cluster().sql(
        `ALTER TABLE retyped ALTER COLUMN t TYPE int USING (CASE WHEN t ~ '^[0-9]+$' THEN t::int END)`,
      );
      await cluster().sql('UPDATE retyped SET t = 43 WHERE id = 11');
      const result = await pipeline.done;
      stopped = true;
      const error = result.error;
      expect(error).toBeInstanceOf(TributaryError);
      const message = (error as TributaryError).message;
      expect(message).toMatch(/retyped\.t/);
      expect(message).toMatch(/VARCHAR to INTEGER/);
      expect((error as TributaryError).hint ?? '').toMatch(/backfill/);

      // the failing batch is the one holding the update; nothing of it is acknowledged or applied
      const failing = pipeline.batches.at(-1) ?? [];
      const update = failing.find((i) => i.kind === 'change' && i.event.op === 'update');
      expect(update?.kind).toBe('change');
      const commitLsn = update?.kind === 'change' ? update.event.position.commitLsn : 0n;
      const checkpoint = await pipeline.warehouse.checkpoint();
      expect((checkpoint?.commitLsn ?? 0n) < commitLsn).toBe(true);
      const [slot] = await cluster().sql<{ confirmed: string }>(
        `SELECT confirmed_flush_lsn::text AS confirmed FROM pg_replication_slots WHERE slot_name = 'stops'`,
      );
      expect(parseLsn(slot?.confirmed ?? '0/0') < commitLsn).toBe(true);
      expect(
        await pipeline.rows('SELECT id::VARCHAR, t FROM main.retyped WHERE id >= 10 ORDER BY retyped.id'),
      ).toEqual([
        ['10', 'not a number'],
        ['11', '42'],
      ]);
    } finally {
      await pipeline.stop().catch((error: unknown) => {
        if (!stopped) throw error;
      });
    }
  });
});

describe('a schema change after updates of the same table in one batch', () => {
  it('applies (DuckDB cannot commit an ALTER after an UPDATE of the table in one transaction)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-alter-'));
    const path = join(dir, 'w.duckdb');
    let wh = await DuckDBWarehouse.open(path);
    try {
      const v1 = [col('id', 23, true), col('a', 23), col('v', 25)];
      const v2 = [col('id', 23, true), col('a', 20), col('v', 25)];
      const v3 = [col('id', 23, true), col('a', 20)];
      await wh.apply([
        schemaItem(v1, 'v1'),
        change('insert', 10n, 0, { row: { id: 1, a: 1, v: 'x' } }),
        commit(10n),
      ]);
      const batch: StreamItem[] = [
        change('update', 20n, 0, { row: { id: 1, a: 2, v: 'y' } }),
        change('delete', 20n, 1, { pk: { id: 9 } }),
        commit(20n, 2),
        schemaItem(v2, 'v2'),
        change('update', 30n, 0, { row: { id: 1, a: 9_000_000_000n, v: 'z' } }),
        commit(30n),
        schemaItem(v3, 'v3'),
        change('insert', 40n, 0, { row: { id: 2, a: 5n } }),
        commit(40n),
      ];
      const checkpoint = await wh.apply(batch);
      expect(checkpoint?.commitLsn).toBe(40n);
      const expected = [
        ['1', '9000000000'],
        ['2', '5'],
      ];
      const read = async () =>
        (await wh.query('SELECT id::VARCHAR, a::VARCHAR FROM main.items ORDER BY items.id')).rows;
      expect(await read()).toEqual(expected);
      // replaying the batch (a crash before the acknowledgement) changes nothing
      await wh.close();
      wh = await DuckDBWarehouse.open(path);
      await wh.apply(batch);
      expect(await read()).toEqual(expected);
    } finally {
      await wh.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
