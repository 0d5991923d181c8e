/**
 * `tributary run` killed with SIGKILL at random moments while a writer keeps committing; each
 * restart resumes from the warehouse checkpoint. At the end the warehouse equals the source
 * exactly, with no duplicate keys. (The long suite repeats this many more times.)
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { newestBinaries } from '../harness/postgres.js';
import { useCluster } from '../harness/use-cluster.js';
import { startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/events.js';
import { queryWarehouse, waitForWarehouse } from '../helpers/warehouse.js';
import { ITEMS_DDL, writeItems } from '../helpers/workload.js';

const ROUNDS = Number(process.env.TRIBUTARY_KILL_ROUNDS ?? 6);

describe('kill -9 of the pipeline under a concurrent write load', () => {
  const cluster = useCluster({ binaries: newestBinaries(), setup: (c) => c.sql(ITEMS_DDL) });

  it(`ends with warehouse = source after ${ROUNDS} kills`, async () => {
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
    for (let round = 0; round < ROUNDS; round++) {
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
  });
});
