/**
 * How `tributary run` keeps models, named after what must survive:
 * a model that fails at run time (a cast that fails once rows exist) is recorded failed, the
 * model that reads it skipped, its sibling refreshed, and the pipeline goes on; `models status`
 * exits 1 for it; a model with a target is ok while changes flow and late once the pipeline
 * stops. (Coalescing: coalescing.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { newestBinaries } from '../harness/postgres.js';
import { useCluster } from '../harness/use-cluster.js';
import { runArgs, runCli, startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/events.js';
import { queryWarehouse, waitForWarehouse } from '../helpers/warehouse.js';
import { ITEMS_DDL } from '../helpers/workload.js';
import { modelFiles, modelRuns } from './helpers.js';

interface StatusJson {
  models: { name: string; state: string; problem: boolean; lastRun: { status: string } | null }[];
}

describe('models in tributary run', () => {
  const cluster = useCluster({ binaries: newestBinaries(), setup: (c) => c.sql(ITEMS_DDL) });

  it('a failing model is recorded while its sibling and the pipeline go on; freshness ok, then late', async () => {
    const { models, warehouse } = modelFiles({
      bad: '-- materialized: table\nSELECT CAST(note AS INTEGER) AS x FROM items',
      after_bad: '-- materialized: table\nSELECT count(*) AS c FROM bad',
      good: '-- materialized: table\n-- freshness: 3s\nSELECT count(*)::BIGINT AS c FROM items',
      good_view: '-- freshness: 3s\nSELECT max(id) AS m FROM items',
    });
    const run = startCli(runArgs(cluster().url(), warehouse, '--models', models, '--slot', 'failing'));
    let writer: NodeJS.Timeout | undefined;
    try {
      await waitFor('the slot', () => /replication slot/.test(run.stderr()) || undefined);
      await waitFor('the first round', async () => {
        const runs = await modelRuns(warehouse).catch(() => []);
        return runs.some((r) => r.model === 'good' && r.status === 'ok') || undefined;
      });
      await cluster().sql("INSERT INTO items SELECT g, g, 'item ' || g FROM generate_series(1, 5) g");
      await waitForWarehouse(cluster(), { slot: 'failing' });
      await waitFor('the failure recorded', async () => {
        const runs = await modelRuns(warehouse, "trigger = 'change'");
        const last = (m: string) => runs.filter((r) => r.model === m).at(-1);
        return (last('bad')?.status === 'failed' && last('after_bad')?.status === 'skipped') || undefined;
      });
      const failed = (await modelRuns(warehouse, "model = 'bad' AND status = 'failed'"))[0];
      expect(failed?.error).toMatch(/Could not convert string 'item \d' to INT32/);
      const skipped = (await modelRuns(warehouse, "model = 'after_bad' AND status = 'skipped'"))[0];
      expect(skipped?.error).toBe('skipped: the upstream model bad failed');
      expect(run.stderr()).toMatch(/model refresh failed/);

      // the sibling and the pipeline go on
      await cluster().sql("INSERT INTO items VALUES (6, 6, 'item 6'), (7, 7, 'item 7')");
      await waitForWarehouse(cluster(), { slot: 'failing' });
      await waitFor('good to count 7', async () => {
        const [row] = await queryWarehouse(warehouse, 'SELECT c FROM models.good');
        return row?.c === '7' || undefined;
      });

      // while changes flow: good is fresh, bad failed (exit 1)
      writer = setInterval(
        () =>
          void cluster()
            .sql('UPDATE items SET n = n + 1 WHERE id = 1')
            .catch(() => {}),
        300,
      );
      const running = await waitFor('good and good_view ok', async () => {
        const r = await runCli(['models', 'status', '--warehouse', warehouse, '--json']);
        const parsed = JSON.parse(r.stdout) as StatusJson;
        const state = (m: string) => parsed.models.find((s) => s.name === m)?.state;
        return (r.code === 1 && state('good') === 'ok' && state('good_view') === 'ok' && parsed) || undefined;
      });
      expect(running.models.find((m) => m.name === 'bad')).toMatchObject({ state: 'failed', problem: true });
      expect(running.models.find((m) => m.name === 'after_bad')).toMatchObject({
        state: 'failed',
        problem: true,
      });
    } finally {
      clearInterval(writer);
      run.child.kill('SIGTERM');
    }
    const stopped = await run.exited;
    expect(stopped.code, stopped.stderr).toBe(0);

    // the pipeline stopped: from the file, the targets are missed
    await waitFor('good and good_view late', async () => {
      const r = await runCli(['models', 'status', '--warehouse', warehouse, '--models', models, '--json']);
      const parsed = JSON.parse(r.stdout) as StatusJson;
      const state = (m: string) => parsed.models.find((s) => s.name === m)?.state;
      expect(r.code).toBe(1);
      return (state('good') === 'late' && state('good_view') === 'late') || undefined;
    });
    const text = await runCli(['models', 'status', '--warehouse', warehouse, '--models', models]);
    expect(text.stdout).toMatch(/^good\s+LATE\s+[\d.]+ s\s+3s/m);
    expect(text.stderr).toMatch(/model\(s\) not fresh: .*good \(late\)/);
  });
});
