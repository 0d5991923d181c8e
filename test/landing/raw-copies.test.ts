/**
 * Rows a snapshot copies, in the raw zone (raw-zone.ts, "Storage"): stored with their batch and
 * LSN only, their shared metadata once in `_tributary.raw_copies`, read through the view
 * `_tributary_raw."<name>"` as `snapshot` rows like any other; they follow renames, retypes and
 * added columns, go with retention, and a raw table written before the view is moved to it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Row, TableSchema } from '../../src/core/change-event.js';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { change, col, commit, schemaItem, T } from '../warehouse/items.js';

/** Columns with their attnums, as the source describes them (renames are told by attnum). */
const at = (attnum: number, c: ReturnType<typeof col>) => ({ ...c, attnum });
const ITEM = schemaItem([at(1, col('id', 23, true)), at(2, col('v', 25)), at(3, col('n', 23))], 'v1');
const SCHEMA = (ITEM as { schema: TableSchema }).schema;
const SEC = 1_000_000n;
const T0 = 1_700_000_000n * SEC;
const SNAPSHOT_TIME = new Date('2023-11-14T22:13:00Z');

function decode(fields: (string | null)[]): Row {
  return { id: Number(fields[0]), v: fields[1] ?? null, n: fields[2] === null ? null : Number(fields[2]) };
}

