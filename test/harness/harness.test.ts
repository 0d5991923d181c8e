import { describe, expect, it } from 'vitest';
import { EACH_MAJOR, useCluster } from './use-cluster.js';

describe.each(EACH_MAJOR)('test cluster on %s', (_label, binaries) => {
  const cluster = useCluster({ binaries });

  it('runs with wal_level=logical and answers on its port', async () => {
    const rows = await cluster().sql<{ wal_level: string; v: string }>(
      "SELECT current_setting('wal_level') AS wal_level, current_setting('server_version_num') AS v",
    );
    expect(rows[0]?.wal_level).toBe('logical');
    expect(Math.floor(Number(rows[0]?.v) / 10000)).toBe(binaries.major);
  });

  it('survives a restart with its data', async () => {
    await cluster().sql('CREATE TABLE kept (id int primary key)');
    await cluster().sql('INSERT INTO kept VALUES (1)');
    await cluster().restart();
    expect(await cluster().sql('SELECT id FROM kept')).toEqual([{ id: 1 }]);
  });

  it('starts a hot standby that replays what the primary commits', async () => {
    await cluster().sql('CREATE TABLE replayed (id int primary key)');
    const standby = await cluster().startStandby();
    try {
      await cluster().sql('INSERT INTO replayed VALUES (7)');
      const [{ lsn } = { lsn: '' }] = await cluster().sql<{ lsn: string }>(
        'SELECT pg_current_wal_lsn()::text AS lsn',
      );
      for (let i = 0; i < 200; i++) {
        const [row] = await standby.sql<{ caught: boolean }>(
          'SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS caught',
          [lsn],
        );
        if (row?.caught) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(
        await standby.sql('SELECT pg_is_in_recovery() AS standby, count(*)::int AS n FROM replayed'),
      ).toEqual([{ standby: true, n: 1 }]);
    } finally {
      await standby.stop();
    }
  });
});
