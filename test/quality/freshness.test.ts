/**
 * The freshness check on the warehouse alone (hand-built stream items with commit times, the
 * clock passed in): end-to-end lag from the commit time kept with the checkpoint, per-table age
 * from the raw zone or, without one, from `_tributary_synced_at`; thresholds applied as given;
 * a file from before commit times were kept gains the column and falls back to `updated_at`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CheckSpec } from '../../src/quality/check-spec.js';
import { ChecksSchema } from '../../src/quality/check-spec.js';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { change, col, commit, schemaItem } from '../warehouse/items.js';

const T0 = Date.parse('2026-11-19T10:00:00Z');
const at = (ms: number) => () => new Date(T0 + ms);
const micros = (ms: number) => BigInt(T0 + ms) * 1000n;
const OTHER = { schema: 'public', name: 'other' };

function checks(raw: unknown[]): CheckSpec[] {
  return ChecksSchema.parse(raw);
}

describe('freshness check', () => {
  let dir: string;
  let wh: DuckDBWarehouse | null;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-freshness-'));
    wh = null;
  });
  afterEach(async () => {
    await wh?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function open(raw = true): Promise<DuckDBWarehouse> {
    wh = await DuckDBWarehouse.open(join(dir, 'w.duckdb'), { raw });
    return wh;
  }

  async function load(warehouse: DuckDBWarehouse): Promise<void> {
    const columns = [col('id', 23, true), col('v', 25)];
    await warehouse.apply([
      schemaItem(columns, 'v1'),
      schemaItem(columns, 'v1', OTHER),
      change('insert', 10n, 0, { row: { id: 1, v: 'a' }, time: micros(0) }, OTHER),
      commit(10n),
      change('insert', 20n, 0, { row: { id: 1, v: 'a' }, time: micros(5_000) }),
      commit(20n),
    ]);
  }

  it('judges the end-to-end lag from the checkpoint against each threshold given', async () => {
    const warehouse = await open();
    await load(warehouse);
    const both = checks([{ name: 'lag', type: 'freshness', warn: '2s', error: '5s' }]);
    const statusAt = async (spec: CheckSpec[], ms: number) => (await warehouse.check(spec, at(ms)))[0];
    expect(await statusAt(both, 6_000)).toMatchObject({
      status: 'pass',
      observed: { ageSeconds: 1, lastCommitTime: '2026-11-19T10:00:05.000Z', from: 'checkpoint.commit_time' },
    });
    expect((await statusAt(both, 8_000))?.status).toBe('warn');
    expect((await statusAt(both, 10_000))?.status).toBe('fail');
    // one threshold: only that level applies
    const errorOnly = checks([{ name: 'e', type: 'freshness', error: '5s' }]);
    expect((await statusAt(errorOnly, 8_000))?.status).toBe('pass');
    const warnOnly = checks([{ name: 'w', type: 'freshness', warn: '2s' }]);
    expect((await statusAt(warnOnly, 60_000))?.status).toBe('warn');
    // a warn-severity check never fails
    const capped = checks([{ name: 'c', type: 'freshness', error: '5s', severity: 'warn' }]);
    expect((await statusAt(capped, 60_000))?.status).toBe('warn');
  });

  it("judges a table's last change from the raw zone", async () => {
    const warehouse = await open();
    await load(warehouse);
    const [other, items] = await warehouse.check(
      checks([
        { name: 'other', type: 'freshness', table: 'other', error: '3s' },
        { name: 'items', type: 'freshness', table: 'public.items', error: '3s' },
      ]),
      at(5_000),
    );
    expect(other).toMatchObject({
      status: 'fail',
      observed: { ageSeconds: 5, from: 'raw zone commit time' },
    });
    expect(items).toMatchObject({ status: 'pass', observed: { ageSeconds: 0 } });
  });

  it('without a raw zone, from the time rows were synced', async () => {
    const warehouse = await open(false);
    await load(warehouse);
    const spec = checks([{ name: 't', type: 'freshness', table: 'items', warn: '1h' }]);
    const [now] = await warehouse.check(spec);
    expect(now).toMatchObject({ status: 'pass', observed: { from: '_tributary_synced_at' } });
    const [later] = await warehouse.check(spec, () => new Date(Date.now() + 2 * 3_600_000));
    expect(later?.status).toBe('warn');
  });

  it('migrates a checkpoint from before commit times were kept', async () => {
    const path = join(dir, 'w.duckdb');
    const old = await DuckDBInstance.create(path);
    const c = await old.connect();
    await c.run('CREATE SCHEMA _tributary');
    await c.run(
      'CREATE TABLE _tributary.checkpoint (commit_lsn UBIGINT NOT NULL, ordinal BIGINT NOT NULL, updated_at TIMESTAMPTZ NOT NULL)',
    );
    await c.run("INSERT INTO _tributary.checkpoint VALUES (5, 0, TIMESTAMPTZ '2026-11-19 09:00:00+00')");
    c.closeSync();
    old.closeSync();
    const warehouse = await open();
    const spec = checks([{ name: 'lag', type: 'freshness', error: '1h' }]);
    expect((await warehouse.check(spec, at(0)))[0]).toMatchObject({
      status: 'fail',
      observed: { ageSeconds: 3600, from: 'checkpoint.updated_at' },
    });
    await load(warehouse);
    expect((await warehouse.check(spec, at(5_000)))[0]).toMatchObject({
      status: 'pass',
      observed: { ageSeconds: 0, from: 'checkpoint.commit_time' },
    });
    expect(await warehouse.checkpoint()).toEqual({ commitLsn: 20n, ordinal: Number.MAX_SAFE_INTEGER });
  });
});
