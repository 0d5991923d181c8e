/**
 * The ClickHouse snapshot store's own state on a real engine (chdb): jobs and chunks survive a
 * reopen, rows land with the snapshot's version (below every later change), parks open and
 * resolve by version. The warehouse side (ensureTable, insertVersioned) is a plain
 * ReplacingMergeTree here; the warehouse's own tests cover its tables.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Row, TableSchema } from '../../../src/core/change-event.js';
import { quoteName } from '../../../src/warehouse/clickhouse/connect.js';
import { positionVersion, snapshotVersion } from '../../../src/warehouse/clickhouse/layout.js';
import {
  bootstrapSnapshots,
  ClickHouseSnapshots,
  type ParkFill,
  parkingId,
} from '../../../src/warehouse/clickhouse/snapshot-store.js';
import { freshClickHouse, type TestClickHouse } from '../../helpers/clickhouse.js';

const schema: TableSchema = {
  table: { schema: 'public', name: 'items' },
  relationOid: 1,
  version: 'v1',
  columns: [
    { name: 'id', typeOid: 20, typeModifier: -1, isKey: true },
    { name: 'v', typeOid: 25, typeModifier: -1, isKey: false },
  ],
  key: ['id'],
  replicaIdentity: 'default',
};

describe('ClickHouse snapshot store', () => {
  let ch: TestClickHouse;
  let store: ClickHouseSnapshots;
  const storage = quoteName('_tributary_rows_items');

  let fills: ParkFill[];
  let fillLeft: Map<string, string[]>;

  beforeEach(async () => {
    fills = [];
    fillLeft = new Map();
    ch = await freshClickHouse('snap');
    await bootstrapSnapshots(ch.connection.client);
    store = new ClickHouseSnapshots({
      client: ch.connection.client,
      ensureTable: async () => {
        await ch.connection.client.command({
          query: `CREATE TABLE IF NOT EXISTS ${storage} (id Int64, v Nullable(String), _tributary_version UInt128,
            _tributary_deleted UInt8) ENGINE = ReplacingMergeTree(_tributary_version, _tributary_deleted) ORDER BY id`,
        });
      },
      fillParks: async (_schema, asked) => {
        fills.push(...asked);
        return asked.map((f) => fillLeft.get(String(f.key.id)) ?? null);
      },
      insertVersioned: async (_schema, rows, version) => {
        await ch.connection.client.insert({
          table: '_tributary_rows_items',
          values: rows.map((r) => ({
            id: String(r.id),
            v: r.v,
            _tributary_version: version,
            _tributary_deleted: 0,
          })),
          format: 'JSONEachRow',
        });
      },
      readsCsv: () => false,
      loadCsv: async () => {
        throw new Error('no CSV in this test');
      },
    });
  });
  afterEach(async () => ch.drop());

  /** A backfill job of the whole table, its attempt begun at `lsn` (one chunk). */
  const backfillAt = async (lsn: bigint) => {
    const job = await store.createSnapshotJob({
      table: schema.table,
      predicate: null,
      reason: 'backfill',
      keyless: false,
    });
    await store.startSnapshotAttempt(job.id, lsn, schema, [{ chunk: 0, fromPage: 0, toPage: null }], null);
    return job;
  };

  const held = () =>
    ch.rows<{ id: string; v: string }>(
      `SELECT id, v FROM ${storage} FINAL WHERE NOT _tributary_deleted ORDER BY id`,
    );

  it('records a job, its chunks and its progress; a second attempt keeps the chunks done', async () => {
    const job = await store.createSnapshotJob({
      table: schema.table,
      predicate: null,
      reason: 'initial',
      keyless: false,
    });
    expect(job).toMatchObject({ state: 'pending', attempt: 0, rowsDone: 0 });
    const plan = [
      { chunk: 0, fromPage: 0, toPage: 10 },
      { chunk: 1, fromPage: 10, toPage: null },
    ];
    const first = await store.startSnapshotAttempt(job.id, 100n, schema, plan, 4);
    expect(first.chunks.map((c) => c.done)).toEqual([false, false]);
    const rows: Row[] = [
      { id: 1n, v: 'a' },
      { id: 2n, v: 'b' },
    ];
    await store.applySnapshotRows({
      job: job.id,
      schema,
      snapshotLsn: 100n,
      snapshotTime: new Date(),
      rows,
      chunk: 0,
      last: true,
    });
    const second = await store.startSnapshotAttempt(job.id, 200n, schema, plan, 4);
    expect(second.chunks.map((c) => [c.done, c.rows, c.snapshotLsn])).toEqual([
      [true, 2, 100n],
      [false, 0, null],
    ]);
    const [again] = await store.snapshotJobs();
    expect(again).toMatchObject({
      state: 'running',
      attempt: 2,
      rowsDone: 2,
      rowsEstimated: 4,
      snapshotLsn: 200n,
    });
    expect(again?.startedAt).toBeInstanceOf(Date);
    await store.finishSnapshotJob(job.id, 'done');
    expect((await store.snapshotJobs())[0]).toMatchObject({ state: 'done' });
    expect(await held()).toEqual([
      { id: '1', v: 'a' },
      { id: '2', v: 'b' },
    ]);
  });

  it('a copy read at C never overwrites a change at or after C, inserted before or after it', async () => {
    const job = await backfillAt(500n);
    // the stream's changes: key 1 updated at 500#0 (before the copy lands), key 2 deleted at 600#3 (after)
    const client = ch.connection.client;
    await client.insert({
      table: '_tributary_rows_items',
      values: [
        {
          id: '1',
          v: 'new',
          _tributary_version: positionVersion({ commitLsn: 500n, ordinal: 0 }),
          _tributary_deleted: 0,
        },
      ],
      format: 'JSONEachRow',
    });
    await store.applySnapshotRows({
      job: job.id,
      schema,
      snapshotLsn: 500n,
      snapshotTime: new Date(),
      rows: [
        { id: 1n, v: 'stale' },
        { id: 2n, v: 'copied' },
        { id: 3n, v: 'kept' },
      ],
      chunk: 0,
      last: true,
    });
    await client.insert({
      table: '_tributary_rows_items',
      values: [
        {
          id: '2',
          v: null,
          _tributary_version: positionVersion({ commitLsn: 600n, ordinal: 3 }),
          _tributary_deleted: 1,
        },
      ],
      format: 'JSONEachRow',
    });
    expect(await held()).toEqual([
      { id: '1', v: 'new' },
      { id: '3', v: 'kept' },
    ]);
  });

  it('discards rows read before a truncate the stream applied while the job ran', async () => {
    const job = await backfillAt(500n);
    expect(await store.parkingTables()).toEqual(new Set([parkingId('public', 'items')]));
    await store.markTruncate(schema.table, 700n);
    const written = await store.applySnapshotRows({
      job: job.id,
      schema,
      snapshotLsn: 500n,
      snapshotTime: new Date(),
      rows: [{ id: 1n, v: 'gone' }],
      chunk: 0,
      last: true,
    });
    expect(written).toBe(0);
    expect(await held()).toEqual([]);
    expect((await store.snapshotJobs())[0]?.truncatedLsn).toBe(700n);
  });

  it('settles parked keys with their copies: filled where the copy is older, open where columns are left', async () => {
    const job = await backfillAt(500n);
    const at = (lsn: bigint) => positionVersion({ commitLsn: lsn, ordinal: 0 });
    await store.writeParks(schema, [
      { key: { id: 7n }, version: at(600n), unknown: ['v'] },
      { key: { id: -9_223_372_036_854_775_808n }, version: at(600n), unknown: ['v'] },
      { key: { id: 8n }, version: at(900n), unknown: ['v'] },
      { key: { id: 9n }, version: at(900n), unknown: ['v'] },
    ]);
    // a later change of 9 resolves its park (a full row)
    await store.writeParks(schema, [{ key: { id: 9n }, version: at(950n), unknown: null }]);
    expect(await store.parkingTables()).toEqual(new Set([parkingId('public', 'items')]));
    const parked = await store.parkedKeys(job.id, 100);
    expect(parked.map((k) => k.id).sort()).toEqual([-9_223_372_036_854_775_808n, 7n, 8n]);
    const states = await store.parkStates(schema, [{ id: 8n }, { id: 9n }, { id: 10n }]);
    expect(states).toEqual([{ version: BigInt(at(900n)), unknown: ['v'] }, null, null]);

    fillLeft.set('7', ['added_later']);
    await store.applySnapshotRows({
      job: job.id,
      schema,
      snapshotLsn: 800n,
      snapshotTime: new Date(),
      rows: [
        { id: 7n, v: 'whole' },
        { id: 8n, v: 'older than its park' },
      ],
      chunk: null,
      last: false,
      reread: parked,
    });
    // every open park asked for went to the fill, with its copy (none for the key not found)
    expect(fills.map((f) => [String(f.key.id), f.copy?.v ?? null, f.park.unknown]).sort()).toEqual([
      ['-9223372036854775808', null, ['v']],
      ['7', 'whole', ['v']],
      ['8', 'older than its park', ['v']],
    ]);
    // 7's fill left a column open: still parked, on that column only; the others settled
    expect((await store.parkedKeys(job.id, 100)).map((k) => k.id)).toEqual([7n]);
    const [seven] = await store.parkStates(schema, [{ id: 7n }]);
    expect(seven?.unknown).toEqual(['added_later']);
    // settled above its own version and above the copy's
    const resolved = await ch.rows<{ key: string; version: string }>(
      `SELECT key, toString(version) AS version FROM _tributary_parks FINAL WHERE resolved ORDER BY key`,
    );
    const versions = new Map(resolved.map((r) => [JSON.parse(r.key)[0][3] as string, BigInt(r.version)]));
    expect(versions.get('8')).toBeGreaterThan(BigInt(at(900n)));
    expect(versions.get('8')).toBeLessThan(BigInt(at(901n)));
    expect(versions.get('-9223372036854775808')).toBe(BigInt(snapshotVersion(800n)));
    expect(await store.parkingTables()).toEqual(new Set([parkingId('public', 'items')]));
  });
});
