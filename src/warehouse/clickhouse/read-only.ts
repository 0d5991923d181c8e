/**
 * Analysts' queries on a ClickHouse warehouse — `tributary query`, the running process's control
 * query, the HTTP API's POST /api/sql — all through `readOnlyClickHouse`. ClickHouse itself
 * refuses anything but reading (`readonly = 2`: SELECT, SHOW, DESCRIBE, EXISTS and setting changes
 * for the query; never a write, DDL or a change of `readonly`), since the warehouse must hold
 * exactly the source's rows; optionally with a time limit and at most `maxRows` rows (one more is
 * asked for, to say the answer was cut). Rows come back JSON-friendly as DuckDB's do: 64-bit
 * integers and decimals as strings, decimals with their scale.
 *
 * `readonly` still lets a query read files and the network through table functions (`file`,
 * `url`, `s3`, `remote`, `postgresql`, …) and the scalar `file()` — on chdb as the process's own
 * user, on a server as far as its grants allow. So the query's syntax tree (ClickHouse's own
 * parser, `EXPLAIN AST`) is read first: a table function outside a short list of generators, or
 * `file()` anywhere, is refused.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { TributaryError } from '../../core/errors.js';
import type { ReadOnlyAnswer } from '../duckdb/read-only-sql.js';
import type { QueryResult } from '../warehouse.js';

/** Table functions that only generate values. */
const TABLE_FUNCTIONS = new Set([
  'numbers',
  'numbers_mt',
  'zeros',
  'zeros_mt',
  'generate_series',
  'generateSeries',
  'values',
  'null',
]);
/** Scalar functions that read outside the database. */
const READERS = new Set(['file']);

export interface ReadOnlyOptions {
  readonly maxRows?: number;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export async function readOnlyClickHouse(
  client: ClickHouseClient,
  sql: string,
  options: ReadOnlyOptions = {},
): Promise<ReadOnlyAnswer> {
  const query = sql.trim().replace(/;\s*$/, '');
  const { maxRows, timeoutMs } = options;
  try {
    await refuseReaders(client, query);
    const result = await client.query({
      query,
      format: 'JSONCompact',
      clickhouse_settings: {
        readonly: '2',
        output_format_decimal_trailing_zeros: 1,
        ...(timeoutMs === undefined ? {} : { max_execution_time: Math.max(1, Math.ceil(timeoutMs / 1000)) }),
        ...(maxRows === undefined
          ? {}
          : { max_result_rows: String(maxRows + 1), result_overflow_mode: 'break' }),
      },
      ...(options.signal ? { abort_signal: options.signal } : {}),
    });
    const answer = await result.json<readonly unknown[]>();
    const truncated = maxRows !== undefined && answer.data.length > maxRows;
    return {
      columns: (answer.meta ?? []).map((m) => ({ name: m.name, type: m.type })),
      rows: truncated ? answer.data.slice(0, maxRows) : answer.data,
      truncated,
    };
  } catch (error) {
    if (error instanceof TributaryError) throw error;
    const message = (error as Error).message;
    if (/readonly mode|READONLY|Cannot modify 'readonly'/i.test(message))
      throw new TributaryError('USAGE', 'only queries that read the warehouse are allowed', {
        hint: 'the warehouse holds exactly the source rows; write to the source and let Tributary carry the change',
        cause: error,
      });
    throw new TributaryError('USAGE', `the query failed: ${message.trim()}`, { cause: error });
  }
}

/** `readOnlyClickHouse`, whole, as the warehouse's `query` answers. */
export async function readClickHouseQuery(client: ClickHouseClient, sql: string): Promise<QueryResult> {
  const answer = await readOnlyClickHouse(client, sql);
  return { columns: answer.columns.map((c) => c.name), rows: answer.rows as unknown[][] };
}

async function refuseReaders(client: ClickHouseClient, query: string): Promise<void> {
  const explained = await client.query({
    query: `EXPLAIN AST ${query}`,
    format: 'TabSeparatedRaw',
    clickhouse_settings: { readonly: '2' },
  });
  const lines = (await explained.text()).split('\n').map((l) => l.replace(/^"|"$/g, ''));
  lines.forEach((line, i) => {
    const name = /^\s*Function (\S+)/.exec(line)?.[1];
    if (name === undefined) return;
    const inFrom = /^\s*TableExpression\b/.test(lines[i - 1] ?? '');
    if ((inFrom && !TABLE_FUNCTIONS.has(name)) || READERS.has(name)) {
      throw new TributaryError('USAGE', `queries read the warehouse only: ${name}() is refused`, {
        hint: 'query the tables and views of the warehouse',
      });
    }
  });
}
