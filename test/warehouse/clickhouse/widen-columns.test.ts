/**
 * A value a column's ClickHouse type cannot hold arrives mid-stream (against chdb): the column is
 * widened to its String widening (src/warehouse/clickhouse/widen.ts) instead of the batch
 * stopping. The values stored before it read back as the same exact text the widened codec
 * writes for them (trailing zeros of a Decimal kept), the unfit value is stored as its text, the
 * widening survives a restart, a redelivery after a crash between its DDL and its record or its
 * checkpoint, later shapes (a rename, an added column), and snapshot rows widen too.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ColumnSchema, StreamItem, TableSchema } from '../../../src/core/change-event.js';
import { valueToJson } from '../../../src/core/event-json.js';
import { Decimal, INFINITY_MICROS, PgDate, PgTimestampTz, type Value } from '../../../src/core/values.js';
import {
  ClickHouseWarehouse,
  type Failpoint,
} from '../../../src/warehouse/clickhouse/clickhouse-warehouse.js';
import { snapshotVersion } from '../../../src/warehouse/clickhouse/layout.js';
import { clickhouseType } from '../../../src/warehouse/clickhouse/type-mapping.js';
import { freshClickHouse, type TestClickHouse } from '../../helpers/clickhouse.js';
import { day, micros, numericMod } from '../../helpers/clickhouse-types.js';
import { committed, delRow, ins, insRow, txn, upd, updRow } from '../contract/items.js';
import { col, keylessSchemaItem, schemaItem, T } from '../items.js';

class Crash extends Error {}

const at = (c: ColumnSchema, attnum: number): ColumnSchema => ({ ...c, attnum });

describe('ClickHouse: a column widened when a value its type cannot hold arrives', () => {
  let ch: TestClickHouse;
  const open: ClickHouseWarehouse[] = [];
  beforeEach(async () => {
    ch = await freshClickHouse('widen');
  });
  afterEach(async () => {
    for (const wh of open.splice(0)) await wh.close();
    await ch.drop();
  });
  const instance = async (point?: Failpoint, armed: () => boolean = () => true) => {
    const wh = await ClickHouseWarehouse.open(ch.url, {
      failpoint: (p) => {
        if (p === point && armed()) throw new Crash(`crash at ${p}`);
      },
    });
    open.push(wh);
    return wh;
  };
  const storageType = async (column: string) =>
    (
      await ch.rows<{ type: string }>(
        'SELECT type FROM system.columns WHERE database = {db:String} AND table = {t:String} AND name = {c:String}',
        { db: ch.database, t: '_tributary_rows_items', c: column },
      )
    )[0]?.type;
  /** The view's column `column` as stored text, by id. */
  const texts = async (column: string) =>
    (await ch.rows<Record<string, unknown>>(`SELECT id, \`${column}\` AS v FROM items ORDER BY id`)).map(
      (r) => [Number(r.id), r.v],
    );
  /** What the widened codec writes for each value: the text older rows must read back as. */
  const widenedText = (c: ColumnSchema, v: Value) =>
    v === null ? null : (clickhouseType(c).widening?.type.encode(v) as string);

  const cases: { name: string; column: ColumnSchema; before: Value[]; unfit: Value; text: unknown[] }[] = [
    {
      name: "timestamptz receiving 'infinity'",
      column: col('v', 1184),
      before: [new PgTimestampTz(micros(2024, 2, 29, 1n)), null, new PgTimestampTz(micros(1969, 12, 31))],
      unfit: new PgTimestampTz(INFINITY_MICROS),
      text: ['2024-02-29 00:00:00.000001', null, '1969-12-31 00:00:00.000000', 'infinity'],
    },
    {
      name: 'date receiving a day before 1900',
      column: col('v', 1082),
      before: [new PgDate(day(2024, 2, 29)), null, new PgDate(day(1900, 1, 1))],
      unfit: new PgDate(day(1899, 12, 31)),
      text: ['2024-02-29', null, '1900-01-01', '1899-12-31'],
    },
    {
      name: 'numeric(10,2) receiving NaN',
      column: col('v', 1700, false, numericMod(10, 2)),
      before: [new Decimal('12.50'), null, new Decimal('-3.00')],
      unfit: new Decimal('NaN'),
      text: ['12.50', null, '-3.00', 'NaN'],
    },
    {
      name: 'int[] receiving a 2-D array',
      column: col('v', 1007),
      before: [[1, null, -3], [], [7]],
      unfit: [
        [1, 2],
        [3, 4],
      ],
      text: ['["1",null,"-3"]', '[]', '["7"]', '[["1","2"],["3","4"]]'],
    },
  ];

  it.each(cases)('$name: widened in place, older rows read as their exact text', async (c) => {
    const wh = await instance();
    const id = col('id', 23, true);
    await wh.apply([
      schemaItem([id, c.column], 'items-1'),
      ...c.before.flatMap((v, i) => txnOf(10n + BigInt(i), { id: i + 1, v })),
    ]);
    expect(await storageType('v')).not.toMatch(/String/);
    const last = await wh.apply([
      ...txnOf(20n, { id: 4, v: c.unfit }),
      ...txnOf(21n, { id: 5, v: c.before[0] as Value }),
    ]);
    expect(last).toEqual(committed(21n));
    expect(await storageType('v')).toBe('Nullable(String)');
    const rows = await texts('v');
    expect(rows).toEqual([...c.text, c.text[0]].map((t, i) => [i + 1, t]));
    // the older rows' text is what the widened codec writes for their values
    expect(rows.slice(0, 3).map(([, t]) => t)).toEqual(c.before.map((v) => widenedText(c.column, v)));
    // and decodes back to the values sent, the unfit one included
    const widened = clickhouseType(c.column).widening?.type;
    expect(
      rows.slice(0, 4).map(([, t]) => (t === null ? null : valueToJson(widened?.decode(t) ?? null))),
    ).toEqual([...c.before, c.unfit].map((v) => (v === null ? null : valueToJson(v))));
    // a restart keeps the widened type: the next unfit value needs no DDL and lands
    const restarted = await instance();
    expect(await restarted.apply(txnOf(30n, { id: 6, v: c.unfit }))).toEqual(committed(30n));
    expect((await texts('v')).at(-1)).toEqual([6, c.text[3]]);
  });

  it('a key column (date) widened by rebuilding the storage', async () => {
    const wh = await instance();
    const d = col('d', 1082, true);
    await wh.apply([
      schemaItem([d, col('note', 25)], 'items-1'),
      ...txnOf(10n, { d: new PgDate(day(2024, 1, 1)), note: 'a' }),
    ]);
    expect(await storageType('d')).toBe('Date32');
    await wh.apply([
      ...txnOf(20n, { d: new PgDate(day(1800, 6, 1)), note: 'old' }),
      ...txnOf(21n, { d: new PgDate(day(2024, 1, 1)), note: 'a2' }),
    ]);
    expect(await storageType('d')).toBe('String');
    expect(await ch.rows('SELECT d, note FROM items ORDER BY d')).toEqual([
      { d: '1800-06-01', note: 'old' },
      { d: '2024-01-01', note: 'a2' },
    ]);
  });

  it.each(['before-widening-record', 'before-checkpoint', 'after-table-rows'] as const)(
    'a crash %s: the batch redelivered to a restarted warehouse leaves the view exact',
    async (point) => {
      let armed = false;
      const first = await instance(point, () => armed);
      const v = col('v', 1700, false, numericMod(10, 2));
      await first.apply([
        schemaItem([col('id', 23, true), v], 'items-1'),
        ...txnOf(10n, { id: 1, v: new Decimal('1.10') }),
      ]);
      armed = true;
      const batch = [
        ...txnOf(20n, { id: 2, v: new Decimal('NaN') }),
        ...txnOf(21n, { id: 1, v: new Decimal('2.00') }),
      ];
      await expect(first.apply(batch)).rejects.toBeInstanceOf(Crash);
      expect(await first.checkpoint()).toEqual(committed(10n));
      expect(await storageType('v')).toBe('Nullable(String)');

      const restarted = await instance();
      expect(await restarted.apply(batch)).toEqual(committed(21n));
      const expected = [
        [1, '2.00'],
        [2, 'NaN'],
      ];
      expect(await texts('v')).toEqual(expected);
      expect(await storageType('_tributary_widen_v')).toBeUndefined();
      // delivered once more (acknowledgement lost): skipped, same view
      expect(await restarted.apply(batch)).toEqual(committed(21n));
      expect(await texts('v')).toEqual(expected);
    },
  );

  it('a widening interrupted after the old column was dropped is finished by the next attempt', async () => {
    const wh = await instance();
    const v = col('v', 1082);
    await wh.apply([
      schemaItem([col('id', 23, true), v], 'items-1'),
      ...txnOf(10n, { id: 1, v: new PgDate(day(2000, 1, 2)) }),
    ]);
    // as the widening leaves the storage between its DROP and its RENAME
    const storage = `\`${ch.database}\`.\`_tributary_rows_items\``;
    const run = (query: string) =>
      ch.connection.client.command({ query, clickhouse_settings: { mutations_sync: '2' } });
    await run(`ALTER TABLE ${storage} ADD COLUMN \`_tributary_widen_v\` Nullable(String)`);
    await run(`ALTER TABLE ${storage} UPDATE \`_tributary_widen_v\` = toString(v) WHERE 1`);
    await run(`ALTER TABLE ${storage} DROP COLUMN v`);
    const restarted = await instance();
    expect(await restarted.apply(txnOf(20n, { id: 2, v: new PgDate(Number.POSITIVE_INFINITY) }))).toEqual(
      committed(20n),
    );
    expect(await texts('v')).toEqual([
      [1, '2000-01-02'],
      [2, 'infinity'],
    ]);
  });

  it('stays widened through a rename and an added column; a source retype to text keeps the texts', async () => {
    const wh = await instance();
    const id = at(col('id', 23, true), 1);
    await wh.apply([
      schemaItem([id, at(col('v', 1184), 2)], 'items-1'),
      ...txnOf(10n, { id: 1, v: new PgTimestampTz(micros(2024, 1, 1)) }),
      ...txnOf(11n, { id: 2, v: new PgTimestampTz(INFINITY_MICROS) }),
    ]);
    await wh.apply([
      schemaItem([id, at(col('w', 1184), 2), at(col('n', 23), 3)], 'items-2'),
      ...txnOf(20n, { id: 3, w: new PgTimestampTz(micros(2025, 5, 5)), n: 1 }),
    ]);
    expect(await storageType('w')).toBe('Nullable(String)');
    expect(await texts('w')).toEqual([
      [1, '2024-01-01 00:00:00.000000'],
      [2, 'infinity'],
      [3, '2025-05-05 00:00:00.000000'],
    ]);
    const restarted = await instance();
    await restarted.apply([
      schemaItem([id, at(col('w', 25), 2), at(col('n', 23), 3)], 'items-3'),
      ...txnOf(30n, { id: 4, w: 'plain', n: 2 }),
    ]);
    expect(await storageType('w')).toBe('Nullable(String)');
    expect((await texts('w')).map(([, t]) => t)).toEqual([
      '2024-01-01 00:00:00.000000',
      'infinity',
      '2025-05-05 00:00:00.000000',
      'plain',
    ]);
  });

  it("a column added with a default its type cannot hold (DEFAULT 'infinity') is added widened", async () => {
    const wh = await instance();
    const id = at(col('id', 23, true), 1);
    await wh.apply([schemaItem([id, at(col('n', 23), 2)], 'items-1'), ...txnOf(10n, { id: 1, n: 1 })]);
    const until = { ...at(col('valid_until', 1184), 3), missingValue: new PgTimestampTz(INFINITY_MICROS) };
    await wh.apply([
      schemaItem([id, at(col('n', 23), 2), until], 'items-2'),
      ...txnOf(20n, { id: 2, n: 2, valid_until: new PgTimestampTz(micros(2030, 1, 1)) }),
    ]);
    expect(await storageType('valid_until')).toBe('Nullable(String)');
    expect(await texts('valid_until')).toEqual([
      [1, 'infinity'],
      [2, '2030-01-01 00:00:00.000000'],
    ]);
    // recorded widened: a restarted warehouse keeps writing the text
    const restarted = await instance();
    await restarted.apply(txnOf(30n, { id: 3, n: 3, valid_until: new PgTimestampTz(INFINITY_MICROS) }));
    expect((await texts('valid_until')).map(([, t]) => t)).toEqual([
      'infinity',
      '2030-01-01 00:00:00.000000',
      'infinity',
    ]);
  });

  it('a widened column retyped at the source to a type that refuses its texts: the change stops, naming the column', async () => {
    const wh = await instance();
    const id = at(col('id', 23, true), 1);
    await wh.apply([
      schemaItem([id, at(col('v', 1700, false, numericMod(10, 2)), 2)], 'items-1'),
      ...txnOf(10n, { id: 1, v: new Decimal('12.50') }),
      ...txnOf(11n, { id: 2, v: new Decimal('NaN') }),
    ]);
    await expect(
      wh.apply([
        schemaItem([id, at(col('v', 1700, false, numericMod(12, 2)), 2)], 'items-2'),
        ...txnOf(20n, { id: 3, v: new Decimal('1.00') }),
      ]),
    ).rejects.toThrow(
      /v: its type changed from String to Decimal\(12, 2\), but 2 stored value\(s\) do not convert exactly/,
    );
    expect(await storageType('v')).toBe('Nullable(String)');
    expect(await texts('v')).toEqual([
      [1, '12.50'],
      [2, 'NaN'],
    ]);
  });

  it('a table without a primary key: a copy stored before the widening is matched by its text and deleted', async () => {
    const wh = await instance();
    const log = { schema: 'public', name: 'log' };
    const v = col('v', 1700, false, numericMod(10, 2));
    await wh.apply([
      keylessSchemaItem([col('seq', 23), v], 'log-1', log),
      ...txn(
        10n,
        insRow(log, { seq: 1, v: new Decimal('12.50') }),
        insRow(log, { seq: 2, v: new Decimal('0.10') }),
      ),
    ]);
    await wh.apply(
      txn(
        20n,
        insRow(log, { seq: 3, v: new Decimal('NaN') }),
        delRow(log, { seq: 1, v: new Decimal('12.50') }),
        updRow(log, { seq: 2, v: new Decimal('0.10') }, { seq: 2, v: new Decimal('0.20') }),
      ),
    );
    expect(await ch.rows('SELECT seq, v FROM log ORDER BY seq')).toEqual([
      { seq: 2, v: '0.20' },
      { seq: 3, v: 'NaN' },
    ]);
  });

  it('a partial update during a snapshot job parks a key its widened key column holds', async () => {
    const wh = await instance();
    const d = col('d', 1082, true);
    const item = schemaItem([d, col('v', 25), col('doc', 25)], 'items-1');
    await wh.apply([item, ...txnOf(10n, { d: new PgDate(day(2024, 1, 1)), v: 'a', doc: 'D' })]);
    const job = await wh.createSnapshotJob({ table: T, predicate: null, reason: 'backfill', keyless: false });
    const old = new PgDate(day(1850, 3, 4));
    await wh.apply(txn(20n, upd({ d: old, v: 'b' }, ['doc'])));
    expect(await storageType('d')).toBe('String');
    expect((await wh.parkedKeys(job.id, 10)).map((k) => valueToJson(k.d ?? null))).toEqual([
      valueToJson(old),
    ]);
    expect(await ch.rows('SELECT d, v, doc FROM items ORDER BY d')).toEqual([
      { d: '1850-03-04', v: 'b', doc: null },
      { d: '2024-01-01', v: 'a', doc: 'D' },
    ]);
  });

  it('snapshot rows (insertVersioned) widen the column too, and a repeated chunk changes nothing', async () => {
    const wh = await instance();
    const schema: TableSchema = {
      table: T,
      relationOid: 1,
      version: 'items-1',
      columns: [col('id', 23, true), col('v', 1082)],
      key: ['id'],
      replicaIdentity: 'default',
    };
    await wh.ensureTable(schema, 5n);
    const rows = [
      { id: 1, v: new PgDate(day(2024, 1, 1)) },
      { id: 2, v: new PgDate(Number.NEGATIVE_INFINITY) },
    ];
    await wh.insertVersioned(schema, rows, snapshotVersion(5n), 'chunk-1');
    await wh.insertVersioned(schema, rows, snapshotVersion(5n), 'chunk-1');
    expect(await storageType('v')).toBe('Nullable(String)');
    expect(await texts('v')).toEqual([
      [1, '2024-01-01'],
      [2, '-infinity'],
    ]);
    // the snapshot store's ensureTable of the same shape keeps the widened column
    await wh.ensureTable(schema, 5n);
    const restarted = await instance();
    await restarted.ensureTable(schema, 5n);
    expect(await storageType('v')).toBe('Nullable(String)');
  });
});

/** One transaction at `lsn` inserting `row` (an existing key: the view shows the newest). */
function txnOf(lsn: bigint, row: Record<string, Value>): StreamItem[] {
  return txn(lsn, ins(row));
}
