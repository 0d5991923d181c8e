import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StreamItem } from '../../src/core/change-event.js';
import { Decimal } from '../../src/core/values.js';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { change, col, commit, schemaItem } from './items.js';

const V1 = [col('id', 23, true), col('v', 25), col('big', 25)];

describe('DuckDBWarehouse', () => {
  let dir: string;
  let wh: DuckDBWarehouse;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-wh-'));
    wh = await DuckDBWarehouse.open(join(dir, 'w.duckdb'));
  });
  afterEach(async () => {
    await wh.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const rows = async (sql = 'SELECT id, v, big FROM main.items ORDER BY id') => (await wh.query(sql)).rows;

  it('applies two changes of one key in a batch as their net effect', async () => {
    const cp = await wh.apply([
      schemaItem(V1, 'v1'),
      change('insert', 10n, 0, { row: { id: 1, v: 'a', big: 'B' } }),
      change('update', 10n, 1, { row: { id: 1, v: 'b', big: 'B' } }),
      commit(10n),
    ]);
    expect(cp).toEqual({ commitLsn: 10n, ordinal: Number.MAX_SAFE_INTEGER });
    expect(await rows()).toEqual([[1, 'b', 'B']]);
    expect(await rows('SELECT _tributary_lsn FROM items')).toEqual([['10']]);
  });

  it('skips a replayed batch (checkpoint) and keeps the checkpoint across reopen', async () => {
    const batch: StreamItem[] = [
      schemaItem(V1, 'v1'),
      change('insert', 10n, 0, { row: { id: 1, v: 'a', big: 'B' } }),
      commit(10n),
    ];
    await wh.apply(batch);
    await wh.apply([change('update', 20n, 0, { row: { id: 1, v: 'later', big: 'B' } }), commit(20n)]);
    await wh.apply(batch);
    expect(await rows()).toEqual([[1, 'later', 'B']]);
    await wh.close();
    wh = await DuckDBWarehouse.open(join(dir, 'w.duckdb'));
    expect(await wh.checkpoint()).toEqual({ commitLsn: 20n, ordinal: Number.MAX_SAFE_INTEGER });
    await wh.apply(batch);
    expect(await rows()).toEqual([[1, 'later', 'B']]);
  });

  it('keeps an unchanged TOAST column across 100 updates of other columns', async () => {
    await wh.apply([
      schemaItem(V1, 'v1'),
      change('insert', 1n, 0, { row: { id: 1, v: 'a', big: 'x'.repeat(5000) } }),
    ]);
    for (let i = 0; i < 100; i++) {
      await wh.apply([
        change('update', BigInt(2 + i), 0, { row: { id: 1, v: `v${i}` }, unchanged: ['big'] }),
      ]);
    }
    expect(await rows('SELECT v, length(big) FROM items')).toEqual([['v99', '5000']]);
  });

  it('refuses an unchanged TOAST column for a row it does not hold, and rolls back', async () => {
    await wh.apply([schemaItem(V1, 'v1'), change('insert', 1n, 0, { row: { id: 1, v: 'a', big: 'B' } })]);
    await expect(
      wh.apply([
        change('insert', 2n, 0, { row: { id: 5, v: 'kept?', big: 'B' } }),
        change('update', 2n, 1, { row: { id: 2, v: 'x' }, unchanged: ['big'] }),
      ]),
    ).rejects.toThrow(/big.*does not hold|does not hold.*big/);
    expect(await rows()).toEqual([[1, 'a', 'B']]);
    expect(await wh.checkpoint()).toEqual({ commitLsn: 1n, ordinal: 0 });
  });

  it('empties a table at a truncate in the middle of a batch', async () => {
    await wh.apply([schemaItem(V1, 'v1'), change('insert', 1n, 0, { row: { id: 1, v: 'a', big: 'B' } })]);
    await wh.apply([
      change('insert', 2n, 0, { row: { id: 2, v: 'b', big: 'B' } }),
      change('truncate', 2n, 1, {}),
      change('insert', 2n, 2, { row: { id: 1, v: 'after', big: 'C' } }),
    ]);
    expect(await rows()).toEqual([[1, 'after', 'C']]);
  });

  it('moves a row whose key changed, and deletes', async () => {
    await wh.apply([
      schemaItem(V1, 'v1'),
      change('insert', 1n, 0, { row: { id: 1, v: 'a', big: 'B' } }),
      change('insert', 1n, 1, { row: { id: 2, v: 'b', big: 'B' } }),
    ]);
    await wh.apply([
      change('update', 2n, 0, { row: { id: 3, v: 'moved', big: 'B' }, before: { id: 1 } }),
      change('delete', 2n, 1, { pk: { id: 2 } }),
    ]);
    expect(await rows()).toEqual([[3, 'moved', 'B']]);
  });

  it('adds and drops columns mid-stream, recording each schema version', async () => {
    await wh.apply([schemaItem(V1, 'v1'), change('insert', 1n, 0, { row: { id: 1, v: 'a', big: 'B' } })]);
    await wh.apply([
      schemaItem([...V1, col('n', 1700, false, ((10 << 16) | 2) + 4)], 'v2'),
      change('insert', 2n, 0, { row: { id: 2, v: 'b', big: 'B', n: new Decimal('12.50') } }),
      schemaItem([col('id', 23, true), col('v', 25), col('n', 1700, false, ((10 << 16) | 2) + 4)], 'v3'),
      change('update', 3n, 0, { row: { id: 1, v: 'c', n: null } }),
    ]);
    const result = await wh.query(
      'SELECT * EXCLUDE (_tributary_lsn, _tributary_synced_at) FROM items ORDER BY id',
    );
    expect(result.columns).toEqual(['id', 'v', 'n']);
    expect(result.rows).toEqual([
      [1, 'c', null],
      [2, 'b', '12.50'],
    ]);
    expect(await rows('SELECT version FROM _tributary.schema_versions ORDER BY recorded_at, rowid')).toEqual([
      ['v1'],
      ['v2'],
      ['v3'],
    ]);
  });

  it('retypes a column when every value converts exactly, and refuses otherwise', async () => {
    await wh.apply([
      schemaItem([col('id', 23, true), col('n', 21)], 'a'),
      change('insert', 1n, 0, { row: { id: 1, n: 7 } }),
    ]);
    await wh.apply([
      schemaItem([col('id', 23, true), col('n', 20)], 'b'),
      change('insert', 2n, 0, { row: { id: 2, n: 2n ** 40n } }),
    ]);
    expect(await rows('SELECT id, n FROM items ORDER BY id')).toEqual([
      [1, '7'],
      [2, '1099511627776'],
    ]);
    await expect(wh.apply([schemaItem([col('id', 23, true), col('n', 21)], 'c')])).rejects.toThrow(
      /n: its type changed/,
    );
  });

  it('merges rows taken from the raw stage beside rows merged from two changes of a key', async () => {
    // upserts whose row an event carried come from the raw zone's stage in SQL; a key changed
    // twice in the batch (its row merged in JavaScript) is appended: both in one group
    await wh.apply([
      schemaItem([col('id', 23, true), col('v', 25), col('big', 25)], 'a'),
      change('insert', 1n, 0, { row: { id: 1, v: 'a', big: 'B1' } }),
      change('insert', 1n, 1, { row: { id: 2, v: 'b', big: 'B2' } }),
      change('insert', 1n, 2, { row: { id: 3, v: 'c', big: 'B3' } }),
      commit(1n),
    ]);
    await wh.apply([
      change('update', 2n, 0, { row: { id: 1, v: 'a2' }, unchanged: ['big'] }),
      change('update', 2n, 1, { row: { id: 2, v: 'b2' }, unchanged: ['big'] }),
      change('update', 2n, 2, { row: { id: 2, v: 'b3' }, unchanged: ['big'] }),
      change('insert', 2n, 3, { row: { id: 4, v: 'd', big: 'B4' } }),
      change('update', 2n, 4, { row: { id: 3, v: 'c2', big: 'N3' } }),
      change('update', 2n, 5, { row: { id: 3, v: 'c3' }, unchanged: ['big'] }),
      commit(2n),
    ]);
    expect(await rows('SELECT id, v, big, _tributary_lsn FROM items ORDER BY id')).toEqual([
      [1, 'a2', 'B1', '2'],
      [2, 'b3', 'B2', '2'],
      [3, 'c3', 'N3', '2'],
      [4, 'd', 'B4', '2'],
    ]);
  });

  it('retypes a column after the rows whose values would not convert were deleted', async () => {
    // the usual clean-up before `ALTER COLUMN code TYPE integer USING code::integer` at the
    // source: DuckDB's ALTER also converts rows deleted since its storage was last rewritten
    await wh.apply([
      schemaItem([col('id', 23, true), col('code', 25)], 'a'),
      change('insert', 1n, 0, { row: { id: 1, code: '12' } }),
      change('insert', 1n, 1, { row: { id: 2, code: 'n/a' } }),
      commit(1n),
    ]);
    await wh.apply([change('delete', 2n, 0, { pk: { id: 2 } }), commit(2n)]);
    await wh.apply([
      schemaItem([col('id', 23, true), col('code', 23)], 'b'),
      change('insert', 3n, 0, { row: { id: 3, code: 7 } }),
      commit(3n),
    ]);
    expect(await rows('SELECT id, code FROM items ORDER BY id')).toEqual([
      [1, 12],
      [3, 7],
    ]);
  });

  // to JSON the table is rebuilt from its live rows: DuckDB cannot replay a JSON cast in
  // `USING` from its WAL, and a plain ALTER converts the deleted rows too
  it('retypes text to json after the rows that were not JSON were deleted', async () => {
    await wh.apply([
      schemaItem([col('id', 23, true), col('doc', 25)], 'a'),
      change('insert', 1n, 0, { row: { id: 1, doc: '{"a": 1}' } }),
      change('insert', 1n, 1, { row: { id: 2, doc: 'not json' } }),
      commit(1n),
    ]);
    await wh.apply([change('delete', 2n, 0, { pk: { id: 2 } }), commit(2n)]);
    await wh.apply([schemaItem([col('id', 23, true), col('doc', 3802)], 'b'), commit(3n)]);
    expect(await rows('SELECT id, doc FROM items ORDER BY id')).toEqual([[1, '{"a": 1}']]);
  });

  it('widens DECIMAL to VARCHAR on NaN, and keeps it widened when the source retypes the column', async () => {
    const numeric = (p: number, sc: number) => (p << 16) + sc + 4;
    await wh.apply([
      schemaItem([col('id', 23, true), col('x', 1700, false, numeric(6, 2))], 'a'),
      change('insert', 1n, 0, { row: { id: 1, x: new Decimal('12.50') } }),
      change('insert', 1n, 1, { row: { id: 2, x: new Decimal('NaN') } }),
      commit(1n, 2),
    ]);
    expect(
      await rows(
        "SELECT data_type FROM information_schema.columns WHERE table_schema = 'main' AND column_name = 'x'",
      ),
    ).toEqual([['VARCHAR']]);
    await wh.apply([
      schemaItem([col('id', 23, true), col('x', 1700, false, numeric(8, 2))], 'b'),
      change('insert', 2n, 0, { row: { id: 3, x: new Decimal('123456.78') } }),
      commit(2n),
    ]);
    expect(await rows('SELECT id, x FROM items ORDER BY id')).toEqual([
      [1, '12.50'],
      [2, 'NaN'],
      [3, '123456.78'],
    ]);
    expect(await wh.checkpoint()).toEqual({ commitLsn: 2n, ordinal: Number.MAX_SAFE_INTEGER });
  });

  it('widens a numeric(p,p) column to the text Postgres prints (0.5000, not .5000)', async () => {
    const numeric = (p: number, sc: number) => (p << 16) + sc + 4;
    await wh.apply([
      schemaItem([col('id', 23, true), col('x', 1700, false, numeric(4, 4))], 'a'),
      change('insert', 1n, 0, { row: { id: 1, x: new Decimal('0.5000') } }),
      change('insert', 1n, 1, { row: { id: 2, x: new Decimal('-0.0100') } }),
      commit(1n, 2),
    ]);
    await wh.apply([change('insert', 2n, 0, { row: { id: 3, x: new Decimal('NaN') } }), commit(2n)]);
    expect(await rows('SELECT id, x FROM items ORDER BY id')).toEqual([
      [1, '0.5000'],
      [2, '-0.0100'],
      [3, 'NaN'],
    ]);
  });

  it('widens a LIST to JSON so that a file copied before close (kill -9) still opens', async () => {
    const v1 = [col('id', 23, true), col('a', 1007), col('n', 23)];
    await wh.apply([
      schemaItem(v1, 'a'),
      change('insert', 1n, 0, { row: { id: 1, a: [1, 2], n: 1 } }),
      commit(1n),
    ]);
    // a two-dimensional value does not fit INTEGER[]: the column widens to JSON
    await wh.apply([
      change('insert', 2n, 0, {
        row: {
          id: 2,
          a: [
            [1, 2],
            [3, 4],
          ],
          n: 2,
        },
      }),
      commit(2n),
    ]);
    // the state a kill -9 leaves: database file and WAL as they are, no checkpoint at close
    for (const suffix of ['', '.wal'])
      copyFileSync(join(dir, `w.duckdb${suffix}`), join(dir, `crash.duckdb${suffix}`));
    const reopened = await DuckDBWarehouse.open(join(dir, 'crash.duckdb'));
    try {
      expect((await reopened.query('SELECT id, a::VARCHAR, n FROM items ORDER BY id')).rows).toEqual([
        [1, '[1,2]', 1],
        [2, '[[1,2],[3,4]]', 2],
      ]);
      expect(
        (
          await reopened.query(
            "SELECT data_type FROM information_schema.columns WHERE table_schema = 'main' AND column_name = 'a'",
          )
        ).rows,
      ).toEqual([['JSON']]);
    } finally {
      await reopened.close();
    }
  });

  it('creates widened a column added in the same batch that created its table and brought NaN', async () => {
    const numeric = (p: number, sc: number) => (p << 16) + sc + 4;
    const v1 = [col('id', 23, true), col('x', 1700, false, numeric(6, 2))];
    await wh.apply([
      schemaItem(v1, 'a'),
      change('insert', 1n, 0, { row: { id: 1, x: new Decimal('NaN') } }),
      schemaItem([...v1, col('y', 1700, false, numeric(6, 2))], 'b'),
      change('insert', 2n, 0, { row: { id: 2, x: new Decimal('1.00'), y: new Decimal('NaN') } }),
      commit(2n),
    ]);
    expect(await rows('SELECT id, x, y FROM items ORDER BY id')).toEqual([
      [1, 'NaN', null],
      [2, '1.00', 'NaN'],
    ]);
    const notes = await rows(
      `SELECT version, json_extract(columns, '$.createdWidened')::VARCHAR FROM _tributary.schema_versions ORDER BY recorded_at, rowid`,
    );
    expect(notes).toEqual([
      ['a', '{"x":"VARCHAR"}'],
      ['b', '{"y":"VARCHAR"}'],
    ]);
  });

  it('creates two columns widened when the batch that creates the table brings unfit values for both', async () => {
    const numeric = (p: number, sc: number) => (p << 16) + sc + 4;
    await wh.apply([
      schemaItem([col('id', 23, true), col('x', 1700, false, numeric(6, 2)), col('g', 1007)], 'a'),
      change('insert', 1n, 0, { row: { id: 1, x: new Decimal('NaN'), g: [1, null] } }),
      change('insert', 1n, 1, {
        row: {
          id: 2,
          x: new Decimal('2.00'),
          g: [
            [1, 2],
            [3, 4],
          ],
        },
      }),
      commit(1n, 2),
    ]);
    expect(await rows('SELECT id, x, g::VARCHAR FROM items ORDER BY id')).toEqual([
      [1, 'NaN', '[1,null]'],
      [2, '2.00', '[[1,2],[3,4]]'],
    ]);
  });

  it("writes a new file in DuckDB 1.3's storage format, and keeps an older file's format", async () => {
    const storageVersion = async (path: string) => {
      const instance = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' });
      try {
        const connection = await instance.connect();
        const reader = await connection.runAndReadAll(
          'SELECT tags::VARCHAR FROM duckdb_databases() WHERE database_name = current_database()',
        );
        connection.closeSync();
        return String(reader.getRows()[0]?.[0]);
      } finally {
        instance.closeSync();
      }
    };
    await wh.apply([
      schemaItem(V1, 'v1'),
      change('insert', 10n, 0, { row: { id: 1, v: 'a', big: 'B' } }),
      commit(10n),
    ]);
    await wh.close();
    expect(await storageVersion(join(dir, 'w.duckdb'))).toContain('storage_version=v1.3.0');
    // a file an earlier build created (DuckDB's default format) is written on in its own format
    const older = join(dir, 'older.duckdb');
    const instance = await DuckDBInstance.create(older);
    instance.closeSync();
    wh = await DuckDBWarehouse.open(older);
    await wh.apply([
      schemaItem(V1, 'v1'),
      change('insert', 10n, 0, { row: { id: 1, v: 'a', big: 'B' } }),
      commit(10n),
    ]);
    await wh.close();
    expect(await storageVersion(older)).toContain('storage_version=v1.0.0');
    wh = await DuckDBWarehouse.open(older);
    expect(await rows()).toEqual([[1, 'a', 'B']]);
  });

  it('maps public to main and other schemas to their own name, names kept as they are', async () => {
    const odd = { schema: 'Sales Dept', name: 'Order "Items"' };
    await wh.apply([
      schemaItem([col('id', 23, true), col('Weird Col', 25)], 'o', odd),
      change('insert', 1n, 0, { row: { id: 1, 'Weird Col': 'ok' } }, odd),
    ]);
    expect(await rows('SELECT "Weird Col" FROM "Sales Dept"."Order ""Items"""')).toEqual([['ok']]);
  });
});
