/**
 * Models in `tributary load`, the applying half of a split pipeline: a loader without --source
 * cannot ask which tables will come, so a model over a table not loaded yet waits for it; once
 * the feed's changes arrive, the streaming table and the view equal the direct query, and
 * `models status` answers through the loader.
 */
import { describe, expect, it } from 'vitest';
import { newestBinaries } from '../harness/postgres.js';
import { useCluster } from '../harness/use-cluster.js';
import { useNatsServer } from '../harness/use-nats-server.js';
import { runCli, startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/events.js';
import { queryWarehouse } from '../helpers/warehouse.js';
import { canonical, modelFiles } from './helpers.js';

const SQL = 'SELECT country, count(*)::BIGINT AS n FROM orders GROUP BY country';

describe('models in tributary load', () => {
  const nats = useNatsServer();
  const cluster = useCluster({
    binaries: newestBinaries(),
    setup: (c) => c.sql('CREATE TABLE orders (id bigint PRIMARY KEY, country text)'),
  });

  it('wait for their tables, then follow the feed', async () => {
    const { models, warehouse } = modelFiles({
      by_country: `-- materialized: table\n${SQL}`,
      countries: 'SELECT count(*) AS c FROM by_country',
    });
    const source = startCli(['source', '--source', cluster().url(), '--feed', nats().url, '--slot', 'shop']);
    const loader = startCli([
      'load',
      '--feed',
      nats().url,
      '--slot',
      'shop',
      '--warehouse',
      warehouse,
      '--batch-delay',
      '20ms',
      '--models',
      models,
    ]);
    try {
      await waitFor('the slot', () => /replication slot/.test(source.stderr()) || undefined, 60_000);
      await cluster().sql(
        "INSERT INTO orders SELECT g, CASE WHEN g % 3 = 0 THEN 'US' ELSE 'CA' END FROM generate_series(1, 300) g",
      );
      const expected = canonical(await cluster().sql(SQL));
      await waitFor(
        'the models to follow',
        async () => {
          const rows = await queryWarehouse(warehouse, 'SELECT * FROM models.by_country').catch(() => []);
          return JSON.stringify(canonical(rows)) === JSON.stringify(expected) || undefined;
        },
        60_000,
      );
      // the view over it is created right after, in dependency order
      await waitFor(
        'the view over the model',
        async () => {
          const rows = await queryWarehouse(warehouse, 'SELECT c FROM models.countries').catch(() => null);
          return JSON.stringify(rows) === JSON.stringify([{ c: '2' }]) || undefined;
        },
        60_000,
      );
      const status = await runCli(['models', 'status', '--warehouse', warehouse, '--json']);
      expect(status.code, status.stderr).toBe(0);
      const states = (JSON.parse(status.stdout) as { models: { name: string; state: string }[] }).models;
      expect(states.map((s) => [s.name, s.state])).toEqual([
        ['by_country', 'ok'],
        ['countries', 'ok'],
      ]);
    } finally {
      loader.child.kill('SIGTERM');
      source.child.kill('SIGTERM');
    }
    expect((await loader.exited).code).toBe(0);
    expect((await source.exited).code).toBe(0);
  });
});
