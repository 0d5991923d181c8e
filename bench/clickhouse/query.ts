/**
 * bench/clickhouse part 2, the seed query `SELECT country, SUM(total) FROM orders GROUP BY
 * country` on Postgres, DuckDB and ClickHouse in the same run.
 *
 * - Source: bench/snapshot's `orders` (`--orders` rows, primary key, VACUUM ANALYZE).
 * - Each warehouse gets the table through Tributary's first copy: `runPipeline` on a slot of its
 *   own that does not exist yet, default snapshot settings (what `tributary run` does on its
 *   first run), until the warehouse records the job done; the copy's count, sum(total),
 *   count(note) and the notes' characters must equal Postgres'. The copy times are printed.
 * - Timed, alternating, best of `--query-runs`: Postgres (one connection, default parallel
 *   settings), DuckDB (`warehouse.query`), ClickHouse (`warehouse.query` on the analyst's VIEW,
 *   i.e. the storage table with FINAL and the deleted filter, over the parts as the copy left
 *   them). Every answer must equal Postgres' (20 sums, as integers of cents).
 * - Then `OPTIMIZE TABLE <storage> FINAL` (timed) and, best of `--query-runs` again: the view
 *   (FINAL over one merged part: what FINAL costs once merged) and the storage table read
 *   plainly without FINAL (what the scan alone costs; exact only because the table is merged
 *   and holds no tombstones — which is checked by the answer).
 */
import { silentLogger } from '../../src/core/logger.js';
import type { PostgresCluster } from '../../src/embedded/postgres-cluster.js';
import { runPipeline } from '../../src/pipeline/pipeline.js';
import { parseSourceUrl } from '../../src/source/postgres/setup/connection-config.js';
import { TypeRegistry } from '../../src/source/postgres/values/type-registry.js';
import { ClickHouseWarehouse } from '../../src/warehouse/clickhouse/clickhouse-warehouse.js';
import { quoteName } from '../../src/warehouse/clickhouse/connect.js';
import { dropSlots } from '../common/cluster.js';
import { elapsedSince, int, now, rate, sleep, withTimeout } from '../common/report.js';
import { loadText } from '../common/tools.js';
import { createOrders, type Facts, factsMismatch } from '../snapshot/orders.js';
import { activeParts, cents, type OpenSide, SIDE_NAMES, type Side, type Sides, sideBytes } from './sides.js';

const COPY_TIMEOUT_MS = 3 * 60 * 60_000;
const SEED_QUERY = 'SELECT country, SUM(total) FROM orders GROUP BY country';
const STORAGE = '_tributary_rows_orders';

const FACTS_WAREHOUSE: Readonly<Record<Side, string>> = {
  duckdb:
    'SELECT count(*)::VARCHAR, sum(total)::VARCHAR, count(note)::VARCHAR, coalesce(sum(length(note)), 0)::VARCHAR FROM orders',
  clickhouse:
    "SELECT toString(count()), toString(sum(total)), toString(count(note)), toString(sum(lengthUTF8(coalesce(note, '')))) FROM orders",
};

type Rows = readonly (readonly unknown[])[];

function answerKey(rows: Rows): string {
  return rows
    .map((r) => `${String(r[0])}=${cents(String(r[1]))}`)
    .sort()
    .join(',');
}

