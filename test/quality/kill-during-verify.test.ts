/**
 * kill -9 while a verify pins its point: `tributary run` killed while the loader is split around
 * the point (the parts of a batch are separate transactions, the batch acknowledged once after
 * the last), or the verify itself killed (its temporary slot and exported snapshot must go with
 * it). Under a concurrent write load; at the end the warehouse equals the source, no key twice,
 * the raw zone exact, no verify slot left, and a last verify finds no difference.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { newestBinaries } from '../harness/postgres.js';
import { useCluster } from '../harness/use-cluster.js';
import { runArgs, runCli, startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/events.js';
import { expectRawZoneExact } from '../helpers/kill-run.js';
import { queryWarehouse, waitForWarehouse } from '../helpers/warehouse.js';
import { ITEMS_DDL, writeItems } from '../helpers/workload.js';

const ROUNDS = 4;

describe('kill -9 during verify', () => {
  const cluster = useCluster({ binaries: newestBinaries(), setup: (c) => c.sql(ITEMS_DDL) });

  it(`ends with warehouse = source after ${ROUNDS} kills of run or verify mid-verify`, async () => {
    const warehouse = join(mkdtempSync(join(tmpdir(), 'tributary-kill-verify-')), 'w.duckdb');
    const args = runArgs(cluster().url(), warehouse);
    let run = startCli(args);
    await waitFor('the slot', () => /created replication slot/.test(run.stderr()) || undefined);
    const writer = await cluster().connect();
    const stop = new AbortController();
    const written = writeItems(writer, { transactions: 1_000_000, seed: 7, signal: stop.signal });
    let seed = 9;
    const random = () => {
      seed = (seed * 48_271) % 2_147_483_647;
      return seed / 2_147_483_647;
    };
    for (let round = 0; round < ROUNDS; round++) {
      await waitFor('the run to answer', () => /replication slot/.test(run.stderr()) || undefined, 60_000);
      await new Promise((r) => setTimeout(r, 300));
      const verify = startCli(['verify', '--warehouse', warehouse, '--json']);
      await new Promise((r) => setTimeout(r, 100 + random() * 900));
      if (round % 2 === 0) {
        run.child.kill('SIGKILL');
        await run.exited;
        await verify.exited; // fails or finished: either way nothing may be lost
        run = startCli(args);
      } else {
        verify.child.kill('SIGKILL');
        await verify.exited;
      }
    }
    stop.abort();
    expect((await written).length).toBeGreaterThan(100);
    await writer.end();
    await waitFor('the run to answer', () => /replication slot/.test(run.stderr()) || undefined, 60_000);
    await waitForWarehouse(cluster(), { warehouse });
    const last = await runCli(['verify', '--warehouse', warehouse, '--json']);
    expect(last.code, `${last.stdout}\n${last.stderr}`).toBe(0);
    run.child.kill('SIGTERM');
    expect((await run.exited).code, run.stderr()).toBe(0);

    const source = await cluster().sql('SELECT id::text AS id, n, note FROM items ORDER BY id');
    expect(
      await queryWarehouse(warehouse, 'SELECT id::VARCHAR AS id, n, note FROM items ORDER BY id'),
    ).toEqual(source);
    const [counts] = await queryWarehouse(
      warehouse,
      'SELECT count(*) AS n, count(DISTINCT id) AS d FROM items',
    );
    expect(counts?.n).toBe(counts?.d);
    await expectRawZoneExact(warehouse, 'items');
    await waitFor(
      'the killed verifies to leave no slot',
      async () =>
        (
          await cluster().sql(
            "SELECT 1 FROM pg_replication_slots WHERE slot_name LIKE 'tributary\\_verify\\_%'",
          )
        ).length === 0 || undefined,
      30_000,
    );
  });
});
