/**
 * The raw landing zone and history views on the warehouse alone (hand-built stream items):
 * every applied change lands once, with its metadata; history gives every version.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StreamItem } from '../../src/core/change-event.js';
import { parseReplayPoint } from '../../src/landing/replay.js';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { change, col, commit, fullChange, keylessSchemaItem, schemaItem } from '../warehouse/items.js';

const V1 = [col('id', 23, true), col('v', 25), col('big', 25)];
const SEC = 1_000_000n;
const T0 = 1_700_000_000n * SEC;

describe('raw landing zone', () => {
  let dir: string;
  let wh: DuckDBWarehouse;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-raw-'));
    wh = await DuckDBWarehouse.open(join(dir, 'w.duckdb'));
  });
  afterEach(async () => {
    await wh.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const rows = async (sql: string) => (await wh.query(sql)).rows;

  it('appends every change once with its metadata, and a re-delivered batch adds nothing', async () => {
    const batch: StreamItem[] = [
      schemaItem(V1, 'v1'),
      change('insert', 10n, 0, { row: { id: 1, v: 'a', big: 'B' }, time: T0 }),
      change('update', 10n, 1, { row: { id: 1, v: 'b' }, unchanged: ['big'], time: T0 }),
      commit(10n),
      change('delete', 20n, 0, { pk: { id: 1 }, time: T0 + SEC }),
      commit(20n),
    ];
    // the same change twice in one batch, as a feed redelivering after a restart can hand it
    const twice = batch[1] as StreamItem;
    await wh.apply([...batch.slice(0, 2), twice, ...batch.slice(2)]);
    await wh.apply(batch);
    await wh.close();
    wh = await DuckDBWarehouse.open(join(dir, 'w.duckdb'));
    await wh.apply(batch);
    expect(
      await rows(
        `SELECT _tributary_op, _tributary_lsn, _tributary_ordinal, _tributary_unchanged, epoch(_tributary_commit_time)::BIGINT, id, v, big
           FROM _tributary_raw.items ORDER BY _tributary_lsn, _tributary_ordinal`,
      ),
    ).toEqual([
      ['insert', '10', '0', [], '1700000000', 1, 'a', 'B'],
      ['update', '10', '1', ['big'], '1700000000', 1, 'b', null],
      ['delete', '20', '0', [], '1700000001', 1, null, null],
    ]);
  });

  it('keeps the metadata a batch does not stage (no old image, no unchanged column) and ordinals past 32 bits', async () => {
    // batch 1 has neither old images nor unchanged columns: those are given in SQL, not staged;
    // batch 2 has both, beside changes without, and an ordinal no INTEGER holds
    const late = 2 ** 31 + 5;
    await wh.apply([
      schemaItem(V1, 'v1'),
      change('insert', 10n, 0, { row: { id: 1, v: 'a', big: 'A' }, time: T0 }),
      change('insert', 10n, 1, { row: { id: 2, v: 'b', big: 'B' }, time: T0 }),
      commit(10n),
    ]);
    await wh.apply([
      change('update', 20n, 0, { row: { id: 1, v: 'a2' }, unchanged: ['big'], time: T0 + SEC }),
      change('update', 20n, late, { row: { id: 3, v: 'b', big: 'B' }, before: { id: 2 }, time: T0 + SEC }),
      change('update', 20n, late + 1, { row: { id: 1, v: 'a3', big: 'A3' }, time: T0 + SEC }),
      commit(20n),
    ]);
    expect(
      await rows(
        `SELECT _tributary_op, _tributary_lsn, _tributary_ordinal, _tributary_unchanged, _tributary_before::VARCHAR, id, v, big
           FROM _tributary_raw.items ORDER BY _tributary_lsn, _tributary_ordinal`,
      ),
    ).toEqual([
      ['insert', '10', '0', [], null, 1, 'a', 'A'],
      ['insert', '10', '1', [], null, 2, 'b', 'B'],
      ['update', '20', '0', ['big'], null, 1, 'a2', null],
      ['update', '20', String(late), [], '{"id":2}', 3, 'b', 'B'],
      ['update', '20', String(late + 1), [], null, 1, 'a3', 'A3'],
    ]);
    expect(await rows('SELECT id, v, big FROM items ORDER BY id')).toEqual([
      [1, 'a3', 'A3'],
      [3, 'b', 'B'],
    ]);
  });

  it('gives a row updated three times in one batch, then deleted, four versions and a delete marker', async () => {
    await wh.apply([
      schemaItem(V1, 'v1'),
      change('insert', 10n, 0, { row: { id: 1, v: 'v1', big: 'BIG' }, time: T0 }),
      commit(10n),
      change('update', 20n, 0, { row: { id: 1, v: 'v2' }, unchanged: ['big'], time: T0 + SEC }),
      commit(20n),
      change('update', 30n, 0, { row: { id: 1, v: 'v3', big: 'NEW' }, time: T0 + 2n * SEC }),
      commit(30n),
      change('update', 40n, 0, { row: { id: 1, v: 'v4' }, unchanged: ['big'], time: T0 + 3n * SEC }),
      commit(40n),
      change('delete', 50n, 0, { pk: { id: 1 }, time: T0 + 4n * SEC }),
      commit(50n),
      change('insert', 60n, 0, { row: { id: 2, v: 'x', big: 'y' }, time: T0 + 5n * SEC }),
      commit(60n),
    ]);
    const history = await rows(
      `SELECT id, v, big, epoch(valid_from)::BIGINT - 1700000000, epoch(valid_to)::BIGINT - 1700000000, is_current, is_deleted
         FROM _tributary_history.items ORDER BY id, _tributary_position`,
    );
    expect(history).toEqual([
      [1, 'v1', 'BIG', '0', '1', false, false],
      [1, 'v2', 'BIG', '1', '2', false, false],
      [1, 'v3', 'NEW', '2', '3', false, false],
      [1, 'v4', 'NEW', '3', '4', false, false],
      [1, null, null, '4', null, false, true],
      [2, 'x', 'y', '5', null, true, false],
    ]);
    expect(
      await rows(
        `SELECT id, v FROM tributary_as_of('items', TIMESTAMPTZ '2023-11-14 22:13:22.5+00') ORDER BY id`,
      ),
    ).toEqual([[1, 'v3']]);
    expect(
      await rows(
        `SELECT id, v FROM tributary_as_of_position('items', tributary_position('0/28')) ORDER BY id`,
      ),
    ).toEqual([[1, 'v4']]);
    expect(
      await rows(
        `SELECT id, v FROM tributary_as_of_position('items', tributary_position('0/32')) ORDER BY id`,
      ),
    ).toEqual([]);
  });

  it('ends every live key at a truncate and the old key of a moved row', async () => {
    await wh.apply([
      schemaItem(V1, 'v1'),
      change('insert', 10n, 0, { row: { id: 1, v: 'a', big: 'A' }, time: T0 }),
      change('insert', 10n, 1, { row: { id: 2, v: 'b', big: 'B' }, time: T0 }),
      commit(10n),
      change('update', 20n, 0, { row: { id: 3, v: 'b', big: 'B' }, before: { id: 2 }, time: T0 + SEC }),
      commit(20n),
      change('truncate', 30n, 0, { time: T0 + 2n * SEC }),
      commit(30n),
      change('insert', 40n, 0, { row: { id: 1, v: 'again', big: 'A' }, time: T0 + 3n * SEC }),
      commit(40n),
    ]);
    expect(
      await rows(
        `SELECT id, v, _tributary_op, epoch(valid_from)::BIGINT - 1700000000, epoch(valid_to)::BIGINT - 1700000000, is_current
           FROM _tributary_history.items ORDER BY id, _tributary_position`,
      ),
    ).toEqual([
      [1, 'a', 'insert', '0', '2', false],
      [1, null, 'truncate', '2', '3', false],
      [1, 'again', 'insert', '3', null, true],
      [2, 'b', 'insert', '0', '1', false],
      [2, null, 'delete', '1', null, false],
      [3, 'b', 'update', '1', '2', false],
      [3, null, 'truncate', '2', null, false],
    ]);
  });

  const hash = (sql: string) => rows(`SELECT count(*), bit_xor(hash(t)) FROM (${sql}) AS t`);

  it('replays to tables identical to the live ones, and as of a position to what was true then', async () => {
    await wh.apply([
      schemaItem(V1, 'v1'),
      change('insert', 10n, 0, { row: { id: 1, v: 'a', big: 'A' }, time: T0 }),
      change('insert', 10n, 1, { row: { id: 2, v: 'b', big: 'B' }, time: T0 }),
      commit(10n),
      change('update', 20n, 0, { row: { id: 1, v: 'a2' }, unchanged: ['big'], time: T0 + SEC }),
      change('delete', 20n, 1, { pk: { id: 2 }, time: T0 + SEC }),
      commit(20n),
    ]);
    await wh.apply([
      change('insert', 30n, 0, { row: { id: 3, v: 'c', big: 'C' }, time: T0 + 2n * SEC }),
      change('update', 30n, 1, { row: { id: 3, v: 'c2' }, unchanged: ['big'], time: T0 + 2n * SEC }),
      commit(30n),
    ]);
    const live = 'SELECT id, v, big, _tributary_lsn FROM main.items';
    const replayed = await wh.replay({ kind: 'end' }, 'replay');
    expect(replayed.map((r) => [r.target, r.rows])).toEqual([['"replay"."items"', 2]]);
    expect(await hash('SELECT id, v, big, _tributary_lsn FROM replay.items')).toEqual(await hash(live));
    await wh.replay({ kind: 'position', position: '0/14' }, 'at20');
    expect(await rows('SELECT id, v, big FROM at20.items ORDER BY id')).toEqual([[1, 'a2', 'A']]);
    await wh.replay(parseReplayPoint('2023-11-14T22:13:20.5Z'), 'at_t0');
    expect(await rows('SELECT id, v, big FROM at_t0.items ORDER BY id')).toEqual([
      [1, 'a', 'A'],
      [2, 'b', 'B'],
    ]);
    // in place, to the end: the same tables again
    await wh.replay({ kind: 'end' }, null);
    expect(await hash(live)).toEqual(await hash('SELECT id, v, big, _tributary_lsn FROM replay.items'));
    // and a whole query as of a time, the tables under their own names
    const asOf = await wh.queryAsOf(
      'SELECT id, v FROM items ORDER BY id',
      parseReplayPoint('2023-11-14 22:13:21.5+00'),
    );
    expect(asOf.rows).toEqual([[1, 'a2']]);
    await expect(wh.replay({ kind: 'time', time: '2023-11-14' }, null)).rejects.toThrow(
      /in place goes to the end/,
    );
    await expect(wh.replay({ kind: 'end' }, 'main')).rejects.toThrow(/live tables/);
  });

  it('replays a table without a key as the multiset it is', async () => {
    const cols = [col('a', 23), col('b', 25)];
    await wh.apply([
      keylessSchemaItem(cols, 'k1'),
      fullChange('insert', 10n, 0, { row: { a: 1, b: 'x' } }),
      fullChange('insert', 10n, 1, { row: { a: 1, b: 'x' } }),
      fullChange('insert', 10n, 2, { row: { a: 2, b: 'y' } }),
      commit(10n),
      fullChange('update', 20n, 0, { row: { a: 1, b: 'z' }, before: { a: 1, b: 'x' } }),
      fullChange('delete', 20n, 1, { before: { a: 2, b: 'y' } }),
      commit(20n),
    ]);
    await wh.replay({ kind: 'end' }, 'replay');
    expect(await rows('SELECT a, b FROM replay.items ORDER BY a, b')).toEqual([
      [1, 'x'],
      [1, 'z'],
    ]);
    expect(await hash('SELECT a, b FROM replay.items')).toEqual(await hash('SELECT a, b FROM main.items'));
  });

  it('keeps older raw rows readable under their schema version after columns are added, dropped and retyped', async () => {
    await wh.apply([
      schemaItem([col('id', 23, true), col('gone', 25), col('n', 23)], 'v1'),
      change('insert', 10n, 0, { row: { id: 1, gone: 'old', n: 5 }, time: T0 }),
      commit(10n),
      schemaItem([col('id', 23, true), col('n', 20), col('added', 25)], 'v2'),
      change('insert', 20n, 0, { row: { id: 2, n: 2n ** 40n, added: 'new' }, time: T0 + SEC }),
      commit(20n),
      schemaItem([col('id', 23, true), col('n', 25), col('added', 25)], 'v3'),
      change('update', 30n, 0, { row: { id: 1, n: 'text now', added: 'x' }, time: T0 + 2n * SEC }),
      commit(30n),
    ]);
    expect(
      await rows('SELECT id, gone, n::VARCHAR, added FROM _tributary_raw.items ORDER BY _tributary_lsn'),
    ).toEqual([
      [1, 'old', '5', null],
      [2, null, '1099511627776', 'new'],
      [1, null, 'text now', 'x'],
    ]);
    await wh.replay({ kind: 'end' }, 'replay');
    expect(await hash('SELECT id, n, added FROM replay.items')).toEqual(
      await hash('SELECT id, n, added FROM main.items'),
    );
    expect(await rows(`SELECT id, gone FROM _tributary_history.items WHERE valid_to IS NOT NULL`)).toEqual([
      [1, 'old'],
    ]);
  });

  it('prunes what retention lets go, keeping what the tables held at the cutoff', async () => {
    await wh.apply([
      schemaItem(V1, 'v1'),
      change('insert', 10n, 0, { row: { id: 1, v: 'a', big: 'BIG' }, time: T0 }),
      change('insert', 10n, 1, { row: { id: 2, v: 'b', big: 'B2' }, time: T0 }),
      commit(10n),
      change('update', 20n, 0, { row: { id: 1, v: 'a2' }, unchanged: ['big'], time: T0 + SEC }),
      change('delete', 20n, 1, { pk: { id: 2 }, time: T0 + SEC }),
      commit(20n),
      change('update', 30n, 0, { row: { id: 1, v: 'a3' }, unchanged: ['big'], time: T0 + 10n * SEC }),
      change('insert', 30n, 1, { row: { id: 3, v: 'c', big: 'C' }, time: T0 + 10n * SEC }),
      commit(30n),
    ]);
    const live = 'SELECT id, v, big, _tributary_lsn FROM main.items';
    const cutoff = new Date(Number((T0 + 5n * SEC) / 1000n));
    expect(await wh.pruneRaw(cutoff)).toEqual([
      { table: { schema: 'public', name: 'items' }, removed: 4, compacted: 1 },
    ]);
    expect(
      await rows(
        'SELECT _tributary_op, _tributary_lsn, id, v, big FROM _tributary_raw.items ORDER BY _tributary_lsn, _tributary_ordinal',
      ),
    ).toEqual([
      ['snapshot', '20', 1, 'a2', 'BIG'],
      ['update', '30', 1, 'a3', null],
      ['insert', '30', 3, 'c', 'C'],
    ]);
    await wh.replay({ kind: 'end' }, 'replay');
    expect(await hash('SELECT id, v, big, _tributary_lsn FROM replay.items')).toEqual(await hash(live));
    expect(
      (
        await wh.queryAsOf(
          'SELECT id, v, big FROM items ORDER BY id',
          parseReplayPoint('2023-11-14T22:13:26Z'),
        )
      ).rows,
    ).toEqual([[1, 'a2', 'BIG']]);
    await expect(wh.queryAsOf('SELECT 1', parseReplayPoint('2023-11-14T22:13:20Z'))).rejects.toThrow(
      /keeps its changes since/,
    );
    // nothing older left: a second prune removes nothing
    expect(await wh.pruneRaw(cutoff)).toEqual([]);
  });
});
