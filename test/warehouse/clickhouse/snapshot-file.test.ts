/**
 * The ClickHouse snapshot store's CSV chunks (snapshot-csv.ts, `applySnapshotFile`) on chdb,
 * with files as Postgres writes them: a chunk applied twice (a crash before its `done`, the
 * runner sending it again) leaves no duplicate, not even in storage; a chunk with a value its
 * column cannot hold writes nothing and says SINK (the runner then reads it as rows); and the
 * attempt takes files only where the contract allows (an empty table, every column read exactly).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ColumnSchema, TableSchema } from '../../../src/core/change-event.js';
import { ClickHouseWarehouse } from '../../../src/warehouse/clickhouse/clickhouse-warehouse.js';
import { quoteName } from '../../../src/warehouse/clickhouse/connect.js';
import type { SnapshotFile } from '../../../src/warehouse/snapshot.js';
import { freshClickHouse, type TestClickHouse } from '../../helpers/clickhouse.js';

const column = (name: string, typeOid: number, isKey = false): ColumnSchema => ({
  name,
  typeOid,
  typeModifier: -1,
  isKey,
});

const KEYLESS: TableSchema = {
  table: { schema: 'public', name: 'pairs' },
  relationOid: 1,
  version: 'v1',
  columns: [column('a', 23, true), column('t', 25, true)],
  key: ['a', 't'],
  replicaIdentity: 'full',
};

const KEYED: TableSchema = {
  table: { schema: 'public', name: 'days' },
  relationOid: 2,
  version: 'v1',
  columns: [column('id', 23, true), column('d', 1082)],
  key: ['id'],
  replicaIdentity: 'default',
};

const C = 0x16b3748n;

describe('ClickHouse snapshot chunks from CSV files', () => {
  let ch: TestClickHouse;
  let wh: ClickHouseWarehouse;
  let dir: string;

  beforeEach(async () => {
    ch = await freshClickHouse('snapfile');
    wh = await ClickHouseWarehouse.open(ch.url);
    dir = mkdtempSync(join(tmpdir(), 'tributary-snapfile-'));
  });
  afterEach(async () => {
    await wh.close();
    await ch.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(schema: TableSchema, keyless: boolean) {
    const job = await wh.createSnapshotJob({
      table: schema.table,
      predicate: null,
      reason: 'initial',
      keyless,
    });
    const attempt = await wh.startSnapshotAttempt(
      job.id,
      C,
      schema,
      [
        { chunk: 0, fromPage: 0, toPage: 10 },
        { chunk: 1, fromPage: 10, toPage: null },
      ],
      null,
      { files: true },
    );
    return { job, attempt };
  }

  function file(job: string, schema: TableSchema, chunk: number, csv: string, rows: number): SnapshotFile {
    const path = join(dir, `${job}-${chunk}.csv`);
    writeFileSync(path, csv);
    return {
      job,
      schema,
      snapshotLsn: C,
      snapshotTime: new Date(),
      chunk,
      path,
      rows,
      decode: () => {
        throw new Error('not through the decoders');
      },
    };
  }

  const count = async (from: string) =>
    Number((await ch.rows<{ n: string }>(`SELECT count() AS n FROM ${quoteName(from)}`))[0]?.n);

  it('applies a chunk sent twice once: no duplicate copy of a multiset, in the view or in storage', async () => {
    const { job, attempt } = await start(KEYLESS, true);
    expect(attempt.files).toBe(true);
    const chunk = file(job.id, KEYLESS, 0, '1,a\n1,a\n2,\n2,""\n', 4);
    expect(await wh.applySnapshotFile(chunk)).toEqual({ rows: 4, converted: 4 });
    expect(await wh.applySnapshotFile(chunk)).toEqual({ rows: 4, converted: 4 });
    expect(await count('_tributary_rows_pairs')).toBe(4);
    expect(await ch.rows('SELECT a, t FROM pairs ORDER BY a, t')).toEqual([
      { a: 1, t: 'a' },
      { a: 1, t: 'a' },
      { a: 2, t: '' },
      { a: 2, t: null },
    ]);
    // the next chunk's copies are copies of their own, beside the first chunk's
    await wh.applySnapshotFile(file(job.id, KEYLESS, 1, '1,a\n', 1));
    expect(await count('pairs')).toBe(5);
    const versions = await ch.rows<{ v: string; l: string }>(
      'SELECT DISTINCT toString(_tributary_version) AS v, toString(_tributary_lsn) AS l FROM _tributary_rows_pairs',
    );
    expect(versions).toEqual([{ v: (C << 64n).toString(), l: C.toString() }]);
    const [done] = (await wh.snapshotJobs()).filter((j) => j.id === job.id);
    expect(done?.rowsDone).toBe(9); // what was applied, as applySnapshotRows counts it
  });

  it('writes nothing of a chunk holding a value its column cannot hold, and says SINK', async () => {
    const { job, attempt } = await start(KEYED, false);
    expect(attempt.files).toBe(true);
    const rows = Array.from({ length: 5000 }, (_, i) => `${i},2001-01-01`);
    rows.push('5000,1800-01-01');
    await expect(
      wh.applySnapshotFile(file(job.id, KEYED, 0, `${rows.join('\n')}\n`, 5001)),
    ).rejects.toMatchObject({
      code: 'SINK',
    });
    expect(await count('_tributary_rows_days')).toBe(0);
    await expect(wh.applySnapshotFile(file(job.id, KEYED, 0, '1,2299-12-31\n2,\n', 2))).resolves.toEqual({
      rows: 2,
      converted: 2,
    });
    expect(await ch.rows('SELECT id, toString(d) AS d FROM days ORDER BY id')).toEqual([
      { id: 1, d: '2299-12-31' },
      { id: 2, d: null },
    ]);
  });

  it('takes files only into an empty table whose every column is read exactly', async () => {
    const first = await start(KEYED, false);
    expect(first.attempt.files).toBe(true);
    await wh.applySnapshotFile(file(first.job.id, KEYED, 0, '1,2000-01-01\n', 1));
    // the same table again, now holding a row
    const again = await start(KEYED, false);
    expect(again.attempt.files).toBe(false);
    // an interval column: its text is not what the row path stores
    const spans: TableSchema = {
      ...KEYED,
      table: { schema: 'public', name: 'spans' },
      columns: [column('id', 23, true), column('span', 1186)],
    };
    expect((await start(spans, false)).attempt.files).toBe(false);
  });
});
