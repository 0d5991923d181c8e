/**
 * How checks read the warehouse: on a DuckDB connection of their own (never the loader's), each
 * check inside a READ ONLY transaction that is rolled back, with values as bound parameters and
 * results as JSON objects (bigints and decimals as strings, as `tributary query --json` gives).
 */
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { TributaryError } from '../core/errors.js';
import { displayName, quoteIdentifier as q, type TableRef } from '../core/table-ref.js';
import { RAW_SCHEMA } from '../landing/raw-zone.js';
import { tableSql } from '../warehouse/duckdb/tables.js';

export class CheckReader {
  readonly #connection: DuckDBConnection;

  constructor(connection: DuckDBConnection) {
    this.#connection = connection;
  }

  get connection(): DuckDBConnection {
    return this.#connection;
  }

  async rows(sql: string, values: DuckDBValue[] = []): Promise<Record<string, unknown>[]> {
    try {
      const reader = await this.#connection.runAndReadAll(sql, values);
      return reader.getRowObjectsJson() as Record<string, unknown>[];
    } catch (error) {
      throw new TributaryError('USAGE', `the check's query failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  /** The first column of the first row, as a number (0 when there is none). */
  async count(sql: string, values: DuckDBValue[] = []): Promise<number> {
    const [row] = await this.rows(sql, values);
    return row ? Number(Object.values(row)[0] ?? 0) : 0;
  }

  /** Runs `body` in a READ ONLY transaction, always rolled back. */
  async readOnly<T>(body: () => Promise<T>): Promise<T> {
    await this.#connection.run('BEGIN TRANSACTION READ ONLY');
    try {
      return await body();
    } finally {
      await this.#connection.run('ROLLBACK').catch(() => {});
    }
  }

  async exists(schema: string, name: string): Promise<boolean> {
    return (
      (await this.count(
        'SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2',
        [schema, name],
      )) > 0
    );
  }

  /** A current-state table's SQL name (public → main), or a USAGE error when the warehouse has no such table. */
  async table(table: TableRef): Promise<string> {
    const schema = table.schema === 'public' ? 'main' : table.schema;
    if (!(await this.exists(schema, table.name)))
      throw new TributaryError('USAGE', `the warehouse has no table ${displayName(table)}`, {
        hint: 'name a replicated table (schema.table; an unqualified name is in public)',
      });
    return tableSql(table);
  }

  async hasColumn(schema: string, table: string, column: string): Promise<boolean> {
    return (
      (await this.count(
        'SELECT count(*) FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND column_name = $3',
        [schema, table, column],
      )) > 0
    );
  }

  /** `table`'s raw table (`"_tributary_raw"."<name>"`), or null when the warehouse keeps none for it. */
  async rawTable(table: TableRef): Promise<string | null> {
    if (!(await this.exists('_tributary', 'raw_tables'))) return null;
    const [row] = await this.rows(
      'SELECT raw_name FROM _tributary.raw_tables WHERE table_schema = $1 AND table_name = $2',
      [table.schema, table.name],
    );
    if (!row) return null;
    const name = String(row.raw_name);
    return (await this.exists(RAW_SCHEMA, name)) ? `${q(RAW_SCHEMA)}.${q(name)}` : null;
  }

  /** Every table that has a raw table: source name and raw table SQL. */
  async rawTables(): Promise<{ table: TableRef; sql: string }[]> {
    if (!(await this.exists('_tributary', 'raw_tables'))) return [];
    const rows = await this.rows(
      'SELECT table_schema, table_name, raw_name FROM _tributary.raw_tables ORDER BY 1, 2',
    );
    return rows.map((r) => ({
      table: { schema: String(r.table_schema), name: String(r.table_name) },
      sql: `${q(RAW_SCHEMA)}.${q(String(r.raw_name))}`,
    }));
  }
}
