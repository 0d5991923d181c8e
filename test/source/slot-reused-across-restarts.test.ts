/**
 * Stopping the consumer (SIGTERM) and starting it again reuses the slot and the publication:
 * changes written while it was down arrive after the restart, nothing is re-sent, no new slot.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EACH_MAJOR, useCluster } from '../harness/use-cluster.js';
import { startCli } from '../helpers/cli.js';
import { readChanges, waitFor } from '../helpers/events.js';
import { ITEMS_DDL, opsFromChanges, writeItems } from '../helpers/workload.js';

describe.each(EACH_MAJOR)('slot reused across restarts (%s)', (_label, binaries) => {
  const cluster = useCluster({ binaries, setup: (c) => c.sql(ITEMS_DDL) });

  it('resumes from the slot after a clean stop, without re-creating it', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'tributary-reuse-')), 'events.ndjson');
    const args = ['tail', '--source', cluster().url(), '--out', out];
    const writer = await cluster().connect();
    const first = startCli(args);
    await waitFor('the slot', () => /created replication slot/.test(first.stderr()) || undefined);
    const ops = await writeItems(writer, { transactions: 200, seed: 3 });
    await waitFor(
      'the first changes',
      () => opsFromChanges(readChanges(out)).length >= ops.length || undefined,
    );
    first.child.kill('SIGTERM');
    const firstResult = await first.exited;
    expect(firstResult.code, firstResult.stderr).toBe(0);
    expect(firstResult.stderr).toMatch(/created replication slot/);

    const slotsBefore = await cluster().sql<{ slot_name: string; confirmed: string }>(
      'SELECT slot_name, confirmed_flush_lsn::text AS confirmed FROM pg_replication_slots',
    );
    expect(slotsBefore.map((s) => s.slot_name)).toEqual(['tributary']);

    ops.push(...(await writeItems(writer, { transactions: 200, firstId: 100_000, seed: 4 })));
    await writer.end();
    const second = startCli(args);
    await waitFor(
      'the changes made while stopped',
      () => opsFromChanges(readChanges(out)).length >= ops.length || undefined,
    );
    second.child.kill('SIGTERM');
    const secondResult = await second.exited;
    expect(secondResult.code, secondResult.stderr).toBe(0);
    expect(secondResult.stderr).toMatch(/reusing replication slot/);
    expect(secondResult.stderr).not.toMatch(/created replication slot/);
    expect(opsFromChanges(readChanges(out))).toEqual(ops);
    const slotsAfter = await cluster().sql<{ n: number }>(
      'SELECT count(*)::int AS n FROM pg_replication_slots',
    );
    expect(slotsAfter[0]?.n).toBe(1);
  });
});
