/**
 * The consumer is killed with SIGKILL at random moments while changes stream in (between
 * receiving and durably writing, mid-batch, mid-transaction); each restart resumes from the
 * slot and the file's last durable position. At the end the file holds every committed change
 * exactly once, in commit order.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EACH_MAJOR, useCluster } from '../harness/use-cluster.js';
import { startCli } from '../helpers/cli.js';
import { readChanges, waitFor } from '../helpers/events.js';
import { ITEMS_DDL, opsFromChanges, writeItems } from '../helpers/workload.js';

describe.each(EACH_MAJOR)(
  'crash of the consumer between receive and durable ack (%s)',
  (_label, binaries) => {
    const cluster = useCluster({ binaries, setup: (c) => c.sql(ITEMS_DDL) });

    it('loses nothing and applies nothing twice across repeated kill -9', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tributary-crash-'));
      const out = join(dir, 'events.ndjson');
      const args = ['tail', '--source', cluster().url(), '--tables', 'public.items', '--out', out];
      const setup = startCli(args);
      await waitFor('the slot', () => /created replication slot/.test(setup.stderr()) || undefined, 30_000);
      setup.child.kill('SIGKILL');
      await setup.exited;
      const writer = await cluster().connect();
      // the writer keeps committing through every kill, so each one lands mid-stream
      const stopWriting = new AbortController();
      const written = writeItems(writer, { transactions: 1_000_000, seed: 7, signal: stopWriting.signal });
      let seed = 42;
      const random = () => {
        seed = (seed * 48_271) % 2_147_483_647;
        return seed / 2_147_483_647;
      };
      for (let round = 0; round < 6; round++) {
        const cli = startCli(args);
        await waitFor(
          'the consumer to start streaming',
          () => /replication slot/.test(cli.stderr()) || undefined,
          30_000,
        );
        await new Promise((r) => setTimeout(r, 200 + random() * 1200));
        cli.child.kill('SIGKILL');
        const result = await cli.exited;
        expect(result.signal).toBe('SIGKILL');
      }
      stopWriting.abort();
      const ops = await written;
      expect(ops.length).toBeGreaterThan(1000);
      await writer.end();
      const cli = startCli(args);
      await waitFor('the last consumer to stream', () => /replication slot/.test(cli.stderr()) || undefined);
      await waitFor(
        'every change in the file',
        () => opsFromChanges(readChanges(out)).length >= ops.length || undefined,
        90_000,
      );
      cli.child.kill('SIGTERM');
      const result = await cli.exited;
      expect(result.code, result.stderr).toBe(0);

      const changes = readChanges(out);
      expect(opsFromChanges(changes)).toEqual(ops);
      const positions = changes.map((c) => c.position);
      expect(new Set(positions).size).toBe(positions.length);
    });
  },
);
