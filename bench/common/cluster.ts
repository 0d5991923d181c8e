/**
 * The throwaway cluster the drain benchmarks share (bench/e2e, bench/feed): the harness's
 * cluster (`fsync=off`, `full_page_writes=off`) with these settings, and the helpers to write a
 * backlog and drop the slots that read it.
 */
import type { PostgresCluster } from '../../src/embedded/postgres-cluster.js';
import { sleep } from './report.js';

/** Decoding memory as Postgres' default, room for a 1M-change backlog's WAL without checkpoints. */
export const DRAIN_CLUSTER_SETTINGS: Readonly<Record<string, string>> = Object.freeze({
  logical_decoding_work_mem: '64MB',
  shared_buffers: '1GB',
  max_wal_size: '16GB',
  checkpoint_timeout: '1h',
  work_mem: '64MB',
});

/** Runs a procedure that commits in a loop: on a client of its own (not an implicit block). */
export async function callProcedure(cluster: PostgresCluster, sql: string): Promise<void> {
  const client = await cluster.connect();
  try {
    await client.query('SET synchronous_commit = off');
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Drops the slots, waiting (up to 5 s) for a walsender that still holds one to exit. */
export async function dropSlots(cluster: PostgresCluster, slots: readonly string[]): Promise<void> {
  for (const slot of slots) {
    for (let attempt = 1; ; attempt++) {
      try {
        await cluster.sql(
          'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1',
          [slot],
        );
        break;
      } catch (error) {
        if (attempt >= 100) throw error;
        await sleep(50);
      }
    }
  }
}
