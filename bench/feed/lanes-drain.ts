/**
 * Scaling from 1 to 2 loaders (src/feed/jetstream/lane-group.ts). The same number of changes
 * as the main backlog, spread over four tables of `bench`'s shape (round r of the backlog
 * writes table bench_l<r mod 4>), is published once by `runSource` to a feed of four lanes and
 * then drained from JetStream into a fresh DuckDB file, by one loader and by two loaders of a
 * group, in this process (one process writes a DuckDB file: the two share the warehouse, whose
 * writes run one at a time; each has its own NATS connection, consumers and decoding). Timed
 * from starting the loaders to the last change applied; the publishing is not timed.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../src/core/logger.js';
import { runLoad, runSource } from '../../src/pipeline/split.js';
import { parseSourceUrl } from '../../src/source/postgres/setup/connection-config.js';
import { TypeRegistry } from '../../src/source/postgres/values/type-registry.js';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { CHANGES_PER_ROUND } from '../common/backlog.js';
import { callProcedure } from '../common/cluster.js';
import { ProbeStats } from '../common/probe-stats.js';
import { elapsedSince, int, now, withTimeout } from '../common/report.js';
import type { DrainContext } from './drain.js';

export const LANES = 4;
const TABLES = Array.from({ length: LANES }, (_, i) => `bench_l${i}`);
const FEED = 'lanes';
const SLOT = 'lanes_src';
/** Rows and sum(qty) per table, asked of Postgres and of the warehouse alike. */
const PER_TABLE = TABLES.map((t) => `SELECT count(*) AS n, sum(qty) AS q FROM ${t}`).join(' UNION ALL ');

function lanesBacklogSql(): string {
  const tables = TABLES.map(
    (t) => `CREATE TABLE ${t} (id bigint PRIMARY KEY, qty integer NOT NULL, price numeric(12,2) NOT NULL,
      label text NOT NULL, created_at timestamptz NOT NULL, active boolean NOT NULL, attrs jsonb NOT NULL,
      ref uuid NOT NULL);`,
  ).join('\n');
  return `
${tables}
CREATE PUBLICATION lanes_pub FOR TABLE ${TABLES.join(', ')};
CREATE PROCEDURE bench_spread(rounds integer) LANGUAGE plpgsql AS $$
DECLARE
  base bigint;
  t text;
BEGIN
  FOR r IN 0 .. rounds - 1 LOOP
    base := r::bigint * 600;
    t := 'bench_l' || (r % ${LANES});
    FOR k IN 0 .. 5 LOOP
      EXECUTE format($q$INSERT INTO %I
        SELECT g, (g %% 1000)::integer, round((g %% 100000) * 1.37, 2),
               'item ' || g || ' of batch ' || $3 || ' / warehouse ' || (g %% 17),
               timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second', g %% 3 = 0,
               jsonb_build_object('color', (ARRAY['red','green','blue'])[1 + g %% 3], 'size', g %% 40,
                                  'tags', jsonb_build_array('a', 'b', g %% 7)),
               md5(g::text)::uuid
          FROM generate_series($1, $2) AS g$q$, t) USING base + k * 100 + 1, base + k * 100 + 100, r;
      COMMIT;
    END LOOP;
    FOR k IN 0 .. 2 LOOP
      EXECUTE format($q$UPDATE %I SET qty = qty + 1, price = price + 0.25, label = label || ' (updated)',
               active = NOT active, attrs = attrs || '{"updated": true}' WHERE id BETWEEN $1 AND $2$q$, t)
        USING base + k * 100 + 1, base + k * 100 + 100;
      COMMIT;
    END LOOP;
    EXECUTE format('DELETE FROM %I WHERE id BETWEEN $1 AND $2', t) USING base + 501, base + 600;
    COMMIT;
  END LOOP;
END
$$;`;
}

export interface ScalingRun {
  readonly loaders: number;
  readonly round: number;
  readonly seconds: number;
  readonly changesPerSecond: number;
  readonly cpuSeconds: number;
  readonly note: string;
}

