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
import { startCli } from './cli.js';
import { waitFor } from './events.js';
import { queryWarehouse, waitForWarehouse } from './warehouse.js';
import { writeItems } from './workload.js';

export async function killRunUnderLoad(cluster: () => PostgresCluster, rounds: number): Promise<void> {
  const warehouse = join(mkdtempSync(join(tmpdir(), 'tributary-killrun-')), 'warehouse.duckdb');
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
  await waitForWarehouse(cluster());
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
}
