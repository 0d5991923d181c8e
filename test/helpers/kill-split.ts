/**
 * The pipeline over a JetStream feed, killed at random moments while a writer keeps committing:
 * `tributary run --feed` (one process), or `tributary source` + `tributary load` (two), or the
 * nats-server itself. Each victim is restarted at once. At the end the warehouse equals the
 * source exactly, with no duplicate keys. Shared by the CI tests and the long suite.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { NatsServer } from '../../src/embedded/nats-server.js';
import type { PostgresCluster } from '../harness/postgres.js';
import { runArgs as fastRunArgs, type RunningCli, startCli } from './cli.js';
import { waitFor } from './events.js';
import { expectRawZoneExact } from './kill-run.js';
import { queryWarehouse, waitForWarehouse } from './warehouse.js';
import { writeItems } from './workload.js';

export type Victim = 'run' | 'source' | 'loader' | 'nats';

const ROWS = 'SELECT id::VARCHAR AS id, n, note FROM items ORDER BY items.id';

export async function killFeedUnderLoad(
  cluster: () => PostgresCluster,
  nats: () => NatsServer,
  options: {
    readonly victim: Victim;
    readonly rounds: number;
    readonly slot: string;
    readonly seed?: number;
    /** Lanes of the feed (one table: the others idle, moved only by the snapshot's watermarks). */
    readonly lanes?: number;
  },
): Promise<void> {
  const { victim, rounds, slot } = options;
  const warehouse = join(mkdtempSync(join(tmpdir(), 'tributary-killfeed-')), 'warehouse.duckdb');
  const feed = ['--feed', nats().url, '--slot', slot];
  const lanes = options.lanes ? ['--lanes', String(options.lanes)] : [];
  const runArgs = fastRunArgs(cluster().url(), warehouse, ...feed, ...lanes);
  const sourceArgs = ['source', '--source', cluster().url(), '--publication', slot, ...feed, ...lanes];
  // with the source's connection the loader also snapshots what the table held before
  const loadArgs = [
    'load',
    '--warehouse',
    warehouse,
    '--batch-delay',
    '20ms',
    '--source',
    cluster().url(),
    '--publication',
    slot,
    ...feed,
  ];
  const split = victim !== 'run';
  let source: RunningCli | null = null;
  let loader: RunningCli | null = null;
  let run: RunningCli | null = null;
  if (split) {
    source = startCli(sourceArgs);
    await waitFor('the slot', () => /replication slot/.test(source!.stderr()) || undefined, 60_000);
    loader = startCli(loadArgs);
    await waitFor(
      'the loader',
      () => /loader consuming the feed/.test(loader!.stderr()) || undefined,
      60_000,
    );
  } else {
    run = startCli([...runArgs, '--publication', slot]);
    await waitFor('the slot', () => /replication slot/.test(run!.stderr()) || undefined, 60_000);
  }
  const writer = await cluster().connect();
  const stopWriting = new AbortController();
  const written = writeItems(writer, {
    transactions: 1_000_000,
    seed: options.seed ?? 17,
    signal: stopWriting.signal,
  });
  let seed = options.seed ?? 9;
  const random = () => {
    seed = (seed * 48_271) % 2_147_483_647;
    return seed / 2_147_483_647;
  };
  try {
    for (let round = 0; round < rounds; round++) {
      await new Promise((r) => setTimeout(r, 400 + random() * 1500));
      if (victim === 'nats') {
        await nats().kill();
        await new Promise((r) => setTimeout(r, random() * 1500));
        await nats().restart();
      } else if (victim === 'run') {
        run!.child.kill('SIGKILL');
        await run!.exited;
        run = startCli([...runArgs, '--publication', slot]);
        await waitFor('the restarted run', () => /replication slot/.test(run!.stderr()) || undefined, 60_000);
      } else if (victim === 'source') {
        source!.child.kill('SIGKILL');
        await source!.exited;
        source = startCli(sourceArgs);
        await waitFor(
          'the restarted source',
          () => /replication slot/.test(source!.stderr()) || undefined,
          60_000,
        );
      } else {
        loader!.child.kill('SIGKILL');
        await loader!.exited;
        loader = startCli(loadArgs);
        await waitFor(
          'the restarted loader',
          () => /loader consuming the feed/.test(loader!.stderr()) || undefined,
          60_000,
        );
      }
    }
    stopWriting.abort();
    const ops = await written;
    expect(ops.length).toBeGreaterThan(100);
    // the slot is acknowledged once JetStream holds a change; then the warehouse follows
    await waitForWarehouse(cluster(), { slot });
    const expected = await cluster().sql<{ id: string; n: number; note: string }>(
      'SELECT id::text AS id, n, note FROM items ORDER BY items.id',
    );
    // the loader may still be catching up on a loaded machine: wait while the warehouse moves,
    // fail once it has not changed for 90 s (or after 10 minutes in all)
    const target = JSON.stringify(expected);
    let seen = '';
    let movedAt = Date.now();
    await waitFor(
      'the warehouse to equal the source (it stopped changing for 90 s)',
      async () => {
        const copy = await queryWarehouse(warehouse, ROWS).catch(() => null);
        const text = copy === null ? seen : JSON.stringify(copy);
        if (text === target) return true;
        if (text !== seen) [seen, movedAt] = [text, Date.now()];
        if (Date.now() - movedAt > 90_000) throw new Error('the warehouse stopped changing for 90 s');
        return undefined;
      },
      600_000,
    ).catch(async (error: unknown) => {
      // show what the processes said, and the difference
      for (const [name, p] of [
        ['run', run],
        ['source', source],
        ['loader', loader],
      ] as const) {
        if (p) console.error(`--- ${name} (last lines)\n${p.stderr().split('\n').slice(-40).join('\n')}`);
      }
      expect(await queryWarehouse(warehouse, ROWS)).toEqual(expected);
      throw error;
    });
    const [counts] = await queryWarehouse(
      warehouse,
      'SELECT count(*) AS n, count(DISTINCT id) AS d FROM items',
    );
    expect(counts?.n).toBe(counts?.d);
  } finally {
    stopWriting.abort();
    await written.catch(() => []);
    await writer.end();
    for (const p of [run, source, loader]) {
      if (!p) continue;
      p.child.kill('SIGTERM');
      const stopped = await p.exited;
      expect(stopped.code, stopped.stderr).toBe(0);
    }
  }
  // every process stopped: the raw zone holds every change once, and rebuilds the table
  await expectRawZoneExact(warehouse, 'items');
}
