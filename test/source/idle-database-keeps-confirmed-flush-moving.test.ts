/**
 * A replicated database that is idle, or busy only in other databases and unpublished tables,
 * must not pile up WAL: with nothing in flight, the keepalive position is acknowledged and the
 * slot's confirmed_flush_lsn follows the server's WAL. Heartbeat messages do the same on demand.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatLsn, parseLsn } from '../../src/core/lsn.js';
import { availableBinaries, PostgresCluster } from '../harness/postgres.js';
import { startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/events.js';

describe.each(availableBinaries().map((b) => [b.label, b] as const))(
  'idle database keeps confirmed_flush_lsn moving (%s)',
  (_label, binaries) => {
    let cluster: PostgresCluster;
    beforeAll(async () => {
      cluster = await PostgresCluster.start({ binaries });
      await cluster.sql('CREATE TABLE watched (id int PRIMARY KEY)');
      await cluster.sql('CREATE TABLE unpublished (id int PRIMARY KEY, pad text)');
      await cluster.sql('CREATE DATABASE elsewhere');
      await cluster.sql('CREATE TABLE noise (id serial PRIMARY KEY, pad text)', [], 'elsewhere');
    });
    afterAll(async () => {
      await cluster?.stop();
    });

    const confirmedFlush = async (slot: string) => {
      const rows = await cluster.sql<{ lsn: string | null }>(
        'SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1',
        [slot],
      );
      return rows[0]?.lsn ? parseLsn(rows[0].lsn) : 0n;
    };

    for (const [name, extra] of [
      ['keepalives', []],
      ['heartbeats', ['--heartbeat', '500ms']],
    ] as const) {
      it(`follows the WAL written elsewhere (${name})`, async () => {
        const slot = `idle_${name}`;
        const out = join(mkdtempSync(join(tmpdir(), 'tributary-idle-')), 'events.ndjson');
        const cli = startCli([
          'tail',
          '--source',
          cluster.url(),
          '--tables',
          'public.watched',
          '--slot',
          slot,
          '--publication',
          slot,
          '--out',
          out,
          ...extra,
        ]);
        await waitFor('the slot', async () => (await confirmedFlush(slot)) > 0n || undefined);
        await cluster.sql('TRUNCATE unpublished');
        for (let i = 0; i < 20; i++) {
          await cluster.sql(
            "INSERT INTO noise (pad) SELECT repeat('x', 1000) FROM generate_series(1, 200)",
            [],
            'elsewhere',
          );
          await cluster.sql(
            'INSERT INTO unpublished SELECT g, $1 FROM generate_series($2::int, $2::int + 99) g',
            ['y'.repeat(500), i * 100],
          );
        }
        const walAfterWrites = parseLsn(
          (await cluster.sql<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn'))[0]!.lsn,
        );
        const reached = await waitFor(
          `confirmed_flush_lsn to pass ${formatLsn(walAfterWrites)}`,
          async () => {
            if (name === 'keepalives') await cluster.sql('SELECT pg_switch_wal()').catch(() => {});
            const lsn = await confirmedFlush(slot);
            return lsn >= walAfterWrites ? lsn : undefined;
          },
          60_000,
        );
        expect(reached).toBeGreaterThanOrEqual(walAfterWrites);
        cli.child.kill('SIGTERM');
        expect((await cli.exited).code).toBe(0);
      });
    }
  },
);
