/**
 * One DuckDB connection with Tributary's error policy: every DuckDB error becomes a
 * TributaryError('SINK') that carries the statement's context. Results are read whole.
 */
import {
  type DuckDBAppender,
  type DuckDBConnection,
  DuckDBDataChunk,
  type DuckDBMaterializedResult,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import { TributaryError } from '../../core/errors.js';

/** DuckDB's standard vector size: the most rows a DataChunk holds. */
const CHUNK_ROWS = 2048;

function fail(context: string, error: unknown): never {
  if (error instanceof TributaryError) throw error;
  const message = error instanceof Error ? error.message : String(error);
  throw new TributaryError('SINK', `DuckDB failed ${context}: ${message}`, { cause: error });
}

function clip(sql: string): string {
  const flat = sql.replace(/\s+/g, ' ').trim();
  return flat.length > 300 ? `${flat.slice(0, 300)}…` : flat;
}

export class Db {
  readonly connection: DuckDBConnection;
  constructor(connection: DuckDBConnection) {
    this.connection = connection;
  }

  async run(sql: string, values?: DuckDBValue[]): Promise<void> {
    try {
      await this.connection.run(sql, values);
    } catch (error) {
      fail(`running ${clip(sql)}`, error);
    }
  }

  async read(sql: string, values?: DuckDBValue[]): Promise<DuckDBMaterializedResult> {
    try {
      return await this.connection.run(sql, values);
    } catch (error) {
      fail(`running ${clip(sql)}`, error);
    }
  }

  async rows(sql: string, values?: DuckDBValue[]): Promise<DuckDBValue[][]> {
    const result = await this.read(sql, values);
    try {
      return await result.getRows();
    } catch (error) {
      fail(`reading ${clip(sql)}`, error);
    }
  }

  /**
   * Appends `rowCount` rows to a table in DataChunks of DuckDB's vector size (a chunk's columns
   * are filled in JS and handed over whole: about 3× faster than appending value by value).
   * `valueAt(row, column)` gives each cell, already converted to the column's type.
   */
  async appendRows(
    target: { readonly schema: string; readonly table: string; readonly catalog?: string },
    types: readonly DuckDBType[],
    rowCount: number,
    valueAt: (row: number, column: number) => DuckDBValue,
  ): Promise<void> {
    await this.#append(target.schema, target.table, target.catalog, (appender) => {
      const values: DuckDBValue[] = [];
      for (let offset = 0; offset < rowCount; offset += CHUNK_ROWS) {
        const n = Math.min(CHUNK_ROWS, rowCount - offset);
        const chunk = DuckDBDataChunk.create(types, n);
        values.length = n;
        for (let c = 0; c < types.length; c++) {
          for (let r = 0; r < n; r++) values[r] = valueAt(offset + r, c);
          chunk.setColumnValues(c, values);
        }
        appender.appendDataChunk(chunk);
      }
    });
  }

  /** Appends rows to a table with DuckDB's appender; closed whatever happens. */
  async #append(
    schema: string,
    table: string,
    catalog: string | undefined,
    fill: (a: DuckDBAppender) => void,
  ) {
    let appender: DuckDBAppender;
    try {
      appender = await this.connection.createAppender(table, schema, catalog);
    } catch (error) {
      fail(`opening an appender on ${schema}.${table}`, error);
    }
    try {
      fill(appender);
      appender.flushSync();
    } catch (error) {
      fail(`appending to ${schema}.${table}`, error);
    } finally {
      try {
        appender.closeSync();
      } catch {
        // already failed: the first error is the one to report
      }
    }
  }
}
