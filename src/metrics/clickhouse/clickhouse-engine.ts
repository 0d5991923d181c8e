/**
 * The metrics layer on a ClickHouse warehouse (metrics-engine.ts's seam over a connection from
 * warehouse/clickhouse/connect.ts, a server or chdb alike): the registry in
 * `_tributary_metric_versions` (clickhouse-registry.ts), definitions checked by ClickHouse
 * (clickhouse-checks.ts), queries compiled by compile-clickhouse.ts and run read-only with the
 * zone, the range and now bound as query parameters.
 */
import type { ClickHouseConnection } from '../../warehouse/clickhouse/connect.js';
import type { MetricsEngine, MetricsSession, QueryParams } from '../metrics-engine.js';
import { clickhouseChecks } from './clickhouse-checks.js';
import { readClickHouseRegistry, recordClickHouseVersions } from './clickhouse-registry.js';
import { compileClickHouseQuery } from './compile-clickhouse.js';
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
    answer: (plan, grain, dims, params) =>
      readRows(client, compileClickHouseQuery(plan, grain, dims), bound(params)),
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
