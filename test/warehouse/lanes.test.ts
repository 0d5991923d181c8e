/**
 * A DuckDB warehouse loaded by lanes (warehouse.ts, LaneStore): each lane skips and checkpoints
 * by its own position, a batch of an older epoch than the lane's latest claim is refused and
 * writes nothing, and the lanes survive a reopen.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TableRef } from '../../src/core/table-ref.js';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { LaneLost } from '../../src/warehouse/warehouse.js';
import { change, col, commit, schemaItem } from './items.js';

const COLUMNS = [col('id', 23, true), col('v', 25)];
const A: TableRef = { schema: 'public', name: 'a' };
const B: TableRef = { schema: 'public', name: 'b' };

describe('a DuckDB warehouse loaded by lanes', () => {
  let dir: string;
  let path: string;
  let wh: DuckDBWarehouse;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-lanes-'));
    path = join(dir, 'w.duckdb');
    wh = await DuckDBWarehouse.open(path);
  });
  afterEach(async () => {
    await wh.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const rows = async (table: string) => (await wh.query(`SELECT id, v FROM ${table} ORDER BY id`)).rows;

  it('keeps a checkpoint per lane: a lane behind another still applies its changes', async () => {
    expect(await wh.claimLane({ lane: 0, epoch: 1n })).toBeNull();
    expect(await wh.claimLane({ lane: 1, epoch: 2n })).toBeNull();
    // lane 1 runs ahead with table b
    await wh.apply(
      [schemaItem(COLUMNS, 'b1', B), change('insert', 50n, 0, { row: { id: 1, v: 'b' } }, B), commit(50n)],
      { lane: 1, epoch: 2n },
    );
    // lane 0's earlier changes of table a are not skipped for it
    const cp = await wh.apply(
      [schemaItem(COLUMNS, 'a1', A), change('insert', 20n, 0, { row: { id: 1, v: 'a' } }, A), commit(20n)],
      { lane: 0, epoch: 1n },
    );
    expect(cp).toEqual({ commitLsn: 20n, ordinal: Number.MAX_SAFE_INTEGER });
    expect(await rows('a')).toEqual([[1, 'a']]);
    expect(await rows('b')).toEqual([[1, 'b']]);
    // the warehouse's checkpoint: everything up to the least lane's is applied
    expect((await wh.checkpoint())?.commitLsn).toBe(20n);
    // a replay of lane 0's batch changes nothing
    await wh.apply([change('update', 20n, 0, { row: { id: 1, v: 'replayed' } }, A), commit(20n)], {
      lane: 0,
      epoch: 1n,
    });
    expect(await rows('a')).toEqual([[1, 'a']]);
    // and the lanes survive a reopen
    await wh.close();
    wh = await DuckDBWarehouse.open(path);
    const lanes = await wh.laneCheckpoints();
    expect([lanes.get(0)?.commitLsn, lanes.get(1)?.commitLsn]).toEqual([20n, 50n]);
  });

  it('refuses a batch of an older epoch than the lane was claimed with, and writes nothing of it', async () => {
    await wh.claimLane({ lane: 0, epoch: 5n });
    await wh.apply(
      [
        schemaItem(COLUMNS, 'a1', A),
        change('insert', 10n, 0, { row: { id: 1, v: 'first' } }, A),
        commit(10n),
      ],
      { lane: 0, epoch: 5n },
    );
    // another loader takes the lane over: its claim starts where the lane is
    expect(await wh.claimLane({ lane: 0, epoch: 7n })).toEqual({
      commitLsn: 10n,
      ordinal: Number.MAX_SAFE_INTEGER,
    });
    const stale = wh.apply([change('update', 30n, 0, { row: { id: 1, v: 'stale' } }, A), commit(30n)], {
      lane: 0,
      epoch: 5n,
    });
    await expect(stale).rejects.toBeInstanceOf(LaneLost);
    expect(await rows('a')).toEqual([[1, 'first']]);
    // an older claim is refused too
    await expect(wh.claimLane({ lane: 0, epoch: 6n })).rejects.toBeInstanceOf(LaneLost);
    // the holder goes on
    await wh.apply([change('update', 30n, 0, { row: { id: 1, v: 'second' } }, A), commit(30n)], {
      lane: 0,
      epoch: 7n,
    });
    expect(await rows('a')).toEqual([[1, 'second']]);
  });

  it('starts a lane loaded for the first time at the checkpoint of a warehouse loaded straight from a slot', async () => {
    await wh.apply([
      schemaItem(COLUMNS, 'a1', A),
      change('insert', 10n, 0, { row: { id: 1, v: 'run' } }, A),
      commit(10n),
    ]);
    expect((await wh.claimLane({ lane: 0, epoch: 1n }))?.commitLsn).toBe(10n);
    // loaded by lanes now, it is not loaded straight from a slot any more
    await expect(
      wh.apply([change('update', 20n, 0, { row: { id: 1, v: 'x' } }, A), commit(20n)]),
    ).rejects.toThrow(/loaded from a JetStream feed by lanes/);
  });
});
