import { describe, expect, it } from 'vitest';
import type { PostgresCluster } from '../harness/postgres.js';
import { EACH_MAJOR_IN_LONG, useCluster } from '../harness/use-cluster.js';
import { sourceRows, startPipeline } from './in-process-pipeline.js';

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

describe.each(EACH_MAJOR_IN_LONG)(
  'initial snapshot under a concurrent write load (%s)',
  (_label, binaries) => {
    const cluster = useCluster({ binaries, setup: (c) => c.sql(SETUP) });

    it('ends with the warehouse equal to the source', async () => {
      const writing = new AbortController();
      const writer = writeWhileCopying(cluster(), writing.signal);
      writer.catch(() => {}); // awaited below
      // small chunks and batches: many chunks, read by two workers, between the stream's batches
      const pipeline = await startPipeline(cluster(), {
        slot: 'snap',
        snapshot: { chunkRows: 1500, batchRows: 1000, workers: 2 },
      });
      const warehouse = pipeline.warehouse;
      try {
        await pipeline.jobsDone(3);
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
        await pipeline.caughtUp();
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
          "SELECT column_name FROM information_schema.columns WHERE table_schema = 'main' AND table_name = 'regional' AND column_name NOT LIKE '_tributary%' ORDER BY ordinal_position",
        );
        expect(columns.rows.map((r) => r[0])).toEqual(['id', 'region', 'v']);
      } finally {
        writing.abort();
        await writer.catch(() => 0);
        await pipeline.stop();
      }
    });
  },
);
