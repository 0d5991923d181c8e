/**
 * The stream into ClickHouse while a snapshot job copies a table (../../../src/warehouse/snapshot.ts
 * rules 2 and 3 on ClickHouse: snapshot-store.ts with ClickHouseWarehouse's ensureTable and
 * insertVersioned): an update that left a TOASTed column unsent for a row not copied yet is
 * written without it and its key parked, instead of failing the batch; a copy read at C never
 * overwrites a change at or after C, whatever order they land in; a truncate at or after C hides
 * a copy read at C even when the copy is inserted later.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TableSchema } from '../../../src/core/change-event.js';
import { ClickHouseWarehouse } from '../../../src/warehouse/clickhouse/clickhouse-warehouse.js';
import { snapshotVersion } from '../../../src/warehouse/clickhouse/layout.js';
import { bootstrapSnapshots, ClickHouseSnapshots } from '../../../src/warehouse/clickhouse/snapshot-store.js';
import { freshClickHouse, type TestClickHouse } from '../../helpers/clickhouse.js';
import { ins, truncate, txn, upd } from '../contract/items.js';
import { col, schemaItem } from '../items.js';

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
});