describe('rows a snapshot copied, in the raw zone', () => {
  let dir: string;
  let path: string;
  let wh: DuckDBWarehouse;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-raw-copies-'));
    path = join(dir, 'w.duckdb');
    wh = await DuckDBWarehouse.open(path, { source: 'test-source' });
  });
  afterEach(async () => {
    await wh.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const rows = async (sql: string) => (await wh.query(sql)).rows;
  const hash = async (sql: string) => rows(`SELECT count(*), bit_xor(hash(t)) FROM (${sql}) AS t`);

  /** A first-run copy of `csv` (one chunk, loaded from the file) at LSN 100. */
  async function copy(csv: string, count: number): Promise<void> {
    const job = await wh.createSnapshotJob({ table: T, predicate: null, reason: 'initial', keyless: false });
    await wh.startSnapshotAttempt(job.id, 100n, SCHEMA, [{ chunk: 0, fromPage: 0, toPage: null }], 4, {
      files: true,
    });
    const file = join(dir, 'chunk-0.csv');
    writeFileSync(file, csv);
    await wh.applySnapshotFile({
      job: job.id,
      schema: SCHEMA,
      snapshotLsn: 100n,
      snapshotTime: SNAPSHOT_TIME,
      chunk: 0,
      path: file,
      rows: count,
      decode,
    });
    await wh.finishSnapshotJob(job.id, 'done');
  }

  it('stores only their batch and LSN per row, and reads them with the metadata they share', async () => {
    await copy('1,a,10\n2,,\n3,c,30\n', 3);
    await wh.apply([change('update', 200n, 0, { row: { id: 2, v: 'b', n: 20 }, time: T0 }), commit(200n)]);
    expect(
      await rows(
        `SELECT _tributary_op, _tributary_lsn, _tributary_ordinal, _tributary_xid, _tributary_commit_time = TIMESTAMPTZ '2023-11-14 22:13:00+00',
           _tributary_source, _tributary_schema_version, _tributary_unchanged, _tributary_before, id, v, n
         FROM _tributary_raw.items ORDER BY _tributary_lsn, _tributary_ordinal, id`,
      ),
    ).toEqual([
      ['snapshot', '100', '-1', null, true, 'test-source', 'v1', [], null, 1, 'a', 10],
      ['snapshot', '100', '-1', null, true, 'test-source', 'v1', [], null, 2, null, null],
      ['snapshot', '100', '-1', null, true, 'test-source', 'v1', [], null, 3, 'c', 30],
      ['update', '200', '0', '1', false, 'test-source', 'v', [], null, 2, 'b', 20],
    ]);
    // per copied row: two metadata columns, then the row image
    expect(
      await rows(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = '_tributary_raw_copies' AND table_name = 'items' ORDER BY ordinal_position",
      ),
    ).toEqual([['_tributary_batch'], ['_tributary_lsn'], ['id'], ['v'], ['n']]);
    expect(await rows('SELECT count(*)::INTEGER FROM _tributary.raw_copies')).toEqual([[1]]);
    await wh.replay({ kind: 'end' }, 'replay');
    const live = 'SELECT id, v, n, _tributary_lsn FROM main.items';
    expect(await hash('SELECT id, v, n, _tributary_lsn FROM replay.items')).toEqual(await hash(live));
  });

  it('follows the columns renamed, retyped and added at the source', async () => {
    await copy('1,5,10\n2,b,20\n', 2);
    await wh.apply([
      change('delete', 150n, 0, { pk: { id: 2 }, time: T0 }),
      commit(150n),
      // n renamed to m (same attnum) and widened; v retyped to an integer, which the live table
      // holds exactly but not the raw zone's copy of the deleted row ('b'); w added
      schemaItem(
        [at(1, col('id', 23, true)), at(2, col('v', 23)), at(3, col('m', 20)), at(4, col('w', 25))],
        'v2',
      ),
      change('insert', 200n, 0, { row: { id: 3, v: 7, m: 2n ** 40n, w: 'new' }, time: T0 }),
      commit(200n),
    ]);
    expect(
      await rows(
        'SELECT _tributary_op, id, "v@1", v, m::VARCHAR, w FROM _tributary_raw.items ORDER BY _tributary_lsn, id',
      ),
    ).toEqual([
      ['snapshot', 1, '5', null, '10', null],
      ['snapshot', 2, 'b', null, '20', null],
      ['delete', 2, null, null, null, null],
      ['insert', 3, null, 7, '1099511627776', 'new'],
    ]);
    await wh.replay({ kind: 'end' }, 'replay');
    expect(await hash('SELECT id, v, m, w FROM replay.items')).toEqual(
      await hash('SELECT id, v, m, w FROM main.items'),
    );
    // the history view reads the copies too
    expect(
      await rows(
        'SELECT id, m::VARCHAR, is_current, is_deleted FROM _tributary_history.items ORDER BY id, valid_from',
      ),
    ).toEqual([
      [1, '10', true, false],
      [2, '20', false, false],
      [2, null, false, true],
      [3, '1099511627776', true, false],
    ]);
  });

  it('lets retention remove them, and what they shared once none is left', async () => {
    await copy('1,a,10\n2,b,20\n', 2);
    await wh.apply([
      change('update', 200n, 0, { row: { id: 1, v: 'a2', n: 11 }, time: T0 }),
      change('delete', 200n, 1, { pk: { id: 2 }, time: T0 }),
      commit(200n),
      change('insert', 300n, 0, { row: { id: 3, v: 'c', n: 30 }, time: T0 + 100n * SEC }),
      commit(300n),
    ]);
    const live = 'SELECT id, v, n, _tributary_lsn FROM main.items';
    const before = await hash(live);
    const cutoff = new Date(Number((T0 + 50n * SEC) / 1000n));
    expect(await wh.pruneRaw(cutoff)).toEqual([
      { table: { schema: 'public', name: 'items' }, removed: 4, compacted: 1 },
    ]);
    expect(await rows('SELECT count(*)::INTEGER FROM _tributary_raw_copies.items')).toEqual([[0]]);
    expect(await rows('SELECT count(*)::INTEGER FROM _tributary.raw_copies')).toEqual([[0]]);
    expect(
      await rows(
        'SELECT _tributary_op, _tributary_lsn, id, v FROM _tributary_raw.items ORDER BY _tributary_lsn',
      ),
    ).toEqual([
      ['snapshot', '200', 1, 'a2'],
      ['insert', '300', 3, 'c'],
    ]);
    await wh.replay({ kind: 'end' }, 'replay');
    expect(await hash('SELECT id, v, n, _tributary_lsn FROM replay.items')).toEqual(before);
  });

  it('moves a raw table written before the view to the view, keeping its rows', async () => {
    await copy('1,a,10\n', 1);
    await wh.apply([change('insert', 200n, 0, { row: { id: 2, v: 'b', n: 20 }, time: T0 }), commit(200n)]);
    const all =
      'SELECT _tributary_op, _tributary_lsn, _tributary_ordinal, _tributary_source, id, v, n FROM _tributary_raw.items ORDER BY _tributary_lsn, id';
    const earlier = await rows(all);
    await wh.close();
    // the layout of earlier builds: the raw table itself in _tributary_raw, metadata on every row
    {
      const { DuckDBInstance } = await import('@duckdb/node-api');
      const instance = await DuckDBInstance.create(path);
      const c = await instance.connect();
      await c.run('CREATE TABLE _tributary_raw.legacy AS SELECT * FROM _tributary_raw.items');
      await c.run('DROP VIEW _tributary_raw.items');
      await c.run('ALTER TABLE _tributary_raw.legacy RENAME TO items');
      await c.run('DROP TABLE _tributary_raw_rows.items');
      await c.run('DROP TABLE _tributary_raw_copies.items');
      await c.run('DELETE FROM _tributary.raw_copies');
      c.closeSync();
      instance.closeSync();
    }
    wh = await DuckDBWarehouse.open(path, { source: 'test-source' });
    expect(await rows(all)).toEqual(earlier); // read as it is before the writer moves it
    await wh.apply([change('insert', 300n, 0, { row: { id: 3, v: 'c', n: 30 }, time: T0 }), commit(300n)]);
    expect(await rows(all)).toEqual([...earlier, ['insert', '300', '0', 'test-source', 3, 'c', 30]]);
    expect(
      await rows(
        "SELECT table_type FROM information_schema.tables WHERE table_schema = '_tributary_raw' AND table_name = 'items'",
      ),
    ).toEqual([['VIEW']]);
    expect(await rows('SELECT count(*)::INTEGER FROM _tributary_raw_rows.items')).toEqual([[3]]);
  });
});
