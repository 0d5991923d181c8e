/**
 * `tributary verify` right after a first run that only copied: no change was streamed, so the
 * warehouse has no checkpoint yet, and verify said "the warehouse was never loaded".
 */
import { mkdtempSync, rmSync } from 'node:fs';
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
  });
});
