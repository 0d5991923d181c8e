/**
 * The first run copies what the tables already hold, then streams: with a writer inserting,
 * updating and deleting the very rows being copied, the warehouse ends equal to the source —
 * a keyed table with TOASTed values, a table without a primary key (a multiset), and a table
 * whose publication has a row filter and a column list.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { runPipeline } from '../../src/pipeline/pipeline.js';
import { parseSourceUrl } from '../../src/source/postgres/setup/connection-config.js';
import { TypeRegistry } from '../../src/source/postgres/values/type-registry.js';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import type { PostgresCluster } from '../harness/postgres.js';
import { EACH_MAJOR, useCluster } from '../harness/use-cluster.js';
import { waitFor } from '../helpers/events.js';
import { waitForWarehouse } from '../helpers/warehouse.js';
import { sourceRows } from './in-process-pipeline.js';

const SETUP = `
  CREATE TABLE accounts (id bigint PRIMARY KEY, owner text NOT NULL, balance numeric(14,2), doc text, tags text[]);
  INSERT INTO accounts
    SELECT n, 'owner ' || n, (n * 37 % 100000) / 100.0,
           CASE WHEN n % 50 = 0 THEN repeat(md5(n::text), 400) END, ARRAY['t' || (n % 7)]
      FROM generate_series(1, 30000) AS n;
  ALTER TABLE accounts ALTER COLUMN doc SET STORAGE EXTERNAL;
  CREATE TABLE events (kind text, amount integer);
  ALTER TABLE events REPLICA IDENTITY FULL;
  INSERT INTO events SELECT 'k' || (n % 5), n % 3 FROM generate_series(1, 20000) AS n;
  CREATE TABLE regional (id integer PRIMARY KEY, region text NOT NULL, secret text, v integer);
  INSERT INTO regional SELECT n, CASE WHEN n % 2 = 0 THEN 'eu' ELSE 'us' END, 'hidden', n FROM generate_series(1, 4000) AS n;
  CREATE PUBLICATION snap FOR TABLE accounts, events, regional (id, region, v) WHERE (id % 2 = 0)
    WITH (publish = 'insert, update, delete, truncate', publish_via_partition_root = true);
`;

async function writeWhileCopying(cluster: PostgresCluster, signal: AbortSignal): Promise<number> {
  const client = await cluster.connect();
  let n = 0;
  try {
    while (!signal.aborted) {
      const id = 1 + ((n * 7919) % 30000);
      await client.query('BEGIN');
      await client.query('UPDATE accounts SET balance = balance + 1, tags = tags || $2::text WHERE id = $1', [
        id,
        `u${n}`,
      ]);
      await client.query('DELETE FROM accounts WHERE id = $1', [1 + ((n * 104729) % 30000)]);
      await client.query(
        `INSERT INTO accounts VALUES ($1::bigint, 'new', 1.50, CASE WHEN $1::bigint % 3 = 0 THEN repeat('x', 20000) END, '{}') ON CONFLICT (id) DO UPDATE SET owner = 'reinserted'`,
        [30000 + (n % 2000) + 1],
      );
      await client.query("INSERT INTO events VALUES ('live', $1)", [n % 4]);
      if (n % 3 === 0)
        await client.query(
          "DELETE FROM events WHERE ctid = (SELECT min(ctid) FROM events WHERE kind = 'k1')",
        );
      await client.query(
        "UPDATE regional SET v = v + 1, region = CASE WHEN id % 10 = 0 THEN 'moved' ELSE region END WHERE id = $1",
        [1 + (n % 4000)],
      );
      await client.query('COMMIT');
      n++;
    }
  } finally {
    await client.end();
  }
  return n;
}

describe.each(EACH_MAJOR)('initial snapshot under a concurrent write load (%s)', (_label, binaries) => {
  const cluster = useCluster({ binaries, setup: (c) => c.sql(SETUP) });

  it('ends with the warehouse equal to the source', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-snapshot-'));
    const types = new TypeRegistry();
    const warehouse = await DuckDBWarehouse.open(join(dir, 'w.duckdb'), {
      typeInfo: (oid) => types.info(oid),
    });
    const controller = new AbortController();
    const writing = new AbortController();
    const writer = writeWhileCopying(cluster(), writing.signal);
    writer.catch(() => {}); // awaited below; a failure shows there
    const run = runPipeline(
      {
        source: {
          connection: parseSourceUrl(cluster().url()),
          slot: 'snap',
          publication: 'snap',
          tables: 'all',
          types,
          statusIntervalMs: 200,
        },
        warehouse,
        logger: silentLogger(),
        batch: { maxDelayMs: 20 },
        // small chunks and batches: many chunks, read by two workers, interleaved with the stream
        snapshot: { chunkRows: 1500, batchRows: 1000, workers: 2 },
      },
      controller.signal,
    ).then(
      () => null,
      (error: unknown) => error,
    );
    let failure: unknown = null;
    try {
      await waitFor(
        'the initial snapshot',
        async () => {
          const jobs = await warehouse.snapshotJobs();
          return (jobs.length === 3 && jobs.every((j) => j.state === 'done')) || undefined;
        },
        120_000,
      );
      // the small chunk size made several chunks per table, every one of them read
      const chunks = await warehouse.query(
        'SELECT j.table_name, count(*), bool_and(c.done) FROM _tributary.snapshot_chunks c JOIN _tributary.snapshot_jobs j ON j.id = c.job_id GROUP BY 1 ORDER BY 1',
      );
      for (const [table, count, done] of chunks.rows) {
        expect(Number(count), String(table)).toBeGreaterThan(1);
        expect(done, String(table)).toBe(true);
      }
      expect(chunks.rows).toHaveLength(3);
      await new Promise((r) => setTimeout(r, 500));
      writing.abort();
      const writes = await writer;
      expect(writes).toBeGreaterThan(10);
      await waitForWarehouse(cluster(), 'snap');
      const compare = async (sql: string, sourceSql = sql) => {
        const copy = (await warehouse.query(sql)).rows.map((r) =>
          r.map((v) => (v === null ? null : String(v))),
        );
        expect(copy).toEqual(await sourceRows(cluster(), sourceSql));
      };
      await compare(
        "SELECT id, owner, balance::text, md5(coalesce(doc, '')), array_to_string(tags, ',') FROM accounts ORDER BY id",
      );
      await compare('SELECT kind, amount, count(*) FROM events GROUP BY 1, 2 ORDER BY 1, 2');
      await compare(
        'SELECT id, region, v FROM regional ORDER BY id',
        'SELECT id, region, v FROM regional WHERE id % 2 = 0 ORDER BY id',
      );
      const columns = await warehouse.query(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'regional' AND column_name NOT LIKE '_tributary%' ORDER BY ordinal_position",
      );
      expect(columns.rows.map((r) => r[0])).toEqual(['id', 'region', 'v']);
    } finally {
      writing.abort();
      await writer.catch(() => 0);
      controller.abort();
      failure = await run;
      await warehouse.close();
      rmSync(dir, { recursive: true, force: true });
    }
    if (failure) throw failure;
  });
});
