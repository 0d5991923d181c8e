/**
 * The stream into ClickHouse while a snapshot job copies a table (../../../src/warehouse/snapshot.ts
 * rules 2 and 3 on ClickHouse: snapshot-store.ts with ClickHouseWarehouse's ensureTable and
 * insertVersioned): an update that left a TOASTed column unsent for a row not copied yet is
 * written with a placeholder and its key parked, instead of failing the batch, and the copy fills
 * the placeholder however the stream changed the row meanwhile; a copy read at C never
 * overwrites a change at or after C, whatever order they land in; a truncate at or after C hides
 * a copy read at C even when the copy is inserted later.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Row, TableSchema } from '../../../src/core/change-event.js';
import { ClickHouseWarehouse } from '../../../src/warehouse/clickhouse/clickhouse-warehouse.js';
import { snapshotVersion } from '../../../src/warehouse/clickhouse/layout.js';
import { bootstrapSnapshots, ClickHouseSnapshots } from '../../../src/warehouse/clickhouse/snapshot-store.js';
import { freshClickHouse, type TestClickHouse } from '../../helpers/clickhouse.js';
import { del, delRow, ins, insRow, move, truncate, txn, upd } from '../contract/items.js';
import { col, keylessSchemaItem, schemaItem } from '../items.js';

const item = schemaItem([col('id', 23, true), col('v', 25), col('doc', 25)], 'docs-1');
const schema = (item as { schema: TableSchema }).schema;

describe('the stream into ClickHouse during a snapshot job', () => {
  let ch: TestClickHouse;
  let wh: ClickHouseWarehouse;
  let snapshots: ClickHouseSnapshots;
  beforeEach(async () => {
    ch = await freshClickHouse('snapstream');
    wh = await ClickHouseWarehouse.open(ch.url);
    await bootstrapSnapshots(wh.client);
    snapshots = new ClickHouseSnapshots(wh.snapshotTarget());
    wh.useSnapshots(snapshots);
  });
  afterEach(async () => {
    await wh.close();
    await ch.drop();
  });
  const view = async () => (await wh.query('SELECT id, v, doc FROM items ORDER BY id')).rows;
  /** Rows of `job` read at `lsn`: a whole chunk 0, or a re-read of `reread` (parked keys). */
  const copied = (job: string, lsn: bigint, rows: Row[], reread?: Row[]) =>
    snapshots.applySnapshotRows({
      job,
      schema,
      snapshotLsn: lsn,
      snapshotTime: new Date(),
      rows,
      ...(reread ? { chunk: null, last: false, reread } : { chunk: 0, last: true }),
    });

  it('parks a partial update of a row not copied yet; versions settle copy against stream', async () => {
    await wh.apply([item, ...txn(10n, ins({ id: 1, v: 'a', doc: 'd1' }))]);
    // no job: the row's unsent value is unknown, the batch fails
    await expect(wh.apply(txn(20n, upd({ id: 2, v: 'b2' }, ['doc'])))).rejects.toThrow(/does not hold/);
    const job = await snapshots.createSnapshotJob({
      table: schema.table,
      predicate: null,
      reason: 'backfill',
      keyless: false,
    });
    await wh.apply(txn(20n, upd({ id: 2, v: 'b2' }, ['doc']), upd({ id: 1, v: 'a2' }, ['doc'])));
    expect(await view()).toEqual([
      [1, 'a2', 'd1'],
      [2, 'b2', null],
    ]);
    expect(await snapshots.parkedKeys(job.id, 10)).toEqual([{ id: 2 }]);
    // a copy read at 15 (before the update) lands after it: the update stays
    await wh.insertVersioned(schema, [{ id: 2, v: 'b-old', doc: 'D' }], snapshotVersion(15n), 'chunk-15');
    expect(await view()).toEqual([
      [1, 'a2', 'd1'],
      [2, 'b2', null],
    ]);
    // the re-read at 30 (after it) outranks the partial row; the same chunk again changes nothing
    await wh.insertVersioned(schema, [{ id: 2, v: 'b2', doc: 'D' }], snapshotVersion(30n), 'chunk-30');
    await wh.insertVersioned(schema, [{ id: 2, v: 'b2', doc: 'D' }], snapshotVersion(30n), 'chunk-30');
    expect(await view()).toEqual([
      [1, 'a2', 'd1'],
      [2, 'b2', 'D'],
    ]);
    expect(
      Number(
        (await ch.rows<{ n: string }>('SELECT count() AS n FROM `_tributary_rows_items` WHERE id = 2'))[0]?.n,
      ),
    ).toBeLessThanOrEqual(3);
    // a truncate at 40, then a copy read at 35 inserted late: hidden (rule 3); the job knows
    await wh.apply(txn(40n, truncate(), ins({ id: 5, v: 'e', doc: 'd5' })));
    await wh.insertVersioned(schema, [{ id: 3, v: 'c', doc: 'd3' }], snapshotVersion(35n), 'chunk-35');
    expect(await view()).toEqual([[5, 'e', 'd5']]);
    expect((await snapshots.snapshotJobs())[0]?.truncatedLsn).toBe(40n);
  });

  it('fills the placeholders of a parked row the stream updated again before the copy landed, in one round', async () => {
    await wh.apply([item, ...txn(10n, ins({ id: 1, v: 'a', doc: 'd1' }))]);
    const job = await snapshots.createSnapshotJob({
      table: schema.table,
      predicate: null,
      reason: 'backfill',
      keyless: false,
    });
    await snapshots.startSnapshotAttempt(job.id, 5n, schema, [{ chunk: 0, fromPage: 0, toPage: null }], null);
    // rows 2–5 are not held yet: their partial updates are written with a placeholder and parked
    await wh.apply(
      txn(
        20n,
        upd({ id: 2, v: 'b2' }, ['doc']),
        upd({ id: 3, v: 'c2' }, ['doc']),
        upd({ id: 4, v: 'd2' }, ['doc']),
        upd({ id: 5, v: 'e2' }, ['doc']),
      ),
    );
    const parked = await snapshots.parkedKeys(job.id, 10);
    expect(parked.map((k) => k.id)).toEqual([2, 3, 4, 5]);
    // the stream goes on before any copy lands: 2 partial again (still a placeholder), 3 whole,
    // 4 deleted — the last two settle their parks, whatever a copy says later
    await wh.apply(
      txn(30n, upd({ id: 2, v: 'b3' }, ['doc']), upd({ id: 3, v: 'c3', doc: 'C-new' }), del({ id: 4 })),
    );
    expect((await snapshots.parkedKeys(job.id, 10)).map((k) => k.id)).toEqual([2, 5]);
    // the chunk read at 5 (before every update) holds 5: its stored row is newer, so it is
    // repaired — the copy's doc in the placeholder, the stream's v kept
    await copied(job.id, 5n, [{ id: 5, v: 'e', doc: 'E' }]);
    // the re-read of 2 at 25: the stream has already applied 30, carried from the partial row;
    // the copy fills the newer row too (a second round is not needed)
    const reread = await snapshots.parkedKeys(job.id, 10);
    expect(reread.map((k) => k.id)).toEqual([2]);
    const rows = [
      { id: 2, v: 'b2', doc: 'B' },
      { id: 3, v: 'c2', doc: 'C-old' },
    ];
    await copied(job.id, 25n, rows, reread);
    const expected = [
      [1, 'a', 'd1'],
      [2, 'b3', 'B'],
      [3, 'c3', 'C-new'],
      [5, 'e2', 'E'],
    ];
    expect(await view()).toEqual(expected);
    expect(await snapshots.parkedKeys(job.id, 10)).toEqual([]);
    // the same re-read again (a crash before the runner recorded it) changes nothing
    await copied(job.id, 25n, rows, [{ id: 2 }]);
    expect(await view()).toEqual(expected);
    // a later partial update carries the filled value, without parking
    await wh.apply(txn(40n, upd({ id: 2, v: 'b4' }, ['doc'])));
    expect(await view()).toEqual([[1, 'a', 'd1'], [2, 'b4', 'B'], expected[2], expected[3]]);
    expect(await snapshots.parkedKeys(job.id, 10)).toEqual([]);
  });

  it("keeps a parked key moved to another key parked, and keeps a failed job's open parks up to date", async () => {
    const job = await snapshots.createSnapshotJob({
      table: schema.table,
      predicate: null,
      reason: 'backfill',
      keyless: false,
    });
    await wh.apply([item]);
    await snapshots.startSnapshotAttempt(job.id, 5n, schema, [{ chunk: 0, fromPage: 0, toPage: null }], null);
    await wh.apply(txn(20n, upd({ id: 2, v: 'b2' }, ['doc']), upd({ id: 6, v: 'f2' }, ['doc'])));
    // 2 moves to 7 keeping doc unsent: 7's row carries the placeholder, so 7 is parked instead
    await wh.apply(txn(30n, move({ id: 2 }, { id: 7, v: 'g' }, ['doc'])));
    expect((await snapshots.parkedKeys(job.id, 10)).map((k) => k.id)).toEqual([6, 7]);
    // the job fails with parks open: the stream keeps them up to date all the same
    await snapshots.finishSnapshotJob(job.id, 'failed', 'gave up');
    await wh.apply(txn(40n, upd({ id: 6, v: 'f3', doc: 'F-new' })));
    const [six, seven] = await snapshots.parkStates(schema, [{ id: 6 }, { id: 7 }]);
    expect(six).toBeNull();
    expect(seven?.unknown).toEqual(['doc']);
    // a backfill's copy of 7 read at 35 fills it
    const again = await snapshots.createSnapshotJob({
      table: schema.table,
      predicate: null,
      reason: 'backfill',
      keyless: false,
    });
    await snapshots.startSnapshotAttempt(
      again.id,
      35n,
      schema,
      [{ chunk: 0, fromPage: 0, toPage: null }],
      null,
    );
    await copied(again.id, 35n, [
      { id: 6, v: 'f2', doc: 'F-old' },
      { id: 7, v: 'g', doc: 'G' },
    ]);
    expect(await view()).toEqual([
      [6, 'f3', 'F-new'],
      [7, 'g', 'G'],
    ]);
    expect(await snapshots.parkedKeys(again.id, 10)).toEqual([]);
  });

  it('copies a table without a primary key as copies of their own, once per chunk token, that the stream then ends one by one', async () => {
    const LOG = { schema: 'public', name: 'log' };
    const logItem = keylessSchemaItem([col('seq', 23), col('msg', 25)], 'log-1', LOG);
    const logSchema = (logItem as { schema: TableSchema }).schema;
    await wh.ensureTable(logSchema);
    const A = { seq: 1, msg: 'a' };
    const B = { seq: 2, msg: null };
    await wh.insertVersioned(logSchema, [A, A, B], snapshotVersion(10n), 'log-chunk-0');
    await wh.insertVersioned(logSchema, [A, A, B], snapshotVersion(10n), 'log-chunk-0');
    const log = async () => (await wh.query('SELECT seq, msg FROM log ORDER BY seq, msg')).rows;
    expect(await log()).toEqual([
      [1, 'a'],
      [1, 'a'],
      [2, null],
    ]);
    await wh.apply([logItem, ...txn(20n, delRow(LOG, A), delRow(LOG, B), insRow(LOG, B))]);
    expect(await log()).toEqual([
      [1, 'a'],
      [2, null],
    ]);
    await expect(wh.apply(txn(30n, delRow(LOG, A), delRow(LOG, A)))).rejects.toThrow(/does not hold/);
    expect(await log()).toEqual([
      [1, 'a'],
      [2, null],
    ]);
  });

  it('never takes a table back to an older shape than the stream brought: ensureTable with the snapshot LSN', async () => {
    const v2 = schemaItem([col('id', 23, true), col('v', 25), col('doc', 25), col('note', 25)], 'docs-2');
    await wh.apply([
      item,
      ...txn(10n, ins({ id: 1, v: 'a', doc: 'd' })),
      v2,
      ...txn(50n, upd({ id: 1, v: 'a', doc: 'd', note: 'n' })),
    ]);
    // a snapshot read at 40 with the shape then (docs-1): the stream's docs-2, from 50, stays
    await wh.ensureTable(schema, 40n);
    await wh.insertVersioned(schema, [{ id: 2, v: 'b', doc: 'd2' }], snapshotVersion(40n), 'old-shape');
    expect((await wh.query('SELECT id, v, doc, note FROM items ORDER BY id')).rows).toEqual([
      [1, 'a', 'd', 'n'],
      [2, 'b', 'd2', null],
    ]);
    // read at 60 (after the stream's shape), docs-1 is the source's shape now: the table follows
    await wh.ensureTable(schema, 60n);
    expect((await wh.query('SELECT * FROM items')).columns).toEqual([
      'id',
      'v',
      'doc',
      '_tributary_lsn',
      '_tributary_synced_at',
    ]);
  });
});
