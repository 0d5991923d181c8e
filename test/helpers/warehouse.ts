/** Helpers for end-to-end tests of `tributary run`. */
import { DuckDBInstance } from '@duckdb/node-api';
import { parseLsn } from '../../src/core/lsn.js';
import type { PostgresCluster } from '../harness/postgres.js';
import { runCli } from './cli.js';
import { waitFor } from './events.js';

export interface WaitForWarehouseOptions {
  /** The slot that acknowledges the warehouse's progress (default `tributary`). */
  readonly slot?: string;
  readonly timeoutMs?: number;
  /**
   * The warehouse file, when `run` may still be copying (it was killed during its first copy,
   * or a table joined the publication): the wait then also needs every snapshot job done.
   * Without it, an acknowledged slot does not prove a copy finished — a first run that starts
   * over creates its slot after the caller read the WAL position, and a background copy runs
   * while the stream acknowledges.
   */
  readonly warehouse?: string;
}

/**
 * Waits until the slot is acknowledged past everything written so far (the slot only moves after
 * the warehouse committed), and, given the warehouse, until its snapshot jobs are all done.
 */
export async function waitForWarehouse(
  cluster: PostgresCluster,
  options: WaitForWarehouseOptions = {},
): Promise<void> {
  const { slot = 'tributary', timeoutMs = 90_000, warehouse } = options;
  const [{ lsn }] = (await cluster.sql<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')) as [
    { lsn: string },
  ];
  const target = parseLsn(lsn);
  if (warehouse !== undefined) await jobsDoneByStatus(warehouse, 1, timeoutMs);
  await waitFor(
    `the warehouse to reach ${lsn}`,
    async () => {
      const rows = await cluster.sql<{ confirmed: string | null }>(
        'SELECT confirmed_flush_lsn::text AS confirmed FROM pg_replication_slots WHERE slot_name = $1',
        [slot],
      );
      const confirmed = rows[0]?.confirmed;
      return (confirmed && parseLsn(confirmed) >= target) || undefined;
    },
    timeoutMs,
  );
}

/**
 * Waits, through `tributary status --json` as a user would, until at least `count` snapshot jobs
 * exist and every one is done; a failed job fails the wait.
 */
export async function jobsDoneByStatus(warehouse: string, count: number, timeoutMs: number): Promise<void> {
  await waitFor(
    `${count} snapshot jobs done`,
    async () => {
      const status = await runCli(['status', '--json', '--warehouse', warehouse]);
      if (status.code !== 0) return undefined;
      const jobs = (JSON.parse(status.stdout) as { snapshots: { state: string }[] }).snapshots;
      if (jobs.some((j) => j.state === 'failed')) throw new Error(`a snapshot job failed: ${status.stdout}`);
      return (jobs.length >= count && jobs.every((j) => j.state === 'done')) || undefined;
    },
    timeoutMs,
  );
}

/** Runs `tributary query --json` and returns the rows. */
export async function queryWarehouse(warehouse: string, sql: string): Promise<Record<string, unknown>[]> {
  const result = await runCli(['query', '--warehouse', warehouse, '--json', sql]);
  if (result.code !== 0) throw new Error(`tributary query failed (${result.code}): ${result.stderr}`);
  return result.stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Runs `statements` on the DuckDB file at `path` directly (creating it), as a test's own setup or damage. */
export async function onDuckDBFile(path: string, statements: readonly string[]): Promise<void> {
  const instance = await DuckDBInstance.create(path);
  const connection = await instance.connect();
  try {
    for (const sql of statements) await connection.run(sql);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
