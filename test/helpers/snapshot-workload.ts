/**
 * A table with rows before Tributary starts, and a writer that changes them while they are
 * being copied: updates (some leaving a TOASTed column unchanged, so it is not sent), deletes,
 * re-inserts, across the whole key range. Shared by the snapshot kill tests.
 */
import { expect } from 'vitest';
import type { PostgresCluster } from '../harness/postgres.js';
import { queryWarehouse } from './warehouse.js';

/** `big` (keyed, every 500th row with a TOASTed doc) and `tags` (no key: a multiset). */
export function preloadSql(rows: number): string {
  return `
    CREATE TABLE big (id bigint PRIMARY KEY, n integer NOT NULL, pad text NOT NULL, doc text);
    ALTER TABLE big ALTER COLUMN doc SET STORAGE EXTERNAL;
    INSERT INTO big SELECT i, 0, repeat('p', 60), CASE WHEN i % 500 = 0 THEN repeat(md5(i::text), 200) END
      FROM generate_series(1, ${rows}) AS i;
    CREATE TABLE tags (label text, weight integer);
    ALTER TABLE tags REPLICA IDENTITY FULL;
    INSERT INTO tags SELECT 'l' || (i % 10), i % 3 FROM generate_series(1, 3000) AS i;
  `;
}

/** Writes until `signal` aborts; returns the transactions committed. */
export async function writeWhileCopying(
  cluster: PostgresCluster,
  rows: number,
  signal: AbortSignal,
): Promise<number> {
  const client = await cluster.connect();
  client.on('error', () => {}); // a server restart ends the connection: the next query fails
  let n = 0;
  const toasted = Math.max(1, Math.floor(rows / 500));
  try {
    while (!signal.aborted) {
      await client.query('BEGIN');
      await client.query('UPDATE big SET n = n + 1 WHERE id = ANY($1::bigint[])', [
        [1 + ((n * 7919) % rows), rows - 500 * (n % toasted)],
      ]);
      await client.query('DELETE FROM big WHERE id = $1::bigint', [1 + ((n * 104_729) % rows)]);
      await client.query(
        'INSERT INTO big VALUES ($1::bigint, -1, $2, NULL) ON CONFLICT (id) DO UPDATE SET n = -2',
        [1 + ((n * 15_485_863) % rows), 'reinserted'],
      );
      await client.query("INSERT INTO tags VALUES ('live', $1)", [n % 4]);
      if (n % 5 === 0)
        await client.query("DELETE FROM tags WHERE ctid = (SELECT min(ctid) FROM tags WHERE label = 'l3')");
      await client.query('COMMIT');
      n++;
    }
  } finally {
    await client.end();
  }
  return n;
}

const BIG_ROWS_SQL = "SELECT id::VARCHAR AS id, n, pad, md5(coalesce(doc, '')) AS doc FROM big ORDER BY id";
const BIG_ROWS_SOURCE_SQL =
  "SELECT id::text AS id, n, pad, md5(coalesce(doc, '')) AS doc FROM big ORDER BY id";
const TAGS_SQL = 'SELECT label, weight, count(*)::INTEGER AS n FROM tags GROUP BY 1, 2 ORDER BY 1, 2';
const TAGS_SOURCE_SQL = 'SELECT label, weight, count(*)::int AS n FROM tags GROUP BY 1, 2 ORDER BY 1, 2';

/** The warehouse file holds exactly the source's `big` (no key twice) and `tags` (as a multiset). */
export async function expectWarehouseEqualsSource(
  cluster: PostgresCluster,
  warehouse: string,
): Promise<void> {
  expect(await queryWarehouse(warehouse, BIG_ROWS_SQL)).toEqual(await cluster.sql(BIG_ROWS_SOURCE_SQL));
  expect(await queryWarehouse(warehouse, TAGS_SQL)).toEqual(await cluster.sql(TAGS_SOURCE_SQL));
  const [counts] = await queryWarehouse(warehouse, 'SELECT count(*) AS n, count(DISTINCT id) AS d FROM big');
  expect(counts?.n).toBe(counts?.d);
}
