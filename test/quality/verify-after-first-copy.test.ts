/**
 * `tributary verify` right after a first run that only copied: no change was streamed, so the
 * warehouse has no checkpoint yet, and verify said "the warehouse was never loaded". And a
 * ledger from the config file runs as one statement on the source.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { newestBinaries } from '../harness/postgres.js';
import { useCluster } from '../harness/use-cluster.js';
import { runArgs, runCli, startCli } from '../helpers/cli.js';
import { jobsDoneByStatus } from '../helpers/warehouse.js';

describe('verify after a first copy with nothing streamed', () => {
  const cluster = useCluster({
    binaries: newestBinaries(),
    setup: (c) =>
      c.sql(`CREATE TABLE items (id int PRIMARY KEY, v text);
             INSERT INTO items SELECT g, 'v' || g FROM generate_series(1, 500) g`),
  });
  const dir = mkdtempSync(join(tmpdir(), 'tributary-verify-first-'));
  const warehouse = join(dir, 'w.duckdb');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('compares what the copy wrote', async () => {
    const run = startCli(runArgs(cluster().url(), warehouse, '--no-http'));
    try {
      await jobsDoneByStatus(warehouse, 1, 60_000);
    } finally {
      run.child.kill('SIGTERM');
      expect((await run.exited).code).toBe(0);
    }
    const status = await runCli(['status', '--warehouse', warehouse, '--json']);
    expect(JSON.parse(status.stdout)).toHaveProperty('checkpoint', null);

    const verified = await runCli(['verify', '--source', cluster().url(), '--warehouse', warehouse]);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/public\.items\s+match\s+500 rows/);

    // a ledger's SQL runs as one statement: it cannot end the read-only transaction and go on
    const config = join(dir, 'evil.yml');
    writeFileSync(
      config,
      `ledgers:\n  - name: evil\n    sql: SELECT count(*) AS n FROM items; COMMIT; DROP TABLE items\n`,
    );
    const evil = await runCli([
      'verify',
      '--source',
      cluster().url(),
      '--warehouse',
      warehouse,
      '--config',
      config,
      '--ledgers-only',
    ]);
    expect(evil.code).not.toBe(0);
    expect(evil.stderr).toMatch(/ledger evil: the source refused its query: cannot insert multiple commands/);
    const [{ n }] = (await cluster().sql<{ n: string }>('SELECT count(*)::text AS n FROM items')) as [
      { n: string },
    ];
    expect(n).toBe('500');
  });
});
