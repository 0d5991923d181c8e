/**
 * How the metrics layer reads ClickHouse: every statement with CLICKHOUSE_METRIC_SETTINGS —
 * `readonly` (the server refuses anything that writes), LEFT JOINs giving NULL rather than a
 * type's default for a missing row, decimals printed with their scale (as DuckDB prints them),
 * count(DISTINCT) exact, date functions on DateTime64 keeping its range — and rows as
 * ClickHouse's JSON gives them (64-bit integers and decimals as strings).
 */
import type { ClickHouseClient, ClickHouseSettings } from '@clickhouse/client';

export const CLICKHOUSE_METRIC_SETTINGS: ClickHouseSettings = {
  readonly: '2',
  join_use_nulls: 1,
  output_format_decimal_trailing_zeros: 1,
  count_distinct_implementation: 'uniqExact',
  enable_extended_results_for_datetime_functions: 1,
};

export async function readRows(
  client: ClickHouseClient,
  query: string,
  params: Record<string, unknown> = {},
): Promise<unknown[][]> {
  const result = await client.query({
    query,
    format: 'JSONCompact',
    query_params: params,
    clickhouse_settings: CLICKHOUSE_METRIC_SETTINGS,
  });
  return (await result.json<unknown[]>()).data;
}
