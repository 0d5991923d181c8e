/**
 * `tributary query "<sql>"`: runs a read-only query on the warehouse and prints the result as
 * a table, JSON or CSV. While `tributary run` holds the warehouse (DuckDB admits one process
 * per file) the query is sent to that process; otherwise the file is opened read-only. On a
 * ClickHouse warehouse (`--warehouse clickhouse://…` or `chdb:…`) the query goes to ClickHouse
 * directly, which refuses anything but reading (read-only.ts there) — for `chdb:`, whose
 * directory one process holds, through the running `tributary run` when there is one.
 */
import { Command } from 'commander';
import { TributaryError } from '../../core/errors.js';
import { parseReplayPoint } from '../../landing/replay.js';
import { findRunning, remoteQuery } from '../../server/control-client.js';
import { isClickHouseUrl, parseClickHouseUrl } from '../../warehouse/clickhouse/connect.js';
import { readClickHouseQuery } from '../../warehouse/clickhouse/read-only.js';
import type { QueryResult } from '../../warehouse/warehouse.js';
import { writeStdout } from '../output.js';
import { withClickHouse } from '../with-clickhouse.js';
import { withWarehouse } from '../with-warehouse.js';
import { DEFAULT_WAREHOUSE } from './run.js';

interface QueryFlags {
  readonly warehouse: string;
  readonly json?: boolean;
  readonly csv?: boolean;
  readonly asOf?: string;
}

export function queryCommand(): Command {
  return new Command('query')
    .description('run a read-only query on the warehouse (also while tributary run runs)')
    .argument('<sql>', 'the query, e.g. "SELECT country, SUM(total) FROM orders GROUP BY country"')
    .option(
      '--warehouse <path.duckdb|url>',
      'the DuckDB warehouse file, or a ClickHouse warehouse (clickhouse://user@host:8123/db, chdb:///dir?database=db)',
      DEFAULT_WAREHOUSE,
    )
    .option('--json', 'print rows as JSON objects, one per line')
    .option('--csv', 'print CSV with a header line')
    .option(
      '--as-of <time|position>',
      'every table as it was then, from the raw zone: a time (ISO 8601, UTC unless it says) or a position (16/B374D848[#n])',
    )
    .action(async (sql: string, flags: QueryFlags) => {
      if (flags.json && flags.csv) throw new TributaryError('USAGE', 'choose one of --json and --csv');
      const asOf = flags.asOf === undefined ? null : parseReplayPoint(flags.asOf);
      const result = isClickHouseUrl(flags.warehouse)
        ? await clickhouseQuery(flags.warehouse, sql, asOf !== null)
        : await withWarehouse(
            flags.warehouse,
            (running) => (running ? remoteQuery(running, sql, flags.asOf) : null),
            (warehouse) => (asOf ? warehouse.queryAsOf(sql, asOf) : warehouse.query(sql)),
          );
      await writeStdout(flags.json ? asJsonLines(result) : flags.csv ? asCsv(result) : asTable(result));
    });
}

function clickhouseQuery(url: string, sql: string, asOf: boolean): Promise<QueryResult> {
  if (asOf)
    throw new TributaryError('USAGE', '--as-of is not served on a ClickHouse warehouse', {
      hint: 'query the tables as they are now, or keep a DuckDB warehouse for --as-of',
    });
  // chdb admits one process per directory: while `tributary run` holds it, ask that process
  const running = parseClickHouseUrl(url).kind === 'chdb' ? findRunning(url) : null;
  if (running) return remoteQuery(running, sql);
  return withClickHouse(url, (connection) => readClickHouseQuery(connection.client, sql));
}

function text(value: unknown): string {
  if (value === null || value === undefined) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export function asTable(result: QueryResult): string {
  const cells = [result.columns.map(String), ...result.rows.map((row) => row.map(text))];
  const widths = result.columns.map((_, i) => Math.max(...cells.map((r) => [...(r[i] ?? '')].length)));
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => c + ' '.repeat(Math.max(0, widths[i]! - [...c].length)))
      .join(' │ ')
      .trimEnd();
  const rule = widths.map((w) => '─'.repeat(w)).join('─┼─');
  const count = `(${result.rows.length} row${result.rows.length === 1 ? '' : 's'})`;
  return `${[line(cells[0]!), rule, ...cells.slice(1).map(line)].join('\n')}\n${count}\n`;
}

export function asJsonLines(result: QueryResult): string {
  return result.rows
    .map((row) => {
      const object: Record<string, unknown> = {};
      for (const [i, name] of result.columns.entries()) {
        Object.defineProperty(object, name, { value: row[i], enumerable: true });
      }
      return `${JSON.stringify(object)}\n`;
    })
    .join('');
}

export function asCsv(result: QueryResult): string {
  const field = (value: unknown) => {
    const t = text(value);
    return /[",\n\r]/.test(t) ? `"${t.replaceAll('"', '""')}"` : t;
  };
  return (
    [result.columns.map(field).join(','), ...result.rows.map((row) => row.map(field).join(','))].join('\n') +
    '\n'
  );
}
