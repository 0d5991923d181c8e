/**
 * The metrics layer on DuckDB (metrics-engine.ts's seam over a MetricsStore, which
 * DuckDBWarehouse gives): the registry in `_tributary.metric_versions`, written in one
 * transaction through the writer; definitions checked with DuckDB's own parser and
 * information_schema (relation.ts); queries compiled by compile.ts and run on a connection of
 * their own with `$tz`, `$from`, `$to` and `$now` bound.
 */
import type { DuckDBValue } from '@duckdb/node-api';
import { quoteIdentifier as q } from '../core/table-ref.js';
import type { Db } from '../warehouse/duckdb/db.js';
import { compileQuery } from './compile.js';
import type { MetricsEngine, MetricsSession } from './metrics-engine.js';
import type { Leaf } from './plan.js';
import { readRegistry, recordVersions } from './registry.js';
import { DUCKDB_MODEL_HINT, expressionProblem, findRelation, prepareProblem, timeKind } from './relation.js';

/** How the metrics layer reaches a DuckDB warehouse (DuckDBWarehouse.metricsStore() gives one). */
export interface MetricsStore {
  /** Runs `work` on a connection of its own. */
  read<T>(work: (db: Db) => Promise<T>): Promise<T>;
  /** Runs `work` in one transaction on the writer (refused when the file is open read-only). */
  write<T>(work: (db: Db) => Promise<T>): Promise<T>;
}

export function duckdbMetricsEngine(store: MetricsStore): MetricsEngine {
  return {
    engine: 'duckdb',
    readRegistry: () => store.read((db) => readRegistry(db)),
    register: (plan) =>
      store.write(async (db) => {
        await recordVersions(db, plan(await readRegistry(db)));
      }),
    read: (work) => store.read((db) => work(duckdbSession(db))),
  };
}

function duckdbSession(db: Db): MetricsSession {
  return {
    findRelation: (model) => findRelation(db, model),
    modelHint: DUCKDB_MODEL_HINT,
    timeKind,
    expressionProblem: (text) => expressionProblem(db, text),
    prepareProblem: async (sql) => {
      const problem = await prepareProblem(db, sql);
      if (problem === null) return null;
      const column = /Referenced column "([^"]+)" not found/.exec(problem)?.[1];
      return column ? { unknownColumn: column } : { message: problem };
    },
    knownZone: async (tz) => {
      const known = await db.rows('SELECT count(*) FROM pg_timezone_names() WHERE name = $1', [tz]);
      return Number(known[0]?.[0] ?? 0) > 0;
    },
    answer: async (plan, grain, dims, { tz, from, to, now }) => {
      const compiled = compileQuery(plan, grain, dims, {
        bucketUs: await bucketFor(db, plan.leaves, tz, to),
      });
      const params: Record<string, DuckDBValue> = { tz, from, to, now: now.toISOString() };
      const reader = await db.connection.runAndReadAll(compiled.sql, params);
      return reader.getRowsJson() as unknown[][];
    },
  };
}

const HOUR_US = 3_600_000_000;
const QUARTER_HOUR_US = 900_000_000;

/**
 * The bucket compile.ts may sum rows in before converting them into the zone: an hour when, over
 * the data of every leaf reading an instant, the zone is offset from UTC by whole hours; else a
 * quarter hour (every zone in use since 1980 is); null when `to` is not on such a boundary.
 * The offsets are probed a day apart from the oldest to the newest row (an offset holds for
 * months); the probe reads only each column's min and max.
 */
async function bucketFor(db: Db, leaves: readonly Leaf[], tz: string, to: string): Promise<number | null> {
  const instants = leaves.filter((l) => l.timeKind !== 'DATE');
  if (instants.length === 0) return null;
  let whole = true;
  let quarter = true;
  for (const leaf of instants) {
    const column =
      leaf.timeKind === 'TIMESTAMPTZ' ? q(leaf.timeColumn) : `timezone('UTC', ${q(leaf.timeColumn)})`;
    const probe = await db.rows(
      `WITH span AS (SELECT min(${column}) AS lo, max(${column}) AS hi FROM ${leaf.relation}),
            days AS (SELECT unnest(range(date_trunc('day', lo) - INTERVAL 1 DAY, hi + INTERVAL 2 DAY, INTERVAL 1 DAY)) AS t FROM span WHERE lo IS NOT NULL)
       SELECT coalesce(bool_and(o % 3600 = 0), true), coalesce(bool_and(o % 900 = 0), true)
         FROM (SELECT epoch(timezone($1, t)) - epoch(t) AS o FROM days)`,
      [tz],
    );
    whole &&= probe[0]?.[0] === true;
    quarter &&= probe[0]?.[1] === true;
  }
  if (whole && /:00:00$/.test(to)) return HOUR_US;
  if (quarter && /:(00|15|30|45):00$/.test(to)) return QUARTER_HOUR_US;
  return null;
}
