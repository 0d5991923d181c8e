/**
 * bench/snapshot's source table: `orders`, filled from generate_series, its primary key built
 * after the fill, vacuumed and analysed; and the facts (count, sum(total), the notes) by which
 * a copy of it is checked.
 */
import { performance } from 'node:perf_hooks';
import type { PostgresCluster } from '../../src/embedded/postgres-cluster.js';
import type { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';

/** The columns in table order, as the snapshot selects them (snapshot-table.ts quotes them). */
export const COPY_SELECT = 'SELECT id, customer_id, country, total, ordered_at, note FROM ONLY public.orders';

const COUNTRIES = `ARRAY['US','DE','FR','GB','JP','CN','IN','BR','CA','AU',
                         'ES','IT','NL','SE','PL','MX','KR','ZA','NG','AR']`;

const CREATE_ORDERS = `
CREATE TABLE orders (
  id          bigint NOT NULL,
  customer_id integer NOT NULL,
  country     text NOT NULL,
  total       numeric(12,2) NOT NULL,
  ordered_at  timestamptz NOT NULL,
  note        text
)`;

/**
 * Notes as shops write them: a quarter NULL, some non-ASCII, one in sixteen with a tab (an
 * escape in COPY text), one in sixteen with text of its own.
 */
const FILL_ORDERS = `
INSERT INTO orders
SELECT n, (n * 7919 % 1000003)::integer, (${COUNTRIES})[1 + ((n * 31 + n / 7) % 20)::integer],
       round(((n * 104729) % 1000000) / 100.0 + 0.99, 2),
       timestamptz '2023-01-01 00:00:00+00' + (n % 31536000) * interval '1 second',
       CASE n % 16
         WHEN 0 THEN NULL WHEN 1 THEN NULL WHEN 2 THEN NULL WHEN 3 THEN NULL
         WHEN 4 THEN 'fragile' || chr(9) || 'stack at most 2'
         WHEN 5 THEN 'livraison à l''accueil, bâtiment B'
         WHEN 6 THEN 'order ' || n || ' for customer ' || (n * 7919 % 1000003)
         WHEN 7 THEN 'gift wrap, no invoice in the parcel'
         WHEN 8 THEN 'call first'
         ELSE 'leave at the door'
       END
  FROM generate_series(1::bigint, $1::bigint) AS n
`;

/** What a copy must agree on, as exact text. */
export interface Facts {
  readonly count: string;
  readonly total: string;
  readonly notes: string;
  readonly noteChars: string;
}

const FACTS_PG =
  'SELECT count(*)::text AS count, sum(total)::text AS total, count(note)::text AS notes, ' +
  'coalesce(sum(length(note)), 0)::text AS "noteChars" FROM orders';
const FACTS_DUCK =
  'SELECT count(*)::VARCHAR, sum(total)::VARCHAR, count(note)::VARCHAR, ' +
  'coalesce(sum(length(note)), 0)::VARCHAR FROM orders';

function int(n: number): string {
  return n.toLocaleString('en-US');
}

/** Creates and fills the table and its publication `orders_pub`; prints its size and plans. */
export async function createOrders(cluster: PostgresCluster, rows: number): Promise<Facts> {
  const client = await cluster.connect();
  try {
    await client.query("SET maintenance_work_mem = '1GB'");
    let start = performance.now();
    await client.query(CREATE_ORDERS);
    await client.query(FILL_ORDERS, [rows]);
    const insertSeconds = (performance.now() - start) / 1000;
    start = performance.now();
    await client.query('ALTER TABLE orders ADD PRIMARY KEY (id)');
    await client.query('CREATE PUBLICATION orders_pub FOR TABLE orders');
    await client.query('VACUUM ANALYZE orders');
    const indexSeconds = (performance.now() - start) / 1000;
    const facts = (await client.query<Facts>(FACTS_PG)).rows[0];
    const [size] = (
      await client.query<{ heap: string; index: string; pages: string }>(
        `SELECT pg_size_pretty(pg_table_size('orders')) AS heap, pg_size_pretty(pg_indexes_size('orders')) AS index,
                (pg_relation_size('orders') / current_setting('block_size')::int8)::text AS pages`,
      )
    ).rows;
    if (!facts || !size) throw new Error('cannot read the orders table back');
    console.log(
      `  orders: ${int(rows)} rows inserted in ${insertSeconds.toFixed(1)} s, primary key + VACUUM ANALYZE ` +
        `${indexSeconds.toFixed(1)} s; table ${size.heap} (${int(Number(size.pages))} pages), index ${size.index}; ` +
        `sum(total) ${facts.total}, ${int(Number(facts.notes))} notes`,
    );
    for (const [what, sql] of [
      ['the reference', COPY_SELECT],
      ['a snapshot chunk', `${COPY_SELECT} WHERE ctid >= '(0,0)'::tid AND ctid < '(1000,0)'::tid`],
    ] as const) {
      const plan = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`);
      console.log(`  plan of ${what}: ${plan.rows[0]?.['QUERY PLAN'].trim()}`);
    }
    return facts;
  } finally {
    await client.end();
  }
}

export async function readWarehouseFacts(warehouse: DuckDBWarehouse): Promise<Facts> {
  const answer = await warehouse.query(FACTS_DUCK);
  const [count = '', total = '', notes = '', noteChars = ''] = (answer.rows[0] ?? []).map(String);
  return { count, total, notes, noteChars };
}

/** A decimal string as an exact integer of hundredths. */
function cents(text: string): bigint {
  const negative = text.startsWith('-');
  const [whole = '0', fraction = ''] = (negative ? text.slice(1) : text).split('.');
  const value = BigInt(whole) * 100n + BigInt(fraction.padEnd(2, '0').slice(0, 2));
  return negative ? -value : value;
}

/** Null when the copy agrees with the source, else what differs. */
export function factsMismatch(copy: Facts, source: Facts): string | null {
  const equal =
    copy.count === source.count &&
    /^-?\d+(\.\d+)?$/.test(copy.total) &&
    cents(copy.total) === cents(source.total) &&
    copy.notes === source.notes &&
    copy.noteChars === source.noteChars;
  if (equal) return null;
  return (
    `the warehouse holds count ${copy.count}, sum(total) ${copy.total}, count(note) ${copy.notes}, ` +
    `sum(length(note)) ${copy.noteChars}; Postgres ${source.count}, ${source.total}, ${source.notes}, ${source.noteChars}`
  );
}
