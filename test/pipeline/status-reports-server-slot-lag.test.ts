/**
 * `tributary status` reports the slot lag an operator means: how much WAL the slot holds back
 * on the server (the server's WAL end minus the slot's confirmed_flush_lsn), read from the
 * server, not guessed from what the source received. While `run` holds a batch it has not
 * applied, the lag covers everything written since; after it catches up and acknowledges, it
 * drops to (near) zero. Without a running `run`, status does not claim a slot lag.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseLsn } from '../../src/core/lsn.js';
import { EACH_MAJOR, useCluster } from '../harness/use-cluster.js';
import { runCli, startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/events.js';
import { queryWarehouse } from '../helpers/warehouse.js';

/** What counts as caught up: well under one WAL segment, and far below what the test holds back. */
const NEAR_ZERO = 64 * 1024;

describe.each(EACH_MAJOR)('status reports the slot lag the server sees (%s)', (_label, binaries) => {
  const cluster = useCluster({
    binaries,
    setup: (c) => c.sql('CREATE TABLE items (id bigint PRIMARY KEY, pad text)'),
  });

  const serverWal = async () =>
    parseLsn((await cluster().sql<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn'))[0]!.lsn);
  const slotOnServer = async () =>
    (
      await cluster().sql<{ confirmed: string; restart: string }>(
        `SELECT confirmed_flush_lsn::text AS confirmed, restart_lsn::text AS restart
           FROM pg_replication_slots WHERE slot_name = 'tributary'`,
      )
    )[0]!;
  const status = async (warehouse: string) => {
    const result = await runCli(['status', '--json', '--warehouse', warehouse]);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as Record<string, unknown>;
  };
  const write = (from: number, count: number) =>
    cluster().sql("INSERT INTO items SELECT g, repeat('x', 1000) FROM generate_series($1::int, $2::int) g", [
      from,
      from + count - 1,
    ]);

  it('is what the slot holds back on the server, and drops to near zero once acknowledged', async () => {
    const warehouse = join(mkdtempSync(join(tmpdir(), 'tributary-slotlag-')), 'w.duckdb');
    const args = ['run', '--source', cluster().url(), '--warehouse', warehouse];

    // a run whose batches wait an hour: it receives everything and acknowledges nothing
    const holding = startCli([...args, '--batch-delay', '1h']);
    await waitFor('the slot', () => /created replication slot/.test(holding.stderr()) || undefined);
    await write(1, 2000);
    const written = await serverWal();
    const held = await waitFor('status to report the held WAL as the server sees it', async () => {
      const report = await status(warehouse);
      const slot = await slotOnServer();
      const serverLsn = typeof report.serverWalLsn === 'string' ? parseLsn(report.serverWalLsn) : 0n;
      return serverLsn >= written && report.slotConfirmedFlushLsn === slot.confirmed
        ? { report, slot }
        : undefined;
    });
    const { report, slot } = held;
    expect(report.running).toBe(true);
    expect(report.slotExists).toBe(true);
    expect(report.slotLagBytes).toBe(
      Number(parseLsn(report.serverWalLsn as string) - parseLsn(slot.confirmed)),
    );
    expect(report.slotLagBytes).toBeGreaterThanOrEqual(Number(written - parseLsn(slot.confirmed)));
    expect(report.slotLagBytes).toBeGreaterThan(2000 * 1000); // the 2000 rows of 1 kB it holds back
    expect(report.slotRetainedBytes).toBeGreaterThanOrEqual(report.slotLagBytes as number);
    expect(report.walStatus).toBe('reserved');
    expect(report.slotReadAgeSeconds).toEqual(expect.any(Number));
    expect(report.receivedLsn).toEqual(expect.any(String));
    expect(report.acknowledgedLsn).toEqual(expect.any(String));
    const human = await runCli(['status', '--warehouse', warehouse]);
    expect(human.stdout).toMatch(/^slot lag: +\d+ bytes behind the server's WAL at [0-9A-F]+\/[0-9A-F]+$/m);
    expect(human.stdout).toMatch(/^WAL retained: +\d+ bytes \(wal_status reserved/m);

    // SIGTERM applies what was held and acknowledges it
    holding.child.kill('SIGTERM');
    expect((await holding.exited).code).toBe(0);
    const offline = await status(warehouse);
    expect(offline.running).toBe(false);
    expect(offline).not.toHaveProperty('slotLagBytes');
    expect((await runCli(['status', '--warehouse', warehouse])).stdout).not.toMatch(/slot lag/);

    // stopped, the slot keeps WAL for what is written meanwhile; a new run catches up
    await write(2001, 2000);
    const resumed = startCli(args);
    await waitFor('the second run', () => /reusing replication slot/.test(resumed.stderr()) || undefined);
    const caughtUp = await waitFor('the slot lag to drop to near zero', async () => {
      const r = await status(warehouse);
      return r.running === true && typeof r.slotLagBytes === 'number' && r.slotLagBytes < NEAR_ZERO
        ? r
        : undefined;
    });
    expect(caughtUp.walStatus).toBe('reserved');
    expect(await queryWarehouse(warehouse, 'SELECT count(*)::INTEGER AS n FROM items')).toEqual([
      { n: 4000 },
    ]);
    resumed.child.kill('SIGTERM');
    expect((await resumed.exited).code).toBe(0);
  });
});
