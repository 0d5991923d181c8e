/** Helpers for end-to-end tests of `tributary run`. */
import { parseLsn } from '../../src/core/lsn.js';
import type { PostgresCluster } from '../harness/postgres.js';
import { runCli } from './cli.js';
import { waitFor } from './events.js';

/**
 * Waits until the slot is acknowledged past everything written so far. The slot only moves
 * after the warehouse committed, so this means the warehouse holds every change.
 */
export async function waitForWarehouse(
  cluster: PostgresCluster,
  slot = 'tributary',
  timeoutMs = 90_000,
): Promise<void> {
  const [{ lsn }] = (await cluster.sql<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')) as [
    { lsn: string },
  ];
  const target = parseLsn(lsn);
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

/** Runs `tributary query --json` and returns the rows. */
export async function queryWarehouse(warehouse: string, sql: string): Promise<Record<string, unknown>[]> {
  const result = await runCli(['query', '--warehouse', warehouse, '--json', sql]);
  if (result.code !== 0) throw new Error(`tributary query failed (${result.code}): ${result.stderr}`);
  return result.stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
