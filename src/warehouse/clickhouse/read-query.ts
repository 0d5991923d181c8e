/**
 * Analysts' queries on a ClickHouse warehouse: only statements that read (ClickHouse's
 * `readonly = 2`, set for the one query: reads and settings), since the warehouse must hold
 * exactly the source's rows. 64-bit integers and decimals come back as strings (connect.ts),
 * decimals with their scale (`0.50000` for a Decimal(30, 5)), as the DuckDB warehouse gives them.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { TributaryError } from '../../core/errors.js';
import type { QueryResult } from '../warehouse.js';

export async function readQuery(client: ClickHouseClient, sql: string): Promise<QueryResult> {
  let body: { meta: { name: string }[]; data: unknown[][] };
  try {
    const result = await client.query({
      query: sql,
      format: 'JSONCompact',
      clickhouse_settings: { readonly: '2', output_format_decimal_trailing_zeros: 1 },
    });
    body = (await result.json()) as unknown as typeof body;
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    if (/readonly mode|READONLY/i.test(text)) {
      throw new TributaryError('USAGE', 'only queries that read the warehouse are allowed', {
        hint: 'the warehouse holds exactly the source rows; write to the source and let Tributary carry the change',
        cause: error,
      });
    }
    throw new TributaryError('USAGE', `the query failed: ${text}`, { cause: error });
  }
  return { columns: body.meta.map((m) => m.name), rows: body.data };
}
