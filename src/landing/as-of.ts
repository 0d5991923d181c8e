/**
 * Time travel for whole queries (`tributary query --as-of <time|position> "<sql>"`): the query
 * runs in a catalog of its own in which every table of the warehouse is a view of that table as
 * of the point (replay.ts's SQL over the raw zone), under the same schema and name, so the
 * analyst's SQL runs as written. The warehouse stays as it is (read-only, or written by the
 * running loader meanwhile). In SQL itself: `tributary_as_of('orders', TIMESTAMPTZ '…')` and
 * `tributary_as_of_position('orders', tributary_position('16/B374D848'))` (history.ts).
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteIdentifier as q } from '../core/table-ref.js';
import { Db } from '../warehouse/duckdb/db.js';
import { readQuery } from '../warehouse/duckdb/read-query.js';
import { readSchemas } from '../warehouse/duckdb/state.js';
import { duckSchemaOf, loadTableState } from '../warehouse/duckdb/tables.js';
import type { QueryResult } from '../warehouse/warehouse.js';
import { loadRawTable } from './raw-zone.js';
import { type ReplayPoint, replaySql } from './replay.js';
import { checkHorizon } from './retention.js';

let attached = 0;

/**
 * Runs `sql` as of `point` on `connection`, whose warehouse is the catalog `catalog`. `scratch`
 * is a writable catalog for the views (an in-memory one); without it one is attached for the
 * query and detached after.
 */
export async function queryAsOf(
  connection: DuckDBConnection,
  catalog: string,
  sql: string,
  point: ReplayPoint,
  scratch?: string,
): Promise<QueryResult> {
  const db = new Db(connection);
  const target = scratch ?? `tributary_as_of_${process.pid}_${++attached}`;
  await db.run(`USE ${q(catalog)}`);
  await db.run("SET TimeZone = 'UTC'");
  if (!scratch) await db.run(`ATTACH ':memory:' AS ${q(target)}`);
  try {
    for (const schema of await readSchemas(db)) {
      const table = await loadTableState(db, schema);
      const raw = await loadRawTable(db, table);
      if (raw && point.kind === 'time') await checkHorizon(db, table, point.time, catalog);
      const duckSchema = duckSchemaOf(schema.table);
      await db.run(`CREATE SCHEMA IF NOT EXISTS ${q(target)}.${q(duckSchema)}`);
      const body = raw
        ? replaySql(raw, table, point, q(catalog))
        : // never written since it was created: it held no row at any point
          `SELECT ${schema.columns.map((c) => q(c.name)).join(', ')}, _tributary_lsn FROM ${q(catalog)}.${table.sql} WHERE false`;
      await db.run(`CREATE OR REPLACE VIEW ${q(target)}.${q(duckSchema)}.${q(schema.table.name)} AS ${body}`);
    }
    await db.run(`USE ${q(target)}`);
    return await readQuery(connection, sql);
  } finally {
    await db.run(`USE ${q(catalog)}`);
    if (!scratch) await db.run(`DETACH ${q(target)}`);
  }
}