/** Copies `orders` into a fresh warehouse by Tributary's first copy; returns it open. */
async function firstCopy(
  cluster: PostgresCluster,
  sides: Sides,
  side: Side,
  rows: number,
  source: Facts,
): Promise<{ open: OpenSide; seconds: number }> {
  const slot = `orders_${side}`;
  const types = new TypeRegistry();
  const start = now();
  const open = await sides.open(side, slot, types);
  const controller = new AbortController();
  const done = runPipeline(
    {
      source: {
        connection: parseSourceUrl(cluster.url()),
        slot,
        publication: 'orders_pub',
        tables: [{ schema: 'public', name: 'orders' }],
        types,
      },
      warehouse: open.warehouse,
      logger: silentLogger(),
    },
    controller.signal,
  );
  done.catch(() => {});
  try {
    const copied = (async () => {
      for (;;) {
        const jobs = await open.warehouse.snapshotJobs();
        if (jobs.some((j) => j.state === 'failed' || j.state === 'cancelled'))
          throw new Error(
            `the first copy into ${side} failed: ${jobs.map((j) => j.error ?? j.state).join('; ')}`,
          );
        if (jobs.length > 0 && jobs.every((j) => j.state === 'done')) return;
        await sleep(200);
      }
    })();
    await withTimeout(Promise.race([copied, done]), `the first copy into ${side}`, COPY_TIMEOUT_MS);
    const seconds = elapsedSince(start);
    controller.abort();
    await done;
    const answer = await open.warehouse.query(FACTS_WAREHOUSE[side]);
    const [count = '', total = '', notes = '', noteChars = ''] = (answer.rows[0] ?? []).map(String);
    const mismatch = factsMismatch({ count, total, notes, noteChars }, source);
    if (mismatch) throw new Error(`LOST OR WRONG ROWS in ${SIDE_NAMES[side]}: ${mismatch}`);
    const parts =
      open.warehouse instanceof ClickHouseWarehouse
        ? `, ${await activeParts(open.warehouse, slot, STORAGE)} active parts`
        : '';
    console.log(
      `  ${SIDE_NAMES[side]}: first copy by runPipeline in ${seconds.toFixed(1)} s, ${rate(rows / seconds)} rows; ` +
        `${((await sideBytes(open, slot)) / 2 ** 20).toFixed(0)} MiB on disk${parts}; the copy equals Postgres  (load ${loadText()})`,
    );
    return { open, seconds };
  } catch (error) {
    controller.abort();
    await done.catch(() => {});
    await open.discard();
    throw error;
  } finally {
    await dropSlots(cluster, [slot]);
  }
}

/**
 * Each active part's rows and id range: FINAL merges at read time only where parts' key ranges
 * overlap (parts that each span the whole key range cost a merge of all of them).
 */
async function partRanges(clickhouse: ClickHouseWarehouse, storage: string): Promise<string> {
  const result = await clickhouse.client.query({
    query: `SELECT toString(count()) AS n, toString(min(id)) AS lo, toString(max(id)) AS hi FROM ${storage} GROUP BY _part ORDER BY min(id)`,
    format: 'JSONEachRow',
  });
  const parts = await result.json<{ n: string; lo: string; hi: string }>();
  return parts.map((p) => `${int(Number(p.n))} [${p.lo}..${p.hi}]`).join(', ');
}

interface Timed {
  readonly times: number[];
  best: number;
  rows: Rows;
}

async function timeOnce(timed: Timed, run: () => Promise<Rows>): Promise<void> {
  const t0 = now();
  timed.rows = await run();
  const ms = now() - t0;
  timed.times.push(ms);
  timed.best = Math.min(timed.best, ms);
}

const timed = (): Timed => ({ times: [], best: Number.POSITIVE_INFINITY, rows: [] });

function report(name: string, t: Timed, reference: string): boolean {
  const equal = answerKey(t.rows) === reference;
  console.log(
    `  ${name.padEnd(40)} ${t.times.map((ms) => ms.toFixed(1)).join(', ')} ms; best ${t.best.toFixed(1)} ms; ` +
      `answer ${equal ? 'equal' : 'DIFFERENT'}`,
  );
  return equal;
}

export interface QueryResult {
  /** Tributary's first copy of the orders into each warehouse, in seconds. */
  readonly duckdbCopyS: number;
  readonly clickhouseCopyS: number;
  readonly postgresMs: number;
  readonly duckdbMs: number;
  readonly clickhouseMs: number;
  readonly mergedViewMs: number;
  readonly mergedPlainMs: number;
  readonly equal: boolean;
}

