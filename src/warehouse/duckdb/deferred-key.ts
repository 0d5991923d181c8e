/**
 * A keyed table loaded without its primary key, the key added after the load: DuckDB inserts
 * into a table without an index about twice as fast, and builds the index of the whole table at
 * once in a fraction of that. Only a fresh first-run copy defers its key (nothing else writes
 * the table then, and its CSV chunks go in whole, one transaction each), and every other write
 * adds it back first: the stream's merge and the snapshot's rows need it for ON CONFLICT. A
 * crash while the key is deferred leaves a table the next open finds without it
 * (`tablesWithoutKey`) and gives it back before anything else.
 */
import { quoteIdentifier as q } from '../../core/table-ref.js';
import type { Db } from './db.js';
import { duckSchemaOf, type TableState, tableId } from './tables.js';

/** Ids (tableId) of the keyed tables whose DuckDB table has no PRIMARY KEY. */
export async function tablesWithoutKey(db: Db, tables: Iterable<TableState>): Promise<Set<string>> {
  const rows = await db.rows(
    "SELECT schema_name, table_name FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY'",
  );
  const keyed = new Set(rows.map((r) => `${String(r[0])}\u0000${String(r[1])}`));
  const missing = new Set<string>();
  for (const table of tables) {
    const ref = table.schema.table;
    if (table.hasPrimaryKey && !keyed.has(`${duckSchemaOf(ref)}\u0000${ref.name}`)) missing.add(tableId(ref));
  }
  return missing;
}

/**
 * Creates the (empty) table again without its primary key: the same columns, types and NOT
 * NULLs, as DuckDB's catalog spells them (a type's toString() drops aliases such as JSON).
 */
export async function dropKey(db: Db, table: TableState): Promise<void> {
  const ref = table.schema.table;
  const rows = await db.rows(
    `SELECT column_name, data_type, is_nullable FROM duckdb_columns()
      WHERE database_name = current_database() AND schema_name = $1 AND table_name = $2 ORDER BY column_index`,
    [duckSchemaOf(ref), ref.name],
  );
  const columns = rows.map((r) => `${q(String(r[0]))} ${String(r[1])}${r[2] === false ? ' NOT NULL' : ''}`);
  await db.run(`DROP TABLE ${table.sql}`);
  await db.run(`CREATE TABLE ${table.sql} (${columns.join(', ')})`);
}

/**
 * Adds the table's primary key, in a transaction of `transaction`'s own. Should a key be there
 * twice (no fresh load writes a row twice; this is the net under it), one copy of each is kept
 * first, whichever: the key's job re-reads it, and its rule overwrites a row read earlier.
 */
export async function addKey(
  db: Db,
  table: TableState,
  transaction: (body: () => Promise<void>) => Promise<void>,
): Promise<void> {
  const keys = table.keyColumns.map(q).join(', ');
  const add = () => db.run(`ALTER TABLE ${table.sql} ADD PRIMARY KEY (${keys})`);
  try {
    await transaction(add);
  } catch {
    // DuckDB cannot alter a table after deleting its rows in one transaction: two of them
    await transaction(() =>
      db.run(
        `DELETE FROM ${table.sql} WHERE rowid IN (SELECT rowid FROM (SELECT rowid,
           row_number() OVER (PARTITION BY ${keys}) AS n FROM ${table.sql}) WHERE n > 1)`,
      ),
    );
    await transaction(add);
  }
}
