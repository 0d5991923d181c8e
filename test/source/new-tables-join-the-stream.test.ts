/**
 * Without `--tables`, a table created while Tributary runs joins the stream; a new table
 * without a primary key is left out (with a warning) so the application's UPDATE and DELETE
 * on it keep working.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newestBinaries } from '../harness/postgres.js';
import { useCluster } from '../harness/use-cluster.js';
import { waitFor } from '../helpers/events.js';
import { type RunningSource, startSource } from '../helpers/in-process-source.js';
import type { MemoryTarget } from '../helpers/memory-target.js';

describe('new tables join the stream', () => {
  const cluster = useCluster({
    binaries: newestBinaries(),
    setup: (c) => c.sql('CREATE TABLE first (id int PRIMARY KEY)'),
  });
  let running: RunningSource;
  let target: MemoryTarget;
  beforeAll(async () => {
    running = await startSource(cluster(), { slot: 'watch', tableWatchIntervalMs: 200 });
    target = running.target;
  });
  afterAll(async () => {
    await running?.stop();
  });

  it('publishes a new keyed table and leaves a keyless one alone', async () => {
    await cluster().sql('CREATE TABLE later (id int PRIMARY KEY, v text); CREATE TABLE keyless (v text)');
    await waitFor('the new table in the publication', async () => {
      const rows = await cluster().sql(
        "SELECT tablename FROM pg_publication_tables WHERE pubname = 'watch' AND tablename = 'later'",
      );
      return rows.length === 1 || undefined;
    });
    await cluster().sql("INSERT INTO later VALUES (1, 'one'); INSERT INTO keyless VALUES ('x')");
    await cluster().sql("UPDATE keyless SET v = 'y'"); // would fail if keyless were published
    await waitFor('the insert into the new table', () =>
      target.changes().find((e) => e.table.name === 'later'),
    );
    const published = await cluster().sql<{ tablename: string }>(
      "SELECT tablename FROM pg_publication_tables WHERE pubname = 'watch' ORDER BY 1",
    );
    expect(published.map((r) => r.tablename)).toEqual(['first', 'later']);
    expect(target.changes().some((e) => e.table.name === 'keyless')).toBe(false);
  });
});
