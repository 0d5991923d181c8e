/**
 * `status` and `query` right after `tributary run` starts: the run holds the DuckDB file's lock
 * a moment before its control file exists. They wait for the holder to answer (or let go)
 * instead of failing on DuckDB's lock message; a holder that never answers gets a clear error.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { startCli } from '../helpers/cli.js';

async function heldWarehouse(): Promise<{ path: string; holder: DuckDBWarehouse }> {
  const path = join(mkdtempSync(join(tmpdir(), 'tributary-held-')), 'w.duckdb');
  // this test process holds the file for writing, as a starting `tributary run` does
  return { path, holder: await DuckDBWarehouse.open(path) };
}

describe('a warehouse held by a process that does not answer yet', () => {
  it('status waits for the holder to let go, then reports from the file', async () => {
    const { path, holder } = await heldWarehouse();
    const status = startCli(['status', '--json', '--warehouse', path]);
    // it is waiting, not failed: still running a while after it tried the file
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(status.child.exitCode).toBeNull();
    await holder.close();
    const result = await status.exited;
    expect(result.code, result.stderr).toBe(0);
    expect((JSON.parse(result.stdout) as { running: boolean }).running).toBe(false);
  });

  it('query gives up after its wait with an error naming the holder, exit 2', async () => {
    const { path, holder } = await heldWarehouse();
    try {
      const query = startCli(['query', '--warehouse', path, 'SELECT 1']);
      const result = await query.exited;
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`held by another process (pid ${process.pid})`);
      expect(result.stderr).toMatch(/try again/);
    } finally {
      await holder.close();
    }
  });

  it('run waits for a reader that opened the file just before it, then starts', async () => {
    const { path, holder } = await heldWarehouse();
    // a source that is not there: once the file is free, run gets as far as connecting
    const run = startCli(['run', '--source', 'postgres://nobody@127.0.0.1:1/none', '--warehouse', path]);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(run.child.exitCode).toBeNull();
    await holder.close();
    const result = await run.exited;
    expect(result.stderr).not.toMatch(/held by another process|Could not set lock/);
    expect(result.stderr).toMatch(/127\.0\.0\.1:1/);
    expect(result.code).toBe(2);
  });
});
