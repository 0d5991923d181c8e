/**
 * The same model SQL as a view, a streaming table, a microbatch table and a nightly table (cron
 * every second), plus a streaming model on the microbatch one, kept by `tributary run` under a
 * concurrent write load: once the load stops and a round completes, every one equals the same
 * query run directly on the warehouse, and on the source. Along the way: each mode refreshed by
 * its own trigger, the model on a model after its upstream, nothing failed, and the loader kept
 * the warehouse equal to the source while the tables were rebuilt beside it.
 */
import { describe, expect, it } from 'vitest';
import { newestBinaries } from '../harness/postgres.js';
import { useCluster } from '../harness/use-cluster.js';
import { runArgs, runCli, startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/events.js';
import { queryWarehouse, waitForWarehouse } from '../helpers/warehouse.js';
import { ITEMS_DDL, writeItems } from '../helpers/workload.js';
import { canonical, modelFiles, modelRuns } from './helpers.js';

const SQL = 'SELECT n % 7 AS bucket, count(*)::BIGINT AS c, sum(n)::BIGINT AS s FROM items GROUP BY 1';

describe('models: the same result in every mode once the data settles', () => {
  const cluster = useCluster({ binaries: newestBinaries(), setup: (c) => c.sql(ITEMS_DDL) });

  it('view, streaming, microbatch and nightly tables equal the direct query under a write load', {
    timeout: 300_000,
  }, async () => {
    const { models, warehouse } = modelFiles({
      stats_view: `-- materialized: view\n${SQL}`,
      stats_stream: `-- materialized: table\n-- refresh: streaming\n${SQL}`,
      stats_micro: `-- materialized: table\n-- refresh: microbatch 1s\n${SQL}\n`,
      stats_nightly: `-- materialized: table\n-- refresh: nightly * * * * * *\n${SQL};`,
      micro_total:
        '-- materialized: table\nSELECT sum(c)::BIGINT AS c, sum(s)::BIGINT AS s FROM models.stats_micro',
    });
    const run = startCli(runArgs(cluster().url(), warehouse, '--models', models));
    try {
      await waitFor('the slot', () => /replication slot/.test(run.stderr()) || undefined);
      const writer = await cluster().connect();
      try {
        await writeItems(writer, { transactions: 300, seed: 3 });
      } finally {
        await writer.end();
      }
      await waitForWarehouse(cluster());
      const source = canonical(await cluster().sql(SQL));
      expect(canonical(await queryWarehouse(warehouse, SQL))).toEqual(source);
      const models5 = ['stats_view', 'stats_stream', 'stats_micro', 'stats_nightly'];
      await waitFor(
        'every model to equal the direct query',
        async () => {
          for (const m of models5) {
            if (
              JSON.stringify(canonical(await queryWarehouse(warehouse, `SELECT * FROM models.${m}`))) !==
              JSON.stringify(source)
            )
              return undefined;
          }
          const [total] = await queryWarehouse(warehouse, 'SELECT * FROM models.micro_total');
          const [direct] = await queryWarehouse(
            warehouse,
            'SELECT count(*)::BIGINT AS c, sum(n)::BIGINT AS s FROM items',
          );
          return JSON.stringify(total) === JSON.stringify(direct) || undefined;
        },
        90_000,
      );

      const runs = await modelRuns(warehouse);
      expect(runs.filter((r) => r.status !== 'ok')).toEqual([]);
      const triggers = (m: string) => new Set(runs.filter((r) => r.model === m).map((r) => r.trigger));
      expect(triggers('stats_stream')).toEqual(new Set(['start', 'change']));
      expect(triggers('stats_micro')).toEqual(new Set(['start', 'schedule']));
      expect(triggers('stats_nightly')).toEqual(new Set(['start', 'schedule']));
      // a view is created once; it reads the tables as they are
      expect(runs.filter((r) => r.model === 'stats_view').map((r) => r.trigger)).toEqual(['start']);
      // the model on a model: refreshed after its upstream, each time in the same round
      const firstMicro = runs.find((r) => r.model === 'stats_micro' && r.status === 'ok');
      const firstTotal = runs.find((r) => r.model === 'micro_total');
      expect(BigInt(firstTotal?.started ?? 0)).toBeGreaterThanOrEqual(BigInt(firstMicro?.finished ?? 0));
      expect(runs.filter((r) => r.model === 'micro_total').length).toBeGreaterThan(1);

      // through the running process: status (no targets: ok) and a refresh on demand, in order
      const status = await runCli([
        'models',
        'status',
        '--warehouse',
        warehouse,
        '--models',
        models,
        '--json',
      ]);
      expect(status.code, status.stderr).toBe(0);
      const states = (JSON.parse(status.stdout) as { models: { name: string; state: string }[] }).models;
      expect(states.map((s) => [s.name, s.state]).sort()).toEqual(
        [...models5, 'micro_total'].map((m) => [m, 'ok']).sort(),
      );
      const manual = await runCli([
        'models',
        'run',
        'micro_total',
        'stats_micro',
        '--warehouse',
        warehouse,
        '--json',
      ]);
      expect(manual.code, manual.stderr).toBe(0);
      const done = (JSON.parse(manual.stdout) as { runs: { model: string; status: string }[] }).runs;
      expect(done.map((r) => [r.model, r.status])).toEqual([
        ['stats_micro', 'ok'],
        ['micro_total', 'ok'],
      ]);
      // tributary status carries the models too
      const report = await runCli(['status', '--warehouse', warehouse, '--json']);
      expect((JSON.parse(report.stdout) as { models: unknown[] }).models).toHaveLength(5);
    } finally {
      run.child.kill('SIGTERM');
    }
    const stopped = await run.exited;
    expect(stopped.code, stopped.stderr).toBe(0);
    // the loader was not disturbed: the warehouse holds the source's rows
    const rows = await cluster().sql<{ id: string; n: number }>(
      'SELECT id::text AS id, n FROM items ORDER BY id',
    );
    const copy = await queryWarehouse(warehouse, 'SELECT id::VARCHAR AS id, n FROM items ORDER BY id');
    expect(copy).toEqual(rows);
  });
});
