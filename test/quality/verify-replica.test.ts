/**
 * `tributary verify --replica`: the source's rows are read on a hot standby, at the standby's
 * replay position, and the loader stops at the same position. Under a write load of short
 * transactions that update and delete rows copied long before (the load that caught the first
 * designs: a commit the standby made visible a moment before it moved its replay position on),
 * every verify must find the two sides equal; damage is still found through the standby; a
 * server that is not a standby, or a malformed URL, is refused with exit 2.
 *
 * Sabotage record (2026-11-22, 40 verifies per run): releasing the exporting session once the
 * workers imported the snapshot (as on the primary) failed about half the runs on Postgres 15 at
 * the first verify (rows updated just after the point missing on the standby); held, 160 of 160
 * on 15 and 40 of 40 on 18 matched. The one-record doubt at the replay position was shown by a
 * run outside the suite (a standby snapshot that saw the commit record starting at R: 1 in 24).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import type { VerifyReport } from '../../src/quality/verify/verify.js';
import type { PostgresCluster } from '../harness/postgres.js';
import { EACH_MAJOR_IN_LONG, useCluster } from '../harness/use-cluster.js';
import { runArgs, runCli, startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/events.js';
import { waitForWarehouse } from '../helpers/warehouse.js';
import { writeItems } from '../helpers/workload.js';

const ROWS = 50_000;

describe.each(EACH_MAJOR_IN_LONG)('tributary verify --replica (%s)', (_label, binaries) => {
  let standby: PostgresCluster | null = null;
  const cluster = useCluster({
    binaries,
    setup: async (c) => {
      await c.sql('CREATE TABLE items (id bigint PRIMARY KEY, n integer NOT NULL, note text)');
      await c.sql(`INSERT INTO items SELECT i, i % 97, 'item ' || i FROM generate_series(1, ${ROWS}) i`);
      await c.sql('CREATE TABLE readings (sensor integer, value double precision)');
      await c.sql('ALTER TABLE readings REPLICA IDENTITY FULL');
      await c.sql('INSERT INTO readings SELECT i % 10, i / 4.0 FROM generate_series(1, 2000) i');
      standby = await c.startStandby();
    },
  });
  afterAll(async () => {
    await standby?.stop();
  });

  it('finds the sides equal under writes, reading only the standby; still finds damage; refuses what is not a standby', {
    timeout: 300_000,
  }, async () => {
    const replica = standby!;
    const dir = mkdtempSync(join(tmpdir(), 'tributary-verify-replica-'));
    const warehouse = join(dir, 'w.duckdb');
    const run = startCli(runArgs(cluster().url(), warehouse));
    const stop = new AbortController();
    const client = await cluster().connect();
    let writer: Promise<unknown> = Promise.resolve();
    try {
      await waitFor(
        'the slot',
        async () =>
          (await cluster().sql(`SELECT 1 FROM pg_replication_slots WHERE slot_name = 'tributary'`)).length >
            0 || undefined,
        60_000,
      );
      await cluster().sql(`SELECT pg_logical_emit_message(true, 'test', 'copied')`);
      await waitForWarehouse(cluster(), { timeoutMs: 300_000 });
      writer = (async () => {
        for (let round = 0; !stop.signal.aborted; round++) {
          await writeItems(client, { transactions: 20, firstId: 1_000_000 + round * 1000, seed: round + 1 });
          // rows copied long before: updated, then deleted, each in its own short transaction
          const old = ((round * 7919) % ROWS) + 1;
          await client.query('UPDATE items SET n = n + 1 WHERE id = $1', [old]);
          await client.query('DELETE FROM items WHERE id = $1', [((round * 104_729) % ROWS) + 1]);
          await client.query('INSERT INTO readings VALUES ($1, $2)', [round % 10, round]);
          await client.query(
            'DELETE FROM readings WHERE ctid = (SELECT min(ctid) FROM readings WHERE sensor = $1)',
            [(round + 3) % 10],
          );
        }
      })();
      for (let i = 0; i < 4; i++) {
        const result = await runCli([
          'verify',
          '--warehouse',
          warehouse,
          '--replica',
          replica.url(),
          '--json',
        ]);
        expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
        const report = JSON.parse(result.stdout) as VerifyReport;
        expect(report.readFrom).toContain(`:${replica.port}/`);
        expect(report.tables.map((t) => [t.table, t.status])).toEqual([
          ['public.items', 'match'],
          ['public.readings', 'match'],
        ]);
      }
      // a server that is not a standby, and a malformed URL: exit 2, no secret echoed
      const primary = await runCli(['verify', '--warehouse', warehouse, '--replica', cluster().url()]);
      expect(primary.code, primary.stderr).toBe(2);
      expect(primary.stderr).toMatch(/is not a standby/);
      const malformed = await runCli([
        'verify',
        '--warehouse',
        warehouse,
        '--replica',
        'mysql://app:hunter2@db/shop',
      ]);
      expect(malformed.code, malformed.stderr).toBe(2);
      expect(malformed.stderr).toMatch(/--replica must be a postgres/);
      expect(malformed.stderr).not.toContain('hunter2');
    } finally {
      stop.abort();
      await writer;
      await client.end();
      run.child.kill('SIGTERM');
    }
    expect((await run.exited).code, run.stderr()).toBe(0);

    // damage on the warehouse side is found through the standby (standalone verify)
    const instance = await DuckDBInstance.create(warehouse);
    let damagedId = '';
    try {
      const connection = await instance.connect();
      const first = await connection.runAndReadAll('SELECT min(id)::VARCHAR AS id FROM items');
      damagedId = String(first.getRowObjects()[0]?.id);
      await connection.run(`UPDATE items SET n = n + 1000 WHERE id = ${damagedId}`);
      connection.closeSync();
    } finally {
      instance.closeSync();
    }
    const damaged = await runCli([
      'verify',
      '--source',
      cluster().url(),
      '--warehouse',
      warehouse,
      '--replica',
      replica.url(),
      '--tables',
      'public.items',
      '--json',
    ]);
    expect(damaged.code, damaged.stderr).toBe(1);
    const report = JSON.parse(damaged.stdout) as VerifyReport;
    expect(report.tables[0]?.differences).toEqual([
      { key: { id: damagedId }, kind: 'changed', columns: ['n'] },
    ]);
  });
});
