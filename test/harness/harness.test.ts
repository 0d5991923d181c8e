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
});
