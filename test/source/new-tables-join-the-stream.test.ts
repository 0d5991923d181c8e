/**
 * Without `--tables`, a table created while Tributary runs joins the stream; a new table
 * without a primary key is left out (with a warning) so the application's UPDATE and DELETE
 * on it keep working.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { PostgresSource } from '../../src/source/postgres/postgres-source.js';
import { parseSourceUrl } from '../../src/source/postgres/setup/connection-config.js';
import { newestBinaries, PostgresCluster } from '../harness/postgres.js';
import { waitFor } from '../helpers/events.js';
import { MemoryTarget } from '../helpers/memory-target.js';

describe('new tables join the stream', () => {
  let cluster: PostgresCluster;
  let controller: AbortController;
  let running: Promise<void>;
  let target: MemoryTarget;

  beforeAll(async () => {
    cluster = await PostgresCluster.start({ binaries: newestBinaries() });
    await cluster.sql('CREATE TABLE first (id int PRIMARY KEY)');
    const source = new PostgresSource({
      connection: parseSourceUrl(cluster.url()),
      slot: 'watch',
      publication: 'watch',
      tables: 'all',
      logger: silentLogger(),
      tableWatchIntervalMs: 200,
    });
    await source.prepare();
    target = new MemoryTarget();
    target.source = source;
    controller = new AbortController();
    running = source.run(target, controller.signal);
  });
  afterAll(async () => {
    controller?.abort();
    await running;
    await cluster?.stop();
  });

  it('publishes a new keyed table and leaves a keyless one alone', async () => {
    await cluster.sql('CREATE TABLE later (id int PRIMARY KEY, v text); CREATE TABLE keyless (v text)');
    await waitFor('the new table in the publication', async () => {
      const rows = await cluster.sql(
        "SELECT tablename FROM pg_publication_tables WHERE pubname = 'watch' AND tablename = 'later'",
      );
      return rows.length === 1 || undefined;
    });
    await cluster.sql("INSERT INTO later VALUES (1, 'one'); INSERT INTO keyless VALUES ('x')");
    await cluster.sql("UPDATE keyless SET v = 'y'"); // would fail if keyless were published
    await waitFor('the insert into the new table', () =>
      target.changes().find((e) => e.table.name === 'later'),
    );
    const published = await cluster.sql<{ tablename: string }>(
      "SELECT tablename FROM pg_publication_tables WHERE pubname = 'watch' ORDER BY 1",
    );
    expect(published.map((r) => r.tablename)).toEqual(['first', 'later']);
    expect(target.changes().some((e) => e.table.name === 'keyless')).toBe(false);
  });
});
