/**
 * A consumer started while Postgres is still starting up (or in recovery) waits for it instead
 * of failing: the server's 57P03 "not accepting connections" is transient. Here the server is a
 * standby with hot_standby off, which answers 57P03 until it is promoted.
 */
import { describe, expect, it } from 'vitest';
import { newestBinaries } from '../harness/postgres.js';
import { useCluster } from '../harness/use-cluster.js';
import { startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/events.js';

describe('start while the server starts up', () => {
  const cluster = useCluster({
    binaries: newestBinaries(),
    settings: { hot_standby: 'off' },
    setup: (c) => c.sql('CREATE TABLE t (id int PRIMARY KEY)'),
  });

  it('waits for the server, then streams', async () => {
    await cluster().halt();
    cluster().writeDataFile('standby.signal', '');
    await cluster().startAgain({ wait: false });
    const cli = startCli(['tail', '--source', cluster().url(), '--tables', 'public.t']);
    await waitFor('the consumer to wait', () => /starting up; waiting/.test(cli.stderr()) || undefined);
    expect(cli.child.exitCode).toBeNull();
    cluster().writeDataFile('promote', '');
    cluster().signalServer('SIGUSR1');
    await waitFor('the slot', () => /created replication slot/.test(cli.stderr()) || undefined);
    await cluster().sql('INSERT INTO t VALUES (1)');
    await waitFor('the change on stdout', () => /"kind":"change"/.test(cli.stdout()) || undefined);
    cli.child.kill('SIGTERM');
    expect((await cli.exited).code).toBe(0);
  });
});
