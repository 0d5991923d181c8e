/**
 * kill -9 of `tributary run`, at random moments, while a writer commits what this session's
 * warehouse changes handle: a table without a primary key holding duplicate rows (one copy
 * deleted or updated at a time, by ctid), a numeric(8,2) column that gets NaN (the column
 * widens to VARCHAR), an int[] column that gets 2-D arrays (it widens to JSON), and, midway,
 * ADD COLUMN … DEFAULT (rows stored before get the default). Each restart resumes from the
 * warehouse checkpoint; at the end the warehouse equals the source, as a multiset.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { newestBinaries } from '../harness/postgres.js';
import { useCluster } from '../harness/use-cluster.js';
import { startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/events.js';
import { expectRawZoneExact } from '../helpers/kill-run.js';
import { queryWarehouse, waitForWarehouse } from '../helpers/warehouse.js';

const ROUNDS = 4;

const DDL = `
  CREATE TABLE hostile (id int PRIMARY KEY, amount numeric(8,2), grid int[]);
  CREATE TABLE dup_log (kind text, n int);
  ALTER TABLE dup_log REPLICA IDENTITY FULL;`;

/** One transaction of the workload, chosen by `step`; `added` once the column exists. */
async function writeStep(client: pg.Client, step: number, added: boolean): Promise<void> {
  const id = step % 40;
  const r = (step * 7919) % 13;
  await client.query('BEGIN');
  if (r < 4) {
    await client.query(
      `INSERT INTO hostile (id, amount, grid) VALUES ($1, $2, $3)
       ON CONFLICT (id) DO UPDATE SET amount = excluded.amount, grid = excluded.grid`,
      [id, r === 0 ? 'NaN' : `${step}.25`, r === 1 ? `{{${step},1},{2,3}}` : `{${step},NULL}`],
    );
  } else if (r < 6) {
    await client.query('DELETE FROM hostile WHERE id = $1', [id]);
  } else if (r < 10) {
    // duplicates: the same row twice, sometimes three times
    for (let k = 0; k < 2 + (r % 2); k++)
      await client.query('INSERT INTO dup_log (kind, n) VALUES ($1, $2)', [`k${step % 5}`, step % 3]);
  } else if (r < 12) {
    await client.query(
      'DELETE FROM dup_log WHERE ctid = (SELECT ctid FROM dup_log WHERE kind = $1 AND n = $2 LIMIT 1)',
      [`k${step % 5}`, step % 3],
    );
  } else {
    await client.query(
      `UPDATE dup_log SET n = n + 10 WHERE ctid = (SELECT ctid FROM dup_log WHERE kind = $1 LIMIT 1)`,
      [`k${step % 5}`],
    );
  }
  if (added && step % 9 === 0) await client.query('UPDATE hostile SET flag = $1 WHERE id = $2', ['set', id]);
  await client.query('COMMIT');
}

describe('kill -9 of run while values widen columns, duplicates come and go, and a column is added', () => {
  const cluster = useCluster({ binaries: newestBinaries(), setup: (c) => c.sql(DDL) });

  it(`ends with warehouse = source after ${ROUNDS} kills`, async () => {
    const warehouse = join(mkdtempSync(join(tmpdir(), 'tributary-hostile-')), 'warehouse.duckdb');
    const args = ['run', '--source', cluster().url(), '--warehouse', warehouse, '--batch-delay', '20ms'];
    let current = startCli(args);
    await waitFor('the slot', () => /created replication slot/.test(current.stderr()) || undefined);
    const writer = await cluster().connect();
    let step = 0;
    let added = false;
    let writing = true;
    const written = (async () => {
      while (writing) {
        await writeStep(writer, step++, added);
        if (step === 300) {
          await writer.query(`ALTER TABLE hostile ADD COLUMN flag text NOT NULL DEFAULT 'dflt'`);
          added = true;
        }
      }
    })();
    let seed = 3;
    const random = () => {
      seed = (seed * 48_271) % 2_147_483_647;
      return seed / 2_147_483_647;
    };
    for (let round = 0; round < ROUNDS; round++) {
      // the first kill lands in the first copy (a table without a key: the run starts over)
      await new Promise((r) => setTimeout(r, round === 0 ? 50 + random() * 250 : 400 + random() * 1200));
      current.child.kill('SIGKILL');
      await current.exited;
      current = startCli(args);
      await waitFor(
        'the restarted run',
        () => /replication slot/.test(current.stderr()) || undefined,
        60_000,
      );
    }
    await waitFor('the ADD COLUMN', () => added || undefined, 60_000);
    writing = false;
    await written;
    await writer.end();
    await waitForWarehouse(cluster(), { warehouse }).catch((error: unknown) => {
      throw new Error(
        `${(error as Error).message}; run stderr (${current.stderr().length} chars): ${current.stderr().slice(0, 3000)}`,
      );
    });
    current.child.kill('SIGTERM');
    const stopped = await current.exited;
    expect(stopped.code, stopped.stderr).toBe(0);

    const source = await cluster().sql<{ id: string; amount: string; grid: string; flag: string }>(
      `SELECT id::text AS id, amount::text AS amount, array_to_json(grid)::text AS grid, flag
         FROM hostile ORDER BY id`,
    );
    expect(source.some((r) => r.amount === 'NaN')).toBe(true);
    const copy = await queryWarehouse(
      warehouse,
      `SELECT id::VARCHAR AS id, amount, grid::VARCHAR AS grid, flag FROM hostile ORDER BY id`,
    );
    expect(copy).toEqual(source);
    await expectRawZoneExact(warehouse, 'hostile');
    const types = await queryWarehouse(
      warehouse,
      `SELECT column_name AS name, data_type AS type FROM information_schema.columns
        WHERE table_schema = 'main' AND table_name = 'hostile' AND column_name IN ('amount', 'grid') ORDER BY column_name`,
    );
    expect(types).toEqual([
      { name: 'amount', type: 'VARCHAR' },
      { name: 'grid', type: 'JSON' },
    ]);

    const bag =
      'SELECT kind, n::text AS n, count(*)::text AS copies FROM dup_log GROUP BY kind, n ORDER BY kind, n';
    const sourceBag = await cluster().sql(bag);
    expect(sourceBag.some((r) => Number((r as { copies: string }).copies) > 1)).toBe(true);
    expect(await queryWarehouse(warehouse, bag)).toEqual(sourceBag); // ::text is VARCHAR in DuckDB
  });
});
