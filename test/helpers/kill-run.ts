/**
 * Kills `tributary run` with SIGKILL `rounds` times at random moments while a writer keeps
 * committing; each restart resumes from the warehouse checkpoint. Asserts that the warehouse
 * ends equal to the source, with no duplicate keys. Shared by the CI test and the long suite.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { PostgresCluster } from '../harness/postgres.js';
import { runArgs, runCli, startCli } from './cli.js';
import { waitFor } from './events.js';
import { queryWarehouse, waitForWarehouse } from './warehouse.js';
import { writeItems } from './workload.js';

export interface KillRunOptions {
  /** The warehouse `run` writes (default a fresh DuckDB file); a `chdb:` URL for ClickHouse. */
  readonly warehouse?: string;
  /** Whether the warehouse keeps a raw zone to check too (DuckDB: yes). */
  readonly rawZone?: boolean;
}

/**
 * `tributary run` on `warehouse`: applies `before` at the source, waits until the run applied it,
 * kills the run with SIGKILL (DuckDB's file not checkpointed since: the restart replays its WAL),
 * restarts it, applies `after`, waits again, and stops it with SIGTERM (exit 0 expected).
 */
export async function killRightAfter(
  cluster: PostgresCluster,
  warehouse: string,
  before: string,
  after: string,
): Promise<void> {
  const args = runArgs(cluster.url(), warehouse);
  const first = startCli(args);
  await waitFor('the slot', () => /replication slot/.test(first.stderr()) || undefined);
  await waitForWarehouse(cluster, { warehouse });
  await cluster.sql(before);
  await waitForWarehouse(cluster, { warehouse });
  first.child.kill('SIGKILL');
  expect((await first.exited).signal).toBe('SIGKILL');

  const second = startCli(args);
  try {
    await waitFor('the restart', () => /replication slot/.test(second.stderr()) || undefined);
    await cluster.sql(after);
    await waitForWarehouse(cluster, { warehouse });
  } finally {
    second.child.kill('SIGTERM');
  }
  const stopped = await second.exited;
  expect(stopped.code, stopped.stderr.slice(-3000)).toBe(0);
}

export async function killRunUnderLoad(
  cluster: () => PostgresCluster,
  rounds: number,
  options: KillRunOptions = {},
): Promise<void> {
  const warehouse =
    options.warehouse ?? join(mkdtempSync(join(tmpdir(), 'tributary-killrun-')), 'warehouse.duckdb');
  const args = ['run', '--source', cluster().url(), '--warehouse', warehouse, '--batch-delay', '20ms'];
  const first = startCli(args);
  await waitFor('the slot', () => /created replication slot/.test(first.stderr()) || undefined);
  const writer = await cluster().connect();
  const stopWriting = new AbortController();
  const written = writeItems(writer, { transactions: 1_000_000, seed: 11, signal: stopWriting.signal });
  let seed = 5;
  const random = () => {
    seed = (seed * 48_271) % 2_147_483_647;
    return seed / 2_147_483_647;
  };
  let current = first;
  for (let round = 0; round < rounds; round++) {
    await new Promise((r) => setTimeout(r, 300 + random() * 1500));
    current.child.kill('SIGKILL');
    await current.exited;
    current = startCli(args);
    await waitFor(
      'the restarted pipeline',
      () => /replication slot/.test(current.stderr()) || undefined,
      60_000,
    );
  }
  stopWriting.abort();
  const ops = await written;
  await writer.end();
  expect(ops.length).toBeGreaterThan(100);
  await waitForWarehouse(cluster(), { warehouse });
  current.child.kill('SIGTERM');
  const stopped = await current.exited;
  expect(stopped.code, stopped.stderr).toBe(0);

  const source = await cluster().sql<{ id: string; n: number; note: string }>(
    'SELECT id::text AS id, n, note FROM items ORDER BY items.id',
  );
  const copy = await queryWarehouse(
    warehouse,
    'SELECT id::VARCHAR AS id, n, note FROM items ORDER BY items.id',
  );
  expect(copy).toEqual(source);
  const [counts] = await queryWarehouse(
    warehouse,
    'SELECT count(*) AS n, count(DISTINCT id) AS d FROM items',
  );
  expect(counts?.n).toBe(counts?.d);
  if (options.rawZone ?? true) await expectRawZoneExact(warehouse, 'items');
}

/**
 * The raw zone after kills: every change once (no position twice among the changes), and the
 * table replayed from it equal to the live one, row for row with each row's LSN.
 */
export async function expectRawZoneExact(warehouse: string, table: string, keyless = false): Promise<void> {
  const [twice] = await queryWarehouse(
    warehouse,
    `SELECT count(*) AS n FROM (SELECT _tributary_lsn, _tributary_ordinal FROM _tributary_raw.${table}
       WHERE _tributary_op <> 'snapshot' GROUP BY ALL HAVING count(*) > 1)`,
  );
  if (twice?.n !== '0') {
    const sample = await queryWarehouse(
      warehouse,
      `SELECT _tributary_op AS op, _tributary_lsn AS lsn, _tributary_ordinal AS ordinal, _tributary_batch AS batch,
          _tributary_source AS source, id FROM _tributary_raw.${table}
        WHERE (_tributary_lsn, _tributary_ordinal) IN (SELECT (_tributary_lsn, _tributary_ordinal) FROM _tributary_raw.${table}
          WHERE _tributary_op <> 'snapshot' GROUP BY ALL HAVING count(*) > 1 LIMIT 3) ORDER BY lsn, ordinal, batch`,
    ).catch((e: unknown) => String(e));
    expect.fail(`${twice?.n} changes twice in the raw zone, e.g. ${JSON.stringify(sample)}`);
  }
  const replayed = await runCli(['replay', '--warehouse', warehouse, '--into', 'replayed']);
  expect(replayed.code, replayed.stderr).toBe(0);
  const hash = (from: string) =>
    queryWarehouse(warehouse, `SELECT count(*) AS n, bit_xor(hash(t)) AS h FROM (${from}) AS t`);
  // a multiset's copies of one row are alike but for their LSN: which copy a delete took is not known
  const drop = keyless ? ['_tributary_lsn'] : [];
  // by name, in one order: a column added later is last in the live table, in its place in the replayed one
  const names = (await queryWarehouse(warehouse, `SELECT column_name AS c FROM (DESCRIBE replayed.${table})`))
    .map((r) => String(r.c))
    .filter((c) => !drop.includes(c))
    .map((c) => `"${c.replaceAll('"', '""')}"`)
    .join(', ');
  const replayedRows = `SELECT ${names} FROM replayed.${table}`;
  const liveRows = `SELECT ${names} FROM main.${table}`;
  const [a, b] = [await hash(replayedRows), await hash(liveRows)];
  if (JSON.stringify(a) !== JSON.stringify(b)) {
    const only = async (x: string, y: string) =>
      JSON.stringify(await queryWarehouse(warehouse, `SELECT * FROM (${x} EXCEPT ALL ${y}) LIMIT 5`));
    expect.fail(
      `replayed ≠ live: only replayed ${await only(replayedRows, liveRows)}; only live ${await only(liveRows, replayedRows)}`,
    );
  }
}
