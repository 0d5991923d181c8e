/**
 * A slot that Postgres invalidated (the WAL it needed was removed) is reported with a clear
 * error, exit code 2, and how to recover — never silently re-created, which would hide the
 * changes that were lost.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newestBinaries, PostgresCluster } from '../harness/postgres.js';
import { runCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/events.js';

describe('invalidated slot gives the clear error', () => {
  let cluster: PostgresCluster;
  beforeAll(async () => {
    cluster = await PostgresCluster.start({
      binaries: newestBinaries(),
      settings: {
        max_slot_wal_keep_size: '1MB',
        wal_keep_size: 0,
        min_wal_size: '32MB',
        max_wal_size: '32MB',
      },
    });
    await cluster.sql('CREATE TABLE t (id int PRIMARY KEY, pad text)');
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('exits 2 naming the slot and the recovery, and leaves the slot alone', async () => {
    await cluster.sql("SELECT pg_create_logical_replication_slot('tributary', 'pgoutput')");
    await waitFor(
      'the slot to be invalidated',
      async () => {
        await cluster.sql(
          "INSERT INTO t SELECT g, repeat('x', 2000) FROM generate_series(1, 3000) g ON CONFLICT (id) DO UPDATE SET pad = excluded.pad || 'y'",
        );
        await cluster.sql('SELECT pg_switch_wal()');
        await cluster.sql('CHECKPOINT');
        const rows = await cluster.sql<{ wal_status: string }>(
          "SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'tributary'",
        );
        return rows[0]?.wal_status === 'lost' || undefined;
      },
      120_000,
    );
    const result = await runCli(['tail', '--source', cluster.url(), '--tables', 'public.t']);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/tributary/);
    expect(result.stderr).toMatch(/invalidated/i);
    expect(result.stderr).toMatch(/teardown|pg_drop_replication_slot/);
    expect(result.stderr).not.toContain('tributary-test-secret');
    const slots = await cluster.sql<{ wal_status: string }>(
      "SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'tributary'",
    );
    expect(slots).toEqual([{ wal_status: 'lost' }]);
  });
});
