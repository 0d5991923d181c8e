/**
 * kill -9 of `tributary run` in the middle of its first snapshot, with a writer changing the
 * rows being copied: the restart reads only the chunks that were not done (the done ones keep
 * the snapshot they were read at), streams meanwhile, and ends with the warehouse equal to the
 * source. A table without a key, copied first, is complete before the kill.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PostgresCluster } from '../harness/postgres.js';
import { newestBinaries } from '../harness/postgres.js';
import { useCluster } from '../harness/use-cluster.js';
import { startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/events.js';
import { queryWarehouse, waitForWarehouse } from '../helpers/warehouse.js';

const ROWS = 60_000;
const SETUP = `
  CREATE TABLE big (id bigint PRIMARY KEY, n integer NOT NULL, pad text NOT NULL, doc text);
  ALTER TABLE big ALTER COLUMN doc SET STORAGE EXTERNAL;
  INSERT INTO big SELECT i, 0, repeat('p', 60), CASE WHEN i % 500 = 0 THEN repeat(md5(i::text), 200) END
    FROM generate_series(1, ${ROWS}) AS i;
  CREATE TABLE tags (label text, weight integer);
  ALTER TABLE tags REPLICA IDENTITY FULL;
  INSERT INTO tags SELECT 'l' || (i % 10), i % 3 FROM generate_series(1, 3000) AS i;
`;

async function write(cluster: PostgresCluster, signal: AbortSignal): Promise<number> {
  const client = await cluster.connect();
  let n = 0;
  try {
    while (!signal.aborted) {
      await client.query('BEGIN');
      await client.query('UPDATE big SET n = n + 1 WHERE id = ANY($1::bigint[])', [
        [1 + ((n * 7919) % ROWS), ROWS - 500 * (n % 100)],
      ]);
      await client.query('DELETE FROM big WHERE id = $1::bigint', [1 + ((n * 104_729) % ROWS)]);
      await client.query(
        'INSERT INTO big VALUES ($1::bigint, -1, $2, NULL) ON CONFLICT (id) DO UPDATE SET n = -2',
        [1 + ((n * 15_485_863) % ROWS), 'reinserted'],
      );
      await client.query("INSERT INTO tags VALUES ('live', $1)", [n % 4]);
      await client.query('COMMIT');
      n++;
    }
  } finally {
    await client.end();
  }
  return n;
}

describe('kill -9 in the middle of the first snapshot', () => {
  const cluster = useCluster({ binaries: newestBinaries(), setup: (c) => c.sql(SETUP) });

  it('resumes with the chunks not yet done and ends exact', { timeout: 300_000 }, async () => {
    const warehouse = join(mkdtempSync(join(tmpdir(), 'tributary-resume-')), 'w.duckdb');
    const args = [
      'run',
      '--source',
      cluster().url(),
      '--warehouse',
      warehouse,
      '--batch-delay',
      '20ms',
      '--snapshot-chunk-rows',
      '4000',
      '--snapshot-workers',
      '1',
    ];
    const writing = new AbortController();
    const writer = write(cluster(), writing.signal);
    writer.catch(() => {}); // awaited below
    const first = startCli(args, { TRIBUTARY_LOG_LEVEL: 'debug' });
    const chunksOfBig = () =>
      (first.stdout() + first.stderr()).match(/"table":"public\.big".*"msg":"chunk copied"/g) ?? [];
    await waitFor('some chunks of big', () => chunksOfBig().length >= 4 || undefined, 120_000);
    first.child.kill('SIGKILL');
    await first.exited;
    const doneBeforeKill = chunksOfBig().length;

    const second = startCli(args);
    try {
      await waitFor(
        'the resumed snapshot',
        async () => {
          const status = startCli(['status', '--json', '--warehouse', warehouse]);
          const result = await status.exited;
          if (result.code !== 0) return undefined;
          const jobs = (JSON.parse(result.stdout) as { snapshots: { table: string; state: string }[] })
            .snapshots;
          return (jobs.length === 2 && jobs.every((j) => j.state === 'done')) || undefined;
        },
        200_000,
      ).catch((error: unknown) => {
        throw new Error(
          `${(error as Error).message}; the restarted run said:\n${second.stderr().slice(-4000)}`,
        );
      });
      writing.abort();
      expect(await writer).toBeGreaterThan(10);
      await waitForWarehouse(cluster());
    } finally {
      writing.abort();
      second.child.kill('SIGTERM');
    }
    const stopped = await second.exited;
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(stopped.stderr).not.toMatch(/starting it over/);

    const source = await cluster().sql<Record<string, unknown>>(
      "SELECT id::text AS id, n, pad, md5(coalesce(doc, '')) AS doc FROM big ORDER BY id",
    );
    const copy = await queryWarehouse(
      warehouse,
      "SELECT id::VARCHAR AS id, n, pad, md5(coalesce(doc, '')) AS doc FROM big ORDER BY id",
    );
    expect(copy).toEqual(source);
    const tagsSource = await cluster().sql<Record<string, unknown>>(
      'SELECT label, weight, count(*)::int AS n FROM tags GROUP BY 1, 2 ORDER BY 1, 2',
    );
    expect(
      await queryWarehouse(
        warehouse,
        'SELECT label, weight, count(*)::INTEGER AS n FROM tags GROUP BY 1, 2 ORDER BY 1, 2',
      ),
    ).toEqual(tagsSource);

    // the chunks done before the kill were not read again: they keep the first snapshot's LSN
    const chunks = await queryWarehouse(
      warehouse,
      `SELECT c.snapshot_lsn::VARCHAR AS lsn, count(*)::INTEGER AS n FROM _tributary.snapshot_chunks c
         JOIN _tributary.snapshot_jobs j ON j.id = c.job_id WHERE j.table_name = 'big' AND c.done
        GROUP BY 1 ORDER BY 1`,
    );
    expect(chunks).toHaveLength(2);
    expect(chunks[0]?.n).toBeGreaterThanOrEqual(doneBeforeKill);
    const [job] = await queryWarehouse(
      warehouse,
      "SELECT attempt, rows_done::BIGINT AS rows FROM _tributary.snapshot_jobs WHERE table_name = 'big'",
    );
    expect(job?.attempt).toBe(2);
    // rows read in all: the table once, plus at most the chunk cut short by the kill
    expect(Number(job?.rows)).toBeLessThan(ROWS + 2 * 4000);
  });
});
