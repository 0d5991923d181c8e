/**
 * The slot position `tributary status` reports is read with one query that works on a primary
 * and on a standby (logical decoding on a standby, PG16+), where pg_current_wal_lsn() fails:
 * there the WAL end is the last WAL received or replayed. Here the standby is the same cluster
 * restarted with standby.signal and no primary, so it has replayed but not received anything.
 */
import { describe, expect, it } from 'vitest';
import { parseLsn } from '../../src/core/lsn.js';
import { readSlotPosition } from '../../src/source/postgres/stream/slot-monitor.js';
import { newestBinaries } from '../harness/postgres.js';
import { useCluster } from '../harness/use-cluster.js';

const binaries = newestBinaries();

describe.runIf(binaries.major >= 16)('slot position on a primary and on a standby', () => {
  const cluster = useCluster({
    binaries,
    setup: async (c) => {
      await c.sql('CREATE TABLE t (id int PRIMARY KEY)');
      await c.sql("SELECT pg_create_logical_replication_slot('watched', 'pgoutput')");
    },
  });

  it('reads the WAL end from pg_current_wal_lsn() on a primary and from replay on a standby', async () => {
    await cluster().sql('INSERT INTO t SELECT generate_series(1, 1000)');
    const client = await cluster().connect();
    let primaryLsn: bigint;
    try {
      const primary = await readSlotPosition(client, 'watched');
      const [{ lsn }] = (await client.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn'))
        .rows as [{ lsn: string }];
      expect(primary).toMatchObject({ inRecovery: false, exists: true, walStatus: 'reserved' });
      expect(primary!.serverLsn).toBeLessThanOrEqual(parseLsn(lsn));
      expect(primary!.serverLsn).toBeGreaterThan(primary!.confirmedFlushLsn!);
      primaryLsn = primary!.serverLsn;
      expect(await readSlotPosition(client, 'no_such_slot')).toMatchObject({
        exists: false,
        confirmedFlushLsn: null,
        restartLsn: null,
      });
    } finally {
      await client.end();
    }

    await cluster().halt();
    cluster().writeDataFile('standby.signal', '');
    await cluster().startAgain();
    const standby = await cluster().connect();
    try {
      const reading = await readSlotPosition(standby, 'watched');
      const [{ replayed }] = (
        await standby.query<{ replayed: string }>('SELECT pg_last_wal_replay_lsn()::text AS replayed')
      ).rows as [{ replayed: string }];
      expect(reading).toMatchObject({ inRecovery: true, exists: true });
      expect(reading!.serverLsn).toBe(parseLsn(replayed));
      expect(reading!.serverLsn).toBeGreaterThanOrEqual(primaryLsn);
      await expect(standby.query('SELECT pg_current_wal_lsn()')).rejects.toThrow(/recovery/);
    } finally {
      await standby.end();
    }
  });
});
