import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBinaries, PostgresCluster } from './postgres.js';

describe.each(availableBinaries().map((b) => [b.label, b] as const))(
  'test cluster on %s',
  (_label, binaries) => {
    let cluster: PostgresCluster;
    beforeAll(async () => {
      cluster = await PostgresCluster.start({ binaries });
    });
    afterAll(async () => {
      await cluster?.stop();
    });

    it('runs with wal_level=logical and answers on its port', async () => {
      const rows = await cluster.sql<{ wal_level: string; v: string }>(
        "SELECT current_setting('wal_level') AS wal_level, current_setting('server_version_num') AS v",
      );
      expect(rows[0]?.wal_level).toBe('logical');
      expect(Math.floor(Number(rows[0]?.v) / 10000)).toBe(binaries.major);
    });

    it('survives a restart with its data', async () => {
      await cluster.sql('CREATE TABLE kept (id int primary key)');
      await cluster.sql('INSERT INTO kept VALUES (1)');
      await cluster.restart();
      expect(await cluster.sql('SELECT id FROM kept')).toEqual([{ id: 1 }]);
    });
  },
);
