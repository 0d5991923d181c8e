/**
 * A batch whose rows reached ClickHouse but whose checkpoint did not (the loader died between
 * them: a failpoint throws there, as a crash would) is delivered again — to a new warehouse
 * instance on the same database, as after a restart — and must leave the view exactly as one
 * delivery would: same rows, same counts, no duplicate, a multiset's copies counted once.
 *
 * What the storage shows without FINAL: the same-split redelivery inserts nothing (its insert
 * deduplication tokens are the first delivery's, so the server drops the blocks: the raw row
 * count is unchanged); a redelivery split differently (other tokens) does insert its rows again,
 * with the SAME versions, so the storage holds extra row versions of a key until a merge folds
 * them — FINAL (the view) never shows them, and OPTIMIZE … FINAL leaves one row per key.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StreamItem } from '../../../src/core/change-event.js';
import type { TableRef } from '../../../src/core/table-ref.js';
import {
  ClickHouseWarehouse,
  type Failpoint,
} from '../../../src/warehouse/clickhouse/clickhouse-warehouse.js';
import { freshClickHouse, type TestClickHouse } from '../../helpers/clickhouse.js';
import { committed, del, delRow, ins, insRow, txn, upd } from '../contract/items.js';
import { col, keylessSchemaItem, schemaItem } from '../items.js';

const LOG: TableRef = { schema: 'public', name: 'log' };
const ITEMS = '`_tributary_rows_items`';
const LOGS = '`_tributary_rows_log`';

class Crash extends Error {}

describe('a batch delivered again after a crash between its rows and its checkpoint', () => {
  let ch: TestClickHouse;
  const open: ClickHouseWarehouse[] = [];
  beforeEach(async () => {
    ch = await freshClickHouse('crash');
  });
  afterEach(async () => {
    for (const wh of open.splice(0)) await wh.close();
    await ch.drop();
  });
  /** A warehouse instance that crashes at `at` while `armed()` says so. */
  const instance = async (at?: Failpoint, armed: () => boolean = () => true) => {
    const wh = await ClickHouseWarehouse.open(ch.url, {
      failpoint: (point) => {
        if (point === at && armed()) throw new Crash(`crash at ${point}`);
      },
    });
    open.push(wh);
    return wh;
  };
  const setUp: StreamItem[] = [
    schemaItem([col('id', 23, true), col('v', 25), col('doc', 25)], 'items-1'),
    keylessSchemaItem([col('seq', 23), col('msg', 25)], 'log-1', LOG),
    ...txn(
      10n,
      ins({ id: 1, v: 'a', doc: 'big' }),
      ins({ id: 2, v: 'b', doc: 'd2' }),
      insRow(LOG, { seq: 1, msg: 'x' }),
    ),
  ];
  const second = txn(
    20n,
    upd({ id: 1, v: 'a2' }, ['doc']),
    del({ id: 2 }),
    ins({ id: 3, v: 'c', doc: 'd3' }),
    insRow(LOG, { seq: 1, msg: 'x' }),
    insRow(LOG, { seq: 2, msg: 'y' }),
  );
  const third = txn(
    30n,
    upd({ id: 3, v: 'c2' }, ['doc']),
    delRow(LOG, { seq: 1, msg: 'x' }),
    ins({ id: 4, v: 'd', doc: 'd4' }),
  );
  const expected = {
    items: [
      [1, 'a2', 'big'],
      [3, 'c2', 'd3'],
      [4, 'd', 'd4'],
    ],
    log: [
      [1, 'x'],
      [2, 'y'],
    ],
  };
  const state = async (wh: ClickHouseWarehouse) => ({
    items: (await wh.query('SELECT id, v, doc FROM items ORDER BY id')).rows,
    log: (await wh.query('SELECT seq, msg FROM log ORDER BY seq, msg')).rows,
  });
  const rawCount = async (table: string) =>
    Number((await ch.rows<{ n: string }>(`SELECT count() AS n FROM ${table}`))[0]?.n);

  it.each(['before-checkpoint', 'after-table-rows'] as const)(
    'redelivered whole (crash %s): the view unchanged, the repeated inserts dropped by their tokens',
    async (at) => {
      let armed = false;
      const first = await instance(at, () => armed);
      await first.apply(setUp);
      armed = true;
      await expect(first.apply([...second, ...third])).rejects.toBeInstanceOf(Crash);
      expect(await first.checkpoint()).toEqual(committed(10n));
      const rawAfterCrash = { items: await rawCount(ITEMS), log: await rawCount(LOGS) };

      const restarted = await instance();
      expect(await restarted.checkpoint()).toEqual(committed(10n));
      expect(await restarted.apply([...second, ...third])).toEqual(committed(30n));
      expect(await state(restarted)).toEqual(expected);
      if (at === 'before-checkpoint') {
        // every table's rows had landed: the same tokens, nothing inserted again
        expect({ items: await rawCount(ITEMS), log: await rawCount(LOGS) }).toEqual(rawAfterCrash);
      }
      // and once more (an acknowledgement lost after the checkpoint): skipped whole
      expect(await restarted.apply([...setUp, ...second, ...third])).toEqual(committed(30n));
      expect(await state(restarted)).toEqual(expected);
    },
  );

  it('redelivered in other batches: extra row versions in storage, never in the view', async () => {
    let armed = false;
    const first = await instance('before-checkpoint', () => armed);
    await first.apply(setUp);
    armed = true;
    await expect(first.apply([...second, ...third])).rejects.toBeInstanceOf(Crash);

    const restarted = await instance();
    expect(await restarted.apply(second)).toEqual(committed(20n));
    expect(await restarted.apply(third)).toEqual(committed(30n));
    expect(await state(restarted)).toEqual(expected);
    // without FINAL the storage shows a key's versions side by side (before a merge folds them)
    const versions = await ch.rows<{ id: number; n: string }>(
      `SELECT id, count() AS n FROM ${ITEMS} GROUP BY id ORDER BY id`,
    );
    expect(versions.every((r) => Number(r.n) >= 1)).toBe(true);
    const keys = versions.length;
    await ch.rows(`OPTIMIZE TABLE ${ITEMS} FINAL`);
    await ch.rows(`OPTIMIZE TABLE ${LOGS} FINAL`);
    // merged: one row per key (tombstones included), the view the same
    expect(await rawCount(ITEMS)).toBe(keys);
    expect(await state(restarted)).toEqual(expected);
  });
});
