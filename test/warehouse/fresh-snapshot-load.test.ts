/**
 * A first run's fresh table loaded from Postgres' CSV (snapshot-csv-load.ts) without its primary
 * key (deferred-key.ts): the key is built at the job's end, and a warehouse closed while it is
 * deferred (kill -9) gets it back when it opens, keeping one copy of a key found twice — so the
 * stream's upsert and a resumed copy, which need the key, always find it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Row, TableSchema } from '../../src/core/change-event.js';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { change, col, commit, schemaItem, T } from './items.js';

const ITEM = schemaItem([col('id', 23, true), col('v', 25), col('note', 25)], 'v1');
const SCHEMA = (ITEM as { schema: TableSchema }).schema;
const PLAN = [
  { chunk: 0, fromPage: 0, toPage: 10 },
  { chunk: 1, fromPage: 10, toPage: null },
];

function decode(fields: (string | null)[]): Row {
  return { id: Number(fields[0]), v: fields[1] ?? null, note: fields[2] ?? null };
}

describe('a fresh table loaded from CSV', () => {
  let dir: string;
  let path: string;
  let wh: DuckDBWarehouse;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-fresh-'));
    path = join(dir, 'w.duckdb');
    wh = await DuckDBWarehouse.open(path);
  });
  afterEach(async () => {
    await wh.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const hasKey = async () =>
    (
      await wh.query(
        "SELECT count(*)::INTEGER FROM duckdb_constraints() WHERE table_name = 'items' AND constraint_type = 'PRIMARY KEY'",
      )
    ).rows[0]?.[0] === 1;

  async function load(chunk: number, csv: string, rows: number, job: string) {
    const file = join(dir, `chunk-${chunk}.csv`);
    writeFileSync(file, csv);
    return wh.applySnapshotFile({
      job,
      schema: SCHEMA,
      snapshotLsn: 100n,
      snapshotTime: new Date(),
      chunk,
      path: file,
      rows,
      decode,
    });
  }

  async function start(files: boolean) {
    const job = await wh.createSnapshotJob({ table: T, predicate: null, reason: 'initial', keyless: false });
    const attempt = await wh.startSnapshotAttempt(job.id, 100n, SCHEMA, PLAN, 4, { files });
    return { job: job.id, attempt };
  }

  it('reads the CSV as Postgres wrote it, without the key until the job is done', async () => {
    const { job, attempt } = await start(true);
    expect(attempt.files).toBe(true);
    expect(await hasKey()).toBe(false);
    // NULL is an unquoted empty field, the empty string a quoted one; quotes, commas, line feeds
    const result = await load(0, '1,a,"x, ""y"""\n2,,""\n3,"line\nfeed",\n', 3, job);
    expect(result).toEqual({ rows: 3, converted: 3 });
    expect((await wh.query('SELECT id, v, note, _tributary_lsn FROM items ORDER BY id')).rows).toEqual(
      [
        [1, 'a', 'x, "y"'],
        [2, null, ''],
        [3, 'line\nfeed', null],
      ].map((r) => [...r, '100']),
    );
    await load(1, '', 0, job);
    await wh.finishSnapshotJob(job, 'done');
    expect(await hasKey()).toBe(true);
    const chunks = await wh.query(
      'SELECT chunk, done, rows::INTEGER FROM _tributary.snapshot_chunks ORDER BY chunk',
    );
    expect(chunks.rows).toEqual([
      [0, true, 3],
      [1, true, 0],
    ]);
  });

  it('loads a chunk larger than a row group whole into the table and the raw zone', async () => {
    // DuckDB once found none of a 250,000-row insert of the same transaction when the table
    // was filled from the raw zone's rows by their batch: a quarter of a 1M-row snapshot lost
    const { job } = await start(true);
    const rows = 250_000;
    const csv = Array.from({ length: rows }, (_, i) => `${i},v${i},${i % 7 === 0 ? '' : `n${i}`}`).join('\n');
    expect(await load(0, `${csv}\n`, rows, job)).toEqual({ rows, converted: rows });
    await load(1, '', 0, job);
    await wh.finishSnapshotJob(job, 'done');
    const count = async (sql: string) => Number((await wh.query(sql)).rows[0]?.[0]);
    expect(await count('SELECT count(*) FROM main.items')).toBe(rows);
    expect(await count("SELECT count(*) FROM _tributary_raw.items WHERE _tributary_op = 'snapshot'")).toBe(
      rows,
    );
  });

  it('gets its key back when the warehouse opens again, keeping one copy of a key found twice', async () => {
    const { job } = await start(true);
    await load(0, '1,a,x\n2,b,y\n', 2, job);
    await load(1, '2,b,y\n', 1, job); // no load does this; the open must still end with the key
    expect(await hasKey()).toBe(false);
    await wh.close();
    wh = await DuckDBWarehouse.open(path);
    expect(await hasKey()).toBe(true);
    expect((await wh.query('SELECT id, v FROM items ORDER BY id')).rows).toEqual([
      [1, 'a'],
      [2, 'b'],
    ]);
    // the stream's upsert needs the key
    await wh.apply([change('update', 200n, 0, { row: { id: 2, v: 'c', note: 'y' } }), commit(200n)]);
    expect((await wh.query('SELECT id, v FROM items ORDER BY id')).rows).toEqual([
      [1, 'a'],
      [2, 'c'],
    ]);
  });

  it('is not loaded from files while the stream runs, nor when the table holds rows', async () => {
    const online = await start(false);
    expect(online.attempt.files).toBe(false);
    expect(await hasKey()).toBe(true);
    await wh.apply([change('insert', 200n, 0, { row: { id: 9, v: 'z', note: null } }), commit(200n)]);
    await wh.finishSnapshotJob(online.job, 'done');
    const again = await start(true);
    expect(again.attempt.files).toBe(false);
    expect(await hasKey()).toBe(true);
  });
});