export async function partQuery(
  cluster: PostgresCluster,
  sides: Sides,
  options: { readonly orders: number; readonly queryRuns: number },
): Promise<QueryResult> {
  console.log('');
  console.log(`part 2 — the seed query on ${int(options.orders)} orders: ${SEED_QUERY}`);
  const source = await createOrders(cluster, options.orders);
  const duckCopy = await firstCopy(cluster, sides, 'duckdb', options.orders, source);
  const duck = duckCopy.open;
  let house: OpenSide | null = null;
  const client = await cluster.connect();
  try {
    const houseCopy = await firstCopy(cluster, sides, 'clickhouse', options.orders, source);
    house = houseCopy.open;
    console.log(
      `  first copy: ClickHouse / DuckDB time ${(houseCopy.seconds / duckCopy.seconds).toFixed(2)}× (same run)`,
    );
    const clickhouse = house.warehouse as ClickHouseWarehouse;
    const explain = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${SEED_QUERY}`);
    const parallel = explain.rows.some((r) => r['QUERY PLAN'].includes('Gather'));
    console.log(`  Postgres plan: ${parallel ? 'parallel (Gather)' : 'not parallel'}`);
    const pg = timed();
    const dk = timed();
    const ch = timed();
    for (let i = 0; i < options.queryRuns; i++) {
      await timeOnce(pg, async () => (await client.query({ text: SEED_QUERY, rowMode: 'array' })).rows);
      await timeOnce(dk, async () => (await duck.warehouse.query(SEED_QUERY)).rows);
      await timeOnce(ch, async () => (await clickhouse.query(SEED_QUERY)).rows);
    }
    const reference = answerKey(pg.rows);
    let equal = pg.rows.length === 20;
    console.log(`  Postgres answers ${pg.rows.length} countries  (load ${loadText()})`);
    equal = report('Postgres', pg, reference) && equal;
    equal = report('DuckDB', dk, reference) && equal;
    equal = report('ClickHouse (view: FINAL, as copied)', ch, reference) && equal;

    const database = clickhouse.target.database;
    const storage = `${quoteName(database)}.${quoteName(STORAGE)}`;
    console.log(`  ClickHouse parts as copied (rows, id range): ${await partRanges(clickhouse, storage)}`);
    const optimizeStart = now();
    await clickhouse.client.command({ query: `OPTIMIZE TABLE ${storage} FINAL` });
    console.log(
      `  OPTIMIZE TABLE ${STORAGE} FINAL: ${elapsedSince(optimizeStart).toFixed(1)} s, ` +
        `${await activeParts(clickhouse, database, STORAGE)} active part(s) after it`,
    );
    const plainQuery = `SELECT country, SUM(total) FROM ${storage} GROUP BY country`;
    const merged = timed();
    const plain = timed();
    for (let i = 0; i < options.queryRuns; i++) {
      await timeOnce(merged, async () => (await clickhouse.query(SEED_QUERY)).rows);
      await timeOnce(plain, async () => (await clickhouse.query(plainQuery)).rows);
    }
    equal = report('ClickHouse (view: FINAL, merged)', merged, reference) && equal;
    equal = report('ClickHouse (storage, no FINAL, merged)', plain, reference) && equal;
    const result: QueryResult = {
      duckdbCopyS: duckCopy.seconds,
      clickhouseCopyS: houseCopy.seconds,
      postgresMs: pg.best,
      duckdbMs: dk.best,
      clickhouseMs: ch.best,
      mergedViewMs: merged.best,
      mergedPlainMs: plain.best,
      equal,
    };
    console.log(
      `  ratios (best of ${options.queryRuns}): Postgres / ClickHouse ${(pg.best / ch.best).toFixed(1)}×, ` +
        `DuckDB / ClickHouse ${(dk.best / ch.best).toFixed(2)}×; after OPTIMIZE FINAL: ` +
        `Postgres / ClickHouse ${(pg.best / merged.best).toFixed(1)}×, DuckDB / ClickHouse ${(dk.best / merged.best).toFixed(2)}×; ` +
        `FINAL costs ${(merged.best / plain.best).toFixed(2)}× the plain scan once merged  (load ${loadText()})`,
    );
    if (!equal) throw new Error('the answers differ: a warehouse does not hold what Postgres holds');
    return result;
  } finally {
    await client.end();
    await house?.discard();
    await duck.discard();
    await cluster.sql('DROP TABLE orders; DROP PUBLICATION orders_pub');
  }
}
