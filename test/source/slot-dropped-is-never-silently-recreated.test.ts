/**
 * A slot dropped behind Tributary's back means changes may be gone. Whether it happens while
 * streaming or while stopped, the consumer stops with a clear error (exit 2) instead of making
 * a new slot that would silently skip the gap.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newestBinaries, PostgresCluster } from '../harness/postgres.js';
import { runCli, startCli } from '../helpers/cli.js';
import { readChanges, waitFor } from '../helpers/events.js';

describe('slot dropped is never silently re-created', () => {
  let cluster: PostgresCluster;
  beforeAll(async () => {
    cluster = await PostgresCluster.start({ binaries: newestBinaries() });
    await cluster.sql('CREATE TABLE t (id int PRIMARY KEY)');
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('stops with SLOT_MISSING when the slot is dropped while streaming, and refuses to start without it', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'tributary-dropped-')), 'events.ndjson');
    const args = ['tail', '--source', cluster.url(), '--tables', 'public.t', '--out', out];
    const cli = startCli(args);
    await waitFor('the slot', () => /created replication slot/.test(cli.stderr()) || undefined);
    await cluster.sql('INSERT INTO t VALUES (1)');
    await waitFor('the first change', () => readChanges(out).length === 1 || undefined);
    await waitFor('the slot to be dropped', async () => {
      await cluster.sql(
        "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = 'tributary'",
      );
      const dropped = await cluster
        .sql("SELECT pg_drop_replication_slot('tributary')")
        .then(() => true)
        .catch(() => false);
      return dropped || undefined;
    });
    const running = await cli.exited;
    expect(running.code, running.stderr).toBe(2);
    expect(running.stderr).toMatch(/replication slot "tributary" does not exist/);

    const again = await runCli(args);
    expect(again.code, again.stderr).toBe(2);
    expect(again.stderr).toMatch(/does not exist, but the downstream already holds changes/);
    expect(await cluster.sql("SELECT 1 FROM pg_replication_slots WHERE slot_name = 'tributary'")).toEqual([]);
  });
});