/** Writes the spread backlog and publishes it to a feed of four lanes; returns Postgres' facts. */
export async function publishSpread(ctx: DrainContext): Promise<{ count: string; qty: string }> {
  await ctx.cluster.sql(lanesBacklogSql());
  await ctx.cluster.sql("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [SLOT]);
  await callProcedure(ctx.cluster, `CALL bench_spread(${ctx.changes / CHANGES_PER_ROUND})`);
  const [facts] = await ctx.cluster.sql<{ count: string; qty: string }>(
    `SELECT sum(n)::text AS count, sum(q)::text AS qty FROM (${PER_TABLE}) s`,
  );
  const [{ lsn } = { lsn: '' }] = await ctx.cluster.sql<{ lsn: string }>(
    'SELECT pg_current_wal_insert_lsn()::text AS lsn',
  );
  const start = now();
  const stop = new AbortController();
  const publishing = runSource(
    {
      source: {
        connection: parseSourceUrl(ctx.cluster.url()),
        slot: SLOT,
        publication: 'lanes_pub',
        tables: 'all',
        spoolDir: join(ctx.workDir, 'spool', SLOT),
      },
      feed: { url: ctx.nats.url, name: FEED, lanes: LANES },
      logger: silentLogger(),
    },
    stop.signal,
  );
  // the slot is acknowledged once JetStream holds a change: then the stream holds the backlog
  await withTimeout(
    (async () => {
      for (;;) {
        const [row] = await ctx.cluster.sql<{ done: boolean }>(
          'SELECT confirmed_flush_lsn >= $1::pg_lsn AS done FROM pg_replication_slots WHERE slot_name = $2',
          [lsn, SLOT],
        );
        if (row?.done) return;
        await new Promise((r) => setTimeout(r, 200));
      }
    })(),
    'publishing the spread backlog',
    ctx.stageTimeoutMs,
  );
  stop.abort();
  await publishing;
  const info = await ctx.jsm.streams.info(`TRIBUTARY_${FEED}`);
  console.log(
    `  spread backlog: ${int(ctx.changes)} changes over ${TABLES.join(', ')} (one per lane of ${LANES}), ` +
      `published in ${elapsedSince(start).toFixed(1)} s: ${int(info.state.messages)} messages`,
  );
  if (!facts) throw new Error('the spread tables are missing');
  return facts;
}

/** Drains the published feed with `loaders` loaders of a new group into a fresh DuckDB file. */
export async function drainWithLoaders(
  ctx: DrainContext,
  expected: { count: string; qty: string },
  loaders: number,
  round: number,
): Promise<ScalingRun> {
  const path = join(ctx.workDir, `lanes_${loaders}_${round}.duckdb`);
  const types = new TypeRegistry();
  const cpuBefore = process.cpuUsage();
  const start = now();
  const warehouse = await DuckDBWarehouse.open(path, { typeInfo: (oid) => types.info(oid) });
  const stats = new ProbeStats();
  const stop = new AbortController();
  const done = Array.from({ length: loaders }, (_, i) =>
    runLoad(
      {
        warehouse,
        // a group of its own per run: its consumers start at the stream's beginning
        feed: {
          url: ctx.nats.url,
          name: FEED,
          durable: `g${loaders}r${round}`,
          member: `${path}#${i}`,
          warehouseId: path,
        },
        logger: silentLogger(),
        stats,
        types,
      },
      stop.signal,
    ),
  );
  const shutDown = async () => {
    stop.abort();
    await Promise.allSettled(done);
    await warehouse.close().catch(() => {});
  };
  ctx.live.add(shutDown);
  try {
    await withTimeout(
      Promise.race([
        stats.reach(ctx.changes),
        ...done.map((d) => d.then(() => Promise.reject(new Error('a loader stopped')))),
      ]),
      `draining with ${loaders} loader(s)`,
      ctx.stageTimeoutMs,
    );
    const seconds = elapsedSince(start);
    const used = process.cpuUsage(cpuBefore);
    stop.abort();
    await Promise.all(done);
    const answer = await warehouse.query(`SELECT sum(n), sum(q) FROM (${PER_TABLE})`);
    const row = answer.rows[0] ?? [];
    if (String(row[0]) !== expected.count || String(row[1]) !== expected.qty)
      throw new Error(
        `the warehouse holds ${row[0]} rows, sum(qty) ${row[1]}; Postgres ${expected.count}, ${expected.qty}`,
      );
    return {
      loaders,
      round,
      seconds,
      changesPerSecond: ctx.changes / seconds,
      cpuSeconds: (used.user + used.system) / 1e6,
      note: `${int(stats.snapshot().batches)} batches, DuckDB apply ${(stats.applyMillis / 1000).toFixed(1)} s in all; rows match Postgres`,
    };
  } finally {
    await shutDown();
    ctx.live.delete(shutDown);
    rmSync(path, { force: true });
    rmSync(`${path}.wal`, { force: true });
  }
}
