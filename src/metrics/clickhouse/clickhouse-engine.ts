/**
 * The metrics layer on a ClickHouse warehouse (metrics-engine.ts's seam over a connection from
 * warehouse/clickhouse/connect.ts, a server or chdb alike): the registry in
 * `_tributary_metric_versions` (clickhouse-registry.ts), definitions checked by ClickHouse
 * (clickhouse-checks.ts), queries compiled by compile-clickhouse.ts and run read-only with the
 * zone, the range and now bound as query parameters.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { ClickHouseConnection } from '../../warehouse/clickhouse/connect.js';
import type { MetricsEngine, MetricsSession, QueryParams } from '../metrics-engine.js';
import type { Leaf } from '../plan.js';
import { clickhouseChecks } from './clickhouse-checks.js';
import { readClickHouseRegistry, recordClickHouseVersions } from './clickhouse-registry.js';
import { compileClickHouseQuery, instantSql } from './compile-clickhouse.js';
import { readRows } from './read-rows.js';

export function clickhouseMetricsEngine(connection: ClickHouseConnection): MetricsEngine {
  const { client } = connection;
  const session: MetricsSession = {
    ...clickhouseChecks(client),
    knownZone: async (tz) => {
      const rows = await readRows(
        client,
        'SELECT count() FROM system.time_zones WHERE time_zone = {tz:String}',
        {
          tz,
        },
      );
      return Number(rows[0]?.[0] ?? 0) > 0;
    },
    answer: async (plan, grain, dims, params) => {
      const bucketSeconds = await bucketFor(client, plan.leaves, params.tz, params.to);
      return readRows(client, compileClickHouseQuery(plan, grain, dims, { bucketSeconds }), bound(params));
    },
  };
  return {
    engine: 'clickhouse',
    readRegistry: () => readClickHouseRegistry(client),
    register: async (plan) => recordClickHouseVersions(client, plan(await readClickHouseRegistry(client))),
    read: (work) => work(session),
  };
}

function bound({ tz, from, to, now }: QueryParams): Record<string, string> {
  return { tz, from, to, now: now.toISOString().replace('T', ' ').replace('Z', '') };
}

/**
 * The bucket compile-clickhouse.ts may fold rows in before converting them into the zone (as
 * duckdb-engine.ts decides it): an hour when, over the data of every leaf reading an instant,
 * the zone is offset from UTC by whole hours; else a quarter hour when by whole quarter hours;
 * null when neither holds or `to` is not on such a boundary. The offsets are probed a day apart
 * from the oldest to the newest row.
 */
async function bucketFor(
  client: ClickHouseClient,
  leaves: readonly Leaf[],
  tz: string,
  to: string,
): Promise<number | null> {
  const instants = leaves.filter((l) => l.timeKind !== 'DATE');
  if (instants.length === 0) return null;
  let whole = true;
  let quarter = true;
  for (const leaf of instants) {
    const [probe] = await readRows(
      client,
      `SELECT min(o % 3600 = 0), min(o % 900 = 0) FROM (
         SELECT timeZoneOffset(toTimeZone(addDays(toStartOfDay(lo), toInt64(i) - 1), {tz:String})) AS o
           FROM (SELECT min(${instantSql(leaf)}) AS lo, max(${instantSql(leaf)}) AS hi FROM ${leaf.relation})
          ARRAY JOIN range(toUInt64(greatest(dateDiff('day', lo, hi), 0) + 3)) AS i)`,
      { tz },
    );
    whole &&= Number(probe?.[0]) === 1;
    quarter &&= Number(probe?.[1]) === 1;
  }
  if (whole && /:00:00$/.test(to)) return 3600;
  if (quarter && /:(00|15|30|45):00$/.test(to)) return 900;
  return null;
}
