/**
 * Analysts' queries on the warehouse: on their own connection, so they never run inside (or
 * abort) the loader's transaction, and only statements that read (SELECT, EXPLAIN, DESCRIBE,
 * SHOW, ...) — a query that would change the warehouse is refused, since the warehouse must
 * hold exactly the source's rows.
 */
import { type DuckDBConnection, StatementType } from '@duckdb/node-api';
import { TributaryError } from '../../core/errors.js';
import type { QueryResult } from '../warehouse.js';

const READING: ReadonlySet<StatementType> = new Set([
  StatementType.SELECT,
  StatementType.EXPLAIN,
  StatementType.PRAGMA,
  StatementType.RELATION,
]);

export async function readQuery(connection: DuckDBConnection, sql: string): Promise<QueryResult> {
  let statement: Awaited<ReturnType<DuckDBConnection['prepare']>>;
  try {
    statement = await connection.prepare(sql);
  } catch (error) {
    throw new TributaryError('USAGE', `the query failed: ${(error as Error).message}`, { cause: error });
  }
  if (!READING.has(statement.statementType)) {
    throw new TributaryError('USAGE', 'only queries that read the warehouse are allowed', {
      hint: 'the warehouse holds exactly the source rows; write to the source and let Tributary carry the change',
    });
  }
  try {
    const reader = await statement.runAndReadAll();
    return { columns: reader.columnNames(), rows: reader.getRowsJson() };
  } catch (error) {
    throw new TributaryError('USAGE', `the query failed: ${(error as Error).message}`, { cause: error });
  }
}
