/**
 * Analysts' queries on a ClickHouse warehouse (the twin of duckdb/read-query.ts): only statements
 * that read, enforced by ClickHouse itself per query (`readonly = 2`: SELECT, SHOW, DESCRIBE,
 * EXPLAIN and settings for the query; anything that writes or creates is refused by the server),
 * since the warehouse must hold exactly the source's rows. Rows come back JSON-friendly as
 * DuckDB's do: 64-bit integers and decimals as strings, decimals with their scale.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { TributaryError } from '../../core/errors.js';
import type { QueryResult } from '../warehouse.js';

export async function readClickHouseQuery(client: ClickHouseClient, sql: string): Promise<QueryResult> {
  try {
    const result = await client.query({
      query: sql,
      format: 'JSONCompact',
      clickhouse_settings: { readonly: '2', output_format_decimal_trailing_zeros: 1 },
    });
    const body = (await result.json()) as unknown as { meta?: { name: string }[]; data?: unknown[][] };
    return { columns: (body.meta ?? []).map((m) => m.name), rows: body.data ?? [] };
  } catch (error) {
    const message = (error as Error).message;
    if (/readonly mode|READONLY|Cannot modify 'readonly'/i.test(message))
      throw new TributaryError('USAGE', 'only queries that read the warehouse are allowed', {
        hint: 'the warehouse holds exactly the source rows; write to the source and let Tributary carry the change',
        cause: error,
      });
    throw new TributaryError('USAGE', `the query failed: ${message.trim()}`, { cause: error });
  }
}
