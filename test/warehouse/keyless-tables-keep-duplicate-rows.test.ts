/**
 * A table without a primary key (REPLICA IDENTITY FULL) may hold the same row twice, and then a
 * DELETE or UPDATE of one copy leaves the other. The warehouse keeps such a table as a multiset:
 * identical rows are never collapsed, a delete removes exactly one copy, an update changes
 * exactly one, and a delete of a copy the warehouse does not hold fails the batch.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StreamItem } from '../../src/core/change-event.js';
import { TributaryError } from '../../src/core/errors.js';
import {
  Decimal,
  INFINITY_MICROS,
  NEG_INFINITY_MICROS,
  PgDate,
  PgInterval,
  PgJson,
  PgTime,
  PgTimestamp,
  PgTimestampTz,
  PgTimeTz,
  type Value,
} from '../../src/core/values.js';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { change, col, commit, fullChange, keylessSchemaItem, schemaItem } from './items.js';

const LOG = [col('seq', 23), col('msg', 25)];
const A = { seq: 1, msg: 'a' };
const B = { seq: 2, msg: 'b' };

describe('DuckDBWarehouse, tables without a primary key', () => {
  let dir: string;
  let wh: DuckDBWarehouse;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-keyless-'));
    wh = await DuckDBWarehouse.open(join(dir, 'w.duckdb'));
  });
  afterEach(async () => {
    await wh.close();
    rmSync(dir, { recursive: true, force: true });
  });
  /** Each distinct row with how many copies the warehouse holds. */
  const counted = async (columns = 'seq, msg', table = 'main.items') =>
    (
      await wh.query(
        `SELECT ${columns}, count(*)::INTEGER FROM ${table} GROUP BY ALL ORDER BY ALL NULLS FIRST`,
      )
    ).rows;

  it('keeps two identical rows inserted in one batch, and a third from a later batch', async () => {
    await wh.apply([
      keylessSchemaItem(LOG, 'v1'),
      fullChange('insert', 10n, 0, { row: A }),
      fullChange('insert', 10n, 1, { row: A }),
      fullChange('insert', 10n, 2, { row: B }),
      commit(10n, 3),
    ]);
    expect(await counted()).toEqual([
      [1, 'a', 2],
      [2, 'b', 1],
    ]);
    await wh.apply([fullChange('insert', 20n, 0, { row: A }), commit(20n)]);
    expect(await counted()).toEqual([
      [1, 'a', 3],
      [2, 'b', 1],
    ]);
    expect(await counted('seq, _tributary_lsn, _tributary_synced_at IS NOT NULL')).toEqual([
      [1, '10', true, 2],
      [1, '20', true, 1],
      [2, '10', true, 1],
    ]);
  });

  it('deletes exactly one of two identical rows, in the batch that inserted them or a later one', async () => {
    await wh.apply([
      keylessSchemaItem(LOG, 'v1'),
      fullChange('insert', 10n, 0, { row: A }),
      fullChange('insert', 10n, 1, { row: A }),
      fullChange('insert', 10n, 2, { row: B }),
      fullChange('insert', 10n, 3, { row: B }),
      fullChange('delete', 10n, 4, { before: B }),
    ]);
    expect(await counted()).toEqual([
      [1, 'a', 2],
      [2, 'b', 1],
    ]);
    await wh.apply([fullChange('delete', 20n, 0, { before: A })]);
    expect(await counted()).toEqual([
      [1, 'a', 1],
      [2, 'b', 1],
    ]);
  });

  it('updates exactly one of two identical rows', async () => {
    await wh.apply([
      keylessSchemaItem(LOG, 'v1'),
      fullChange('insert', 10n, 0, { row: A }),
      fullChange('insert', 10n, 1, { row: A }),
    ]);
    await wh.apply([fullChange('update', 20n, 0, { row: { seq: 1, msg: 'changed' }, before: A })]);
    expect(await counted('seq, msg, _tributary_lsn')).toEqual([
      [1, 'a', '10', 1],
      [1, 'changed', '20', 1],
    ]);
  });

  it('matches NULLs as values: a delete of a row with NULLs removes one copy of it', async () => {
    const N = { seq: null, msg: 'n' };
    const NN = { seq: null, msg: null };
    await wh.apply([
      keylessSchemaItem(LOG, 'v1'),
      ...[N, N, NN, NN, NN].map((row, i) => fullChange('insert', 10n, i, { row })),
    ]);
    await wh.apply([
      fullChange('delete', 20n, 0, { before: N }),
      fullChange('update', 20n, 1, { row: { seq: 3, msg: null }, before: NN }),
    ]);
    expect(await counted()).toEqual([
      [null, null, 2],
      [null, 'n', 1],
      [3, null, 1],
    ]);
  });

  it('matches rows of every kind of column: intervals by their parts, json by its text, NaN, lists', async () => {
    const columns = [col('f', 701), col('span', 1186), col('doc', 3802), col('bin', 17), col('fs', 1022)];
    const two: Record<string, Value> = {
      f: 1.5,
      span: new PgInterval(0, 30, 0n),
      doc: new PgJson('{"a": 1}'),
      bin: new Uint8Array([0, 0]),
      fs: [1.5, null],
    };
    const rows: Record<string, Value>[] = [
      {
        f: 1.5,
        span: new PgInterval(1, 0, 0n),
        doc: new PgJson('{"a":1}'),
        bin: new Uint8Array([0]),
        fs: [1.5, null],
      },
      two,
      { f: Number.NaN, span: null, doc: null, bin: null, fs: [null, Number.NaN] },
    ];
    await wh.apply([
      keylessSchemaItem(columns, 'v1'),
      ...[...rows, ...rows].map((row, i) => fullChange('insert', 10n, i, { row })),
    ]);
    await wh.apply(rows.map((before, i) => fullChange('delete', 20n, i, { before })));
    const texts = 'f::VARCHAR, span::VARCHAR, doc::VARCHAR, hex(bin), fs::VARCHAR';
    expect(await counted(texts)).toEqual([
      ['1.5', '1 month', '{"a":1}', '00', '[1.5, NULL]', 1],
      ['1.5', '30 days', '{"a": 1}', '0000', '[1.5, NULL]', 1],
      ['nan', null, null, null, '[NULL, nan]', 1],
    ]);
    await wh.apply([fullChange('delete', 30n, 0, { before: two })]);
    expect(await counted(texts)).toEqual([
      ['1.5', '1 month', '{"a":1}', '00', '[1.5, NULL]', 1],
      ['nan', null, null, null, '[NULL, nan]', 1],
    ]);
  });

  it('matches a row holding every mapped DuckDB type, edge values and NULLs', async () => {
    const numeric = (precision: number, scale: number) => ((precision << 16) | scale) + 4;
    const columns = [
      ...[21, 23, 20, 26, 5069, 700, 701, 16, 17, 2950, 25, 114, 3802].map((oid) => col(`c${oid}`, oid)),
      ...[1082, 1083, 1266, 1114, 1184, 1186].map((oid) => col(`c${oid}`, oid)),
      col('dec', 1700, false, numeric(12, 4)),
      col('num', 1700),
      ...[1007, 1022, 1001, 1009, 2951, 199, 1182, 1270, 1185, 1187, 1231].map((oid) => col(`a${oid}`, oid)),
    ];
    const edge: Record<string, Value> = {
      c21: -32768,
      c23: 2147483647,
      c20: -(2n ** 63n),
      c26: 4294967295,
      c5069: 2n ** 64n - 1n,
      c700: 3.4028234663852886e38,
      c701: Number.NEGATIVE_INFINITY,
      c16: false,
      c17: new Uint8Array([0, 255]),
      c2950: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      c25: 'ünï\tcode "quoted", [bracketed]',
      c114: new PgJson('{"b": [1, 2.50]}'),
      c3802: new PgJson('{"a": 1}'),
      c1082: new PgDate(Number.POSITIVE_INFINITY),
      c1083: new PgTime(86_400_000_000n),
      c1266: new PgTimeTz(45_296_000_001n, -34_200),
      c1114: new PgTimestamp(NEG_INFINITY_MICROS),
      c1184: new PgTimestampTz(-62_135_596_800_000_000n),
      c1186: new PgInterval(-14, 3, -1n),
      dec: new Decimal('-12345678.0001'),
      num: new Decimal('NaN'),
      a1007: [1, null, -2],
      a1022: [Number.NaN, null, 1e-300],
      a1001: [new Uint8Array([]), null],
      a1009: ['a,b', null, 'NULL', ''],
      a2951: ['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'],
      a199: [new PgJson('[]'), null],
      a1182: [new PgDate(-719_528), new PgDate(Number.NEGATIVE_INFINITY)],
      a1270: [new PgTimeTz(0n, 50_400)],
      a1185: [new PgTimestampTz(INFINITY_MICROS)],
      a1187: [new PgInterval(1, 0, 0n), new PgInterval(0, 30, 0n), null],
      a1231: [new Decimal('1.50'), new Decimal('1.5')],
    };
    const nulls: Record<string, Value> = Object.fromEntries(columns.map((c) => [c.name, null]));
    const changed = { ...edge, a1187: [new PgInterval(0, 30, 0n), new PgInterval(1, 0, 0n), null] };
    await wh.apply([
      keylessSchemaItem(columns, 'v1'),
      ...[edge, nulls, edge, nulls].map((row, i) => fullChange('insert', 10n, i, { row })),
    ]);
    await wh.close();
    wh = await DuckDBWarehouse.open(join(dir, 'w.duckdb'));
    await wh.apply([
      fullChange('delete', 20n, 0, { before: nulls }),
      fullChange('update', 20n, 1, { row: changed, before: edge }),
    ]);
    expect(await counted('c23, a1187::VARCHAR')).toEqual([
      [null, null, 1],
      [2147483647, '[1 month, 30 days, NULL]', 1],
      [2147483647, '[30 days, 1 month, NULL]', 1],
    ]);
    await wh.apply([
      fullChange('delete', 30n, 0, { before: nulls }),
      fullChange('delete', 30n, 1, { before: edge }),
      fullChange('delete', 30n, 2, { before: changed }),
    ]);
    expect(await counted('c23')).toEqual([]);
  });

  it('matches -0 and 0 as DuckDB does, so a copy whose sign its storage lost is still found', async () => {
    await wh.apply([
      keylessSchemaItem([col('f', 701), col('fs', 1022)], 'v1'),
      fullChange('insert', 10n, 0, { row: { f: -0, fs: [-0] } }),
      fullChange('insert', 10n, 1, { row: { f: 0, fs: [0] } }),
    ]);
    await wh.close();
    wh = await DuckDBWarehouse.open(join(dir, 'w.duckdb'));
    await wh.apply([fullChange('delete', 20n, 0, { before: { f: -0, fs: [-0] } })]);
    expect(await counted("f::VARCHAR = '0.0' OR f::VARCHAR = '-0.0'")).toEqual([[true, 1]]);
    await wh.apply([fullChange('delete', 30n, 0, { before: { f: -0, fs: [-0] } })]);
    expect(await counted('f')).toEqual([]);
  });

  it('empties the table at a truncate in the middle of a batch, keeping the copies after it', async () => {
    await wh.apply([keylessSchemaItem(LOG, 'v1'), fullChange('insert', 10n, 0, { row: A })]);
    await wh.apply([
      fullChange('insert', 20n, 0, { row: B }),
      fullChange('delete', 20n, 1, { before: A }),
      change('truncate', 20n, 2, {}),
      fullChange('insert', 20n, 3, { row: A }),
      fullChange('insert', 20n, 4, { row: A }),
    ]);
    expect(await counted()).toEqual([[1, 'a', 2]]);
  });

  it('skips a replayed batch (checkpoint), also after reopening', async () => {
    const batch: StreamItem[] = [
      keylessSchemaItem(LOG, 'v1'),
      fullChange('insert', 10n, 0, { row: A }),
      fullChange('insert', 10n, 1, { row: A }),
      commit(10n, 2),
    ];
    await wh.apply(batch);
    await wh.apply(batch);
    expect(await counted()).toEqual([[1, 'a', 2]]);
    await wh.close();
    wh = await DuckDBWarehouse.open(join(dir, 'w.duckdb'));
    await wh.apply(batch);
    await wh.apply([fullChange('delete', 20n, 0, { before: A }), commit(20n)]);
    await wh.apply([fullChange('delete', 20n, 0, { before: A }), commit(20n)]);
    expect(await counted()).toEqual([[1, 'a', 1]]);
  });

  it('deletes copies inserted earlier in the same transaction (a schema change between them)', async () => {
    const other = { schema: 'public', name: 'other' };
    await wh.apply([
      keylessSchemaItem(LOG, 'v1'),
      fullChange('insert', 10n, 0, { row: A }),
      fullChange('insert', 10n, 1, { row: A }),
      schemaItem([col('id', 23, true)], 'o1', other),
      fullChange('delete', 10n, 2, { before: A }),
    ]);
    expect(await counted()).toEqual([[1, 'a', 1]]);
  });

  it('refuses to delete more copies than it holds, naming the row, and rolls back', async () => {
    await wh.apply([keylessSchemaItem(LOG, 'v1'), fullChange('insert', 10n, 0, { row: A })]);
    const failure = await wh
      .apply([
        fullChange('insert', 20n, 0, { row: B }),
        fullChange('delete', 20n, 1, { before: A }),
        fullChange('delete', 20n, 2, { before: A }),
      ])
      .then(
        () => null,
        (error: unknown) => error,
      );
    expect(failure).toBeInstanceOf(TributaryError);
    expect((failure as TributaryError).code).toBe('SINK');
    expect((failure as TributaryError).message).toMatch(
      /public\.items: the source deleted or updated 2 cop\(ies\) of the row \(seq=1, msg=a\), but the warehouse holds 1/,
    );
    expect((failure as TributaryError).hint).toMatch(/backfill public\.items/);
    expect(await counted()).toEqual([[1, 'a', 1]]);
    expect(await wh.checkpoint()).toEqual({ commitLsn: 10n, ordinal: 0 });
  });

  it('keeps duplicates of a table that streams inserts only (no key, no FULL identity)', async () => {
    await wh.apply([
      schemaItem(LOG, 'v1'),
      change('insert', 10n, 0, { row: A, pk: {} }),
      change('insert', 10n, 1, { row: A, pk: {} }),
    ]);
    expect(await counted()).toEqual([[1, 'a', 2]]);
  });

  it('applies thousands of copies and deletes of a thousand rows at once', async () => {
    const items: StreamItem[] = [keylessSchemaItem(LOG, 'v1')];
    for (let i = 0; i < 3000; i++)
      items.push(fullChange('insert', 10n, i, { row: { seq: i % 1000, msg: 'm' } }));
    await wh.apply(items);
    const deletes: StreamItem[] = [];
    for (let i = 0; i < 1500; i++)
      deletes.push(fullChange('delete', 20n, i, { before: { seq: i % 1000, msg: 'm' } }));
    await wh.apply(deletes);
    const [[total, one, two]] = (
      await wh.query(
        'SELECT count(*)::INTEGER, count(*) FILTER (n = 1)::INTEGER, count(*) FILTER (n = 2)::INTEGER FROM (SELECT seq, count(*) AS n FROM items GROUP BY seq)',
      )
    ).rows as [[number, number, number]];
    expect([total, one, two]).toEqual([1000, 500, 500]);
  });
});
