/**
 * The server goes away while a backlog streams: a fast restart, an immediate (crash) restart,
 * and the walsender terminated by an administrator. The consumer reconnects with backoff and
 * resumes from its last durable position: every change exactly once, in order, and the
 * process never exits.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EACH_MAJOR, useCluster } from '../harness/use-cluster.js';
import { startCli } from '../helpers/cli.js';
import { readChanges, waitFor } from '../helpers/events.js';
import { ITEMS_DDL, type Op, opsFromChanges, writeItems } from '../helpers/workload.js';

describe.each(EACH_MAJOR)('server restart mid-stream (%s)', (_label, binaries) => {
  const cluster = useCluster({ binaries, setup: (c) => c.sql(ITEMS_DDL) });

  it('resumes after fast restart, crash restart and a terminated walsender with nothing lost or twice', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'tributary-restart-')), 'events.ndjson');
    const cli = startCli(['tail', '--source', cluster().url(), '--tables', 'public.items', '--out', out]);
    await waitFor('the slot', () => /created replication slot/.test(cli.stderr()) || undefined);
    const ops: Op[] = [];
    let firstId = 1;
    const writeSome = async (transactions: number) => {
      const writer = await cluster().connect();
      const written = await writeItems(writer, { transactions, firstId, seed: firstId });
      await writer.end();
      ops.push(...written);
      firstId += 10_000;
    };
    const delivered = () => opsFromChanges(readChanges(out)).length;

    await writeSome(3000);
    await waitFor('streaming to begin', () => delivered() > 0);
    await cluster().restart('fast');
    await writeSome(500);
    await waitFor('some of the new changes', () => delivered() > 3000 || undefined);
    await cluster().restart('immediate');
    await writeSome(500);
    await waitFor('a walsender to terminate', async () => {
      const rows = await cluster().sql<{ n: number }>(
        "SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE backend_type = 'walsender'",
      );
      return (rows[0]?.n ?? 0) > 0 || undefined;
    });
    await writeSome(300);
    await waitFor('every change', () => delivered() >= ops.length || undefined, 90_000);
    expect(cli.child.exitCode).toBeNull();
    cli.child.kill('SIGTERM');
    const result = await cli.exited;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/reconnecting/);
    expect(opsFromChanges(readChanges(out))).toEqual(ops);
  });
});
