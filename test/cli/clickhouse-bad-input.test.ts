/**
 * A ClickHouse warehouse given wrongly, seen from the CLI: a malformed URL, a server that does not
 * answer, a chdb directory another process holds, a feature the ClickHouse warehouse does not
 * keep — each ends with exit 2, a message that says what to change, never the password, and no
 * slot or publication left on the source by the failed run.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, newestBinaries } from '../harness/postgres.js';
import { useCluster } from '../harness/use-cluster.js';
import { type CliResult, runCli, startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/events.js';

const SECRET = 'ch-secret-never-print-me';

function expectExit2(result: CliResult, says: RegExp): void {
  expect(result.code, result.stderr).toBe(2);
  expect(result.stderr).toMatch(says);
  expect(result.stderr + result.stdout).not.toContain(SECRET);
}

describe('a ClickHouse warehouse given wrongly', () => {
  const cluster = useCluster({
    binaries: newestBinaries(),
    setup: (c) => c.sql('CREATE TABLE t (id int PRIMARY KEY)'),
  });
  const slots = async () =>
    (await cluster().sql<{ n: string }>('SELECT count(*)::text AS n FROM pg_replication_slots'))[0]?.n;

  it('refuses a malformed URL, an unknown parameter and a server that does not answer, leaving no slot', async () => {
    expectExit2(
      await runCli(['run', '--source', cluster().url(), '--warehouse', 'clickhouse://']),
      /not a valid ClickHouse URL|names no host/,
    );
    expectExit2(
      await runCli([
        'run',
        '--source',
        cluster().url(),
        '--warehouse',
        `clickhouse://u:${SECRET}@127.0.0.1/db?pasword=x`,
      ]),
      /unknown parameter pasword/,
    );
    const port = await freePort();
    const unreachable = await runCli([
      'run',
      '--source',
      cluster().url(),
      '--warehouse',
      `clickhouse://ana:${SECRET}@127.0.0.1:${port}/analytics`,
    ]);
    expectExit2(unreachable, /cannot reach ClickHouse at clickhouse:\/\/ana@127\.0\.0\.1:\d+\/analytics/);
    expectExit2(
      await runCli([
        'query',
        '--warehouse',
        `clickhouse://ana:${SECRET}@127.0.0.1:${port}/analytics`,
        'SELECT 1',
      ]),
      /cannot reach ClickHouse/,
    );
    expect(await slots()).toBe('0');
  });

  it('refuses what a ClickHouse warehouse does not keep', async () => {
    const warehouse = `chdb://${mkdtempSync(join(tmpdir(), 'tributary-chdb-bad-'))}`;
    const models = mkdtempSync(join(tmpdir(), 'tributary-models-'));
    expectExit2(
      await runCli(['run', '--source', cluster().url(), '--warehouse', warehouse, '--models', models]),
      /models \(--models\) is not available with a ClickHouse warehouse/,
    );
    expectExit2(
      await runCli(['run', '--source', cluster().url(), '--warehouse', warehouse, '--raw-retention', '30d']),
      /raw landing zone/,
    );
    expectExit2(await runCli(['query', '--warehouse', warehouse, '--as-of', '0/1', 'SELECT 1']), /--as-of/);
    // the commands that work on DuckDB only say so (they said "no warehouse at chdb:///…")
    const server = `clickhouse://ana:${SECRET}@127.0.0.1:8123/analytics`;
    for (const command of [
      ['replay'],
      ['export', 'raw', '--to', models],
      ['models', 'list'],
      ['models', 'run'],
      ['check'],
      ['verify', '--source', cluster().url()],
    ]) {
      for (const target of [warehouse, server])
        expectExit2(await runCli([...command, '--warehouse', target]), /needs a DuckDB warehouse/);
    }
    expect(await slots()).toBe('0');
  });

  it('says which process holds a chdb directory', async () => {
    const warehouse = `chdb://${mkdtempSync(join(tmpdir(), 'tributary-chdb-held-'))}`;
    const first = startCli([
      'run',
      '--source',
      cluster().url(),
      '--warehouse',
      warehouse,
      '--no-http',
      '--slot',
      'first',
    ]);
    try {
      await waitFor('the first run', () => /replication slot/.test(first.stderr()) || undefined);
      const second = await runCli([
        'run',
        '--source',
        cluster().url(),
        '--warehouse',
        warehouse,
        '--no-http',
        '--slot',
        'second',
      ]);
      expectExit2(second, /is held by another process \(pid \d+\)/);
      // asked of the running process, they said "this process does not replay" (exit 1)
      expectExit2(await runCli(['replay', '--warehouse', warehouse]), /needs a DuckDB warehouse/);
      expectExit2(await runCli(['check', '--warehouse', warehouse]), /needs a DuckDB warehouse/);
    } finally {
      first.child.kill('SIGTERM');
      expect((await first.exited).code).toBe(0);
    }
    await cluster().sql("SELECT pg_drop_replication_slot('first')");
  });
});
