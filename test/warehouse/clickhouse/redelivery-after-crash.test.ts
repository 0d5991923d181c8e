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
import { LaneLost } from '../../../src/warehouse/warehouse.js';
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
  const command = async (query: string) => {
    await ch.connection.client.command({ query });
  };
  const rawCount = async (table: string) =>
    Number((await ch.rows<{ n: string }>(`SELECT count() AS n FROM ${table}`))[0]?.n);

  it.each(['before-checkpoint', 'after-table-rows'] as const)(
    'redelivered whole (crash %s): the view unchanged, the repeated inserts dropped by their tokens',
    async (at) => {
      let armed = false;
      const first = await instance(at, () => armed);
      await first.apply(setUp);
      // raw counts compared below: no merge may fold rows in between
      await command(`SYSTEM STOP MERGES ${ITEMS}`);
      await command(`SYSTEM STOP MERGES ${LOGS}`);
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

  it('redelivered in other batches: extra row versions in storage (merges stopped), never in the view', async () => {
    let armed = false;
    const first = await instance('before-checkpoint', () => armed);
    await first.apply(setUp);
    // no merge folds anything behind the test's back: what the storage holds is what was inserted
    await command(`SYSTEM STOP MERGES ${ITEMS}`);
    await command(`SYSTEM STOP MERGES ${LOGS}`);
    armed = true;
    await expect(first.apply([...second, ...third])).rejects.toBeInstanceOf(Crash);

    const restarted = await instance();
    expect(await restarted.apply(second)).toEqual(committed(20n));
    expect(await restarted.apply(third)).toEqual(committed(30n));
    expect(await state(restarted)).toEqual(expected);
    // Without FINAL: setUp wrote keys 1, 2 (2 rows); the crashed delivery folded 20+30 into one
    // row per key 1, 2 (tombstone), 3 (@30), 4 (4 rows); the redelivery, split as 20 then 30,
    // has other tokens and wrote 1, 2, 3 (@20) then 3, 4 (@30) again (5 rows): 11 rows for 4
    // keys. Key 3 holds @20 once and @30 twice — the same version and values (only
    // _tributary_synced_at differs) — and FINAL keeps one row per key at its highest version.
    const versions = await ch.rows<{ id: number; n: string; deleted: string; versions: string }>(
      `SELECT id, count() AS n, sum(_tributary_deleted) AS deleted, uniqExact(_tributary_version) AS versions FROM ${ITEMS} GROUP BY id ORDER BY id`,
    );
    expect(versions).toEqual([
      { id: 1, n: '3', deleted: '0', versions: '2' },
      { id: 2, n: '3', deleted: '2', versions: '2' },
      { id: 3, n: '3', deleted: '0', versions: '2' },
      { id: 4, n: '2', deleted: '0', versions: '1' },
    ]);
    expect(await rawCount(ITEMS)).toBe(11);
    await command(`SYSTEM START MERGES ${ITEMS}`);
    await ch.rows(`OPTIMIZE TABLE ${ITEMS} FINAL`);
    await command(`SYSTEM START MERGES ${LOGS}`);
    await ch.rows(`OPTIMIZE TABLE ${LOGS} FINAL`);
    // merged: one row per key (the tombstone of key 2 included), the view the same
    expect(await rawCount(ITEMS)).toBe(4);
    expect(await state(restarted)).toEqual(expected);
  });

  it('refuses the batch of a loader whose lane another process claimed since', async () => {
    const a = await instance();
    const b = await instance();
    expect(await a.claimLane({ lane: 0, epoch: 1n })).toBeNull();
    expect(await a.apply(setUp, { lane: 0, epoch: 1n })).toEqual(committed(10n));
    // another process takes the lane over: it starts where the lane is
    expect(await b.claimLane({ lane: 0, epoch: 2n })).toEqual(committed(10n));
    await expect(a.apply(second, { lane: 0, epoch: 1n })).rejects.toBeInstanceOf(LaneLost);
    expect(await b.apply(second, { lane: 0, epoch: 2n })).toEqual(committed(20n));
    expect((await b.laneCheckpoints()).get(0)).toEqual(committed(20n));
  });
});
