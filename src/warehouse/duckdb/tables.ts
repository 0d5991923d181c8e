/**
 * Current-state tables and the schema versions that describe them (DESIGN.md, "Warehouse
 * layout"): creates a table on its first schema, evolves it on later ones (add, drop, retype
 * columns), records each version in `_tributary.schema_versions`, and keeps, per table, the
 * writers that turn values into the column's actual DuckDB type.
 */
import { type ColumnSchema, hasPrimaryKey, type TableSchema } from '../../core/change-event.js';
import { TributaryError } from '../../core/errors.js';
import { valueToJson } from '../../core/event-json.js';
import { formatPosition, type Position } from '../../core/position.js';
import { displayName, quoteIdentifier as q, type TableRef } from '../../core/table-ref.js';
import type { Db } from './db.js';
import { duckTypeFor, type TypeLookup } from './type-mapping.js';
import { type ColumnWriter, columnWriter } from './value-writer.js';

export const LSN_COLUMN = '_tributary_lsn';
export const SYNCED_COLUMN = '_tributary_synced_at';

export interface TableState {
  readonly schema: TableSchema;
  /** `"schema"."name"` in DuckDB. */
  readonly sql: string;
  /** The columns that identify a row: the schema's key, else every column. */
  readonly keyColumns: readonly string[];
  /**
   * Whether the DuckDB table has a PRIMARY KEY (ON CONFLICT works). Without one the table is a
   * multiset, merged by row counts (merge-counts.ts).
   */
  readonly hasPrimaryKey: boolean;
  /** One writer per source column, in `schema.columns` order. */
  readonly writers: readonly ColumnWriter[];
}

/**
 * The comment a model's table or view carries (src/models/materialize.ts): a model may select a
 * table's `_tributary_synced_at` along with its rows, and is still no current-state table; and
 * a model removed from the project is dropped by it, never a relation an analyst made.
 */
export const MODEL_TABLE_COMMENT = 'tributary model';

/**
 * The current-state tables of the file, `(schema, name)` in DuckDB's names: those with Tributary's
 * sync column (not the raw zone, history, a replay's copies, or a model's table).
 */
export const CURRENT_TABLES_SQL = `SELECT t.table_schema, t.table_name FROM information_schema.tables AS t
  JOIN information_schema.columns AS c USING (table_catalog, table_schema, table_name)
  WHERE t.table_catalog = current_database() AND t.table_schema NOT LIKE '\\_tributary%' ESCAPE '\\'
    AND t.table_schema NOT IN ('information_schema', 'pg_catalog')
    AND t.table_type = 'BASE TABLE' AND c.column_name = '_tributary_synced_at'
    AND coalesce(t.TABLE_COMMENT, '') <> '${MODEL_TABLE_COMMENT}'
  ORDER BY 1, 2`;

export function duckSchemaOf(table: TableRef): string {
  return table.schema === 'public' ? 'main' : table.schema;
}

export function tableSql(table: TableRef): string {
  return `${q(duckSchemaOf(table))}.${q(table.name)}`;
}

export function tableId(table: TableRef): string {
  return `${table.schema}\u0000${table.name}`;
}

export async function loadTableState(db: Db, schema: TableSchema): Promise<TableState> {
  const sql = tableSql(schema.table);
  const names = schema.columns.map((c) => q(c.name)).join(', ');
  const result = await db.read(`SELECT ${names} FROM ${sql} LIMIT 0`);
  const types = result.columnTypes();
  const writers = schema.columns.map((c, i) => {
    const type = types[i];
    if (!type)
      throw new TributaryError('INTERNAL', `${displayName(schema.table)}: no DuckDB type for ${c.name}`);
    return columnWriter(type, { table: schema.table, column: c.name });
  });
  const keyColumns = schema.key.length > 0 ? schema.key : schema.columns.map((c) => c.name);
  return { schema, sql, keyColumns, hasPrimaryKey: hasPrimaryKey(schema), writers };
}

/**
 * Creates or evolves the table for `schema`; a no-op when the version is already current.
 * `widened` gives the types of columns to create already widened (widen.ts), by name.
 * Returns the columns it added to an existing table (`fillAdded` gives their stored rows a value).
 */
export async function evolveTable(
  db: Db,
  current: TableState | undefined,
  schema: TableSchema,
  lookup: TypeLookup | undefined,
  widened: ReadonlyMap<string, string> = new Map(),
): Promise<readonly ColumnSchema[]> {
  if (current && current.schema.version === schema.version) return [];
  const typeOf = (c: ColumnSchema): string => widened.get(c.name) ?? duckTypeFor(c, lookup);
  const sql = tableSql(schema.table);
  if (!current) {
    await db.run(`CREATE SCHEMA IF NOT EXISTS ${q(duckSchemaOf(schema.table))}`);
    const columns = schema.columns.map((c) => `${q(c.name)} ${typeOf(c)}`);
    columns.push(`${q(LSN_COLUMN)} UBIGINT NOT NULL`, `${q(SYNCED_COLUMN)} TIMESTAMPTZ NOT NULL`);
    if (hasPrimaryKey(schema)) columns.push(`PRIMARY KEY (${schema.key.map(q).join(', ')})`);
    await db.run(`CREATE TABLE ${sql} (${columns.join(', ')})`);
    return [];
  }
  // columns renamed at the source keep their values under the new name (matched by attnum); a
  // column whose name a rename takes, and that was not renamed itself, is gone at the source
  const renames = columnRenames(current.schema, schema);
  const taken = new Set(renames.values());
  const displaced = (c: ColumnSchema) => taken.has(c.name) && !renames.has(c.name);
  const kept = current.schema.columns.flatMap((c, i) =>
    displaced(c) ? [] : [{ column: c, writer: current.writers[i] }],
  );
  for (const c of current.schema.columns.filter(displaced))
    await db.run(`ALTER TABLE ${sql} DROP COLUMN ${q(c.name)}`);
  if (renames.size > 0) await renameColumns(db, sql, renames);
  const old = renamedSchema({ ...current.schema, columns: kept.map((k) => k.column) }, renames);
  if (
    hasPrimaryKey(old) !== hasPrimaryKey(schema) ||
    (hasPrimaryKey(schema) && old.key.join('\u0000') !== schema.key.join('\u0000'))
  ) {
    throw new TributaryError(
      'SINK',
      `${displayName(schema.table)}: its key changed from (${old.key.join(', ')}) to (${schema.key.join(', ')}), which the warehouse cannot apply in place`,
      { hint: `drop ${sql} in the warehouse and backfill the table` },
    );
  }
  const oldByName = new Map(old.columns.map((c) => [c.name, c]));
  const newByName = new Map(schema.columns.map((c) => [c.name, c]));
  for (const c of old.columns) {
    const next = newByName.get(c.name);
    // gone, or dropped and added again under its name: the new column starts as the source's does
    if (!next || readded(c, next)) await db.run(`ALTER TABLE ${sql} DROP COLUMN ${q(c.name)}`);
  }
  const added: ColumnSchema[] = [];
  for (const c of schema.columns) {
    const before = oldByName.get(c.name);
    if (!before || readded(before, c)) {
      await db.run(`ALTER TABLE ${sql} ADD COLUMN ${q(c.name)} ${typeOf(c)}`);
      added.push(c);
      continue;
    }
    const from = duckTypeFor(before, lookup);
    const to = duckTypeFor(c, lookup);
    const actual = kept[old.columns.indexOf(before)]?.writer?.type.toString() ?? from;
    if (from !== to && !keepsWidening(from, actual, to)) await retype(db, schema, c.name, from, to);
  }
  return added;
}

/**
 * Columns renamed between two shapes of a table, old name → new name: the same attribute number
 * under another name (the WAL names columns only; ColumnSchema.attnum comes from the catalog).
 * Without attribute numbers on both sides nothing is taken for a rename.
 */
export function columnRenames(before: TableSchema, after: TableSchema): Map<string, string> {
  const byAttnum = new Map(
    after.columns.flatMap((c) => (c.attnum === undefined ? [] : [[c.attnum, c.name]])),
  );
  const renames = new Map<string, string>();
  for (const c of before.columns) {
    const name = c.attnum === undefined ? undefined : byAttnum.get(c.attnum);
    if (name !== undefined && name !== c.name) renames.set(c.name, name);
  }
  return renames;
}

/** Renames columns of `sql` at once: through temporary names first, so that swaps work. */
export async function renameColumns(
  db: Db,
  sql: string,
  renames: ReadonlyMap<string, string>,
): Promise<void> {
  const steps = [...renames].map(([from, to], i) => ({ from, to, via: `_tributary_rename_${i}` }));
  for (const { from, via } of steps) await db.run(`ALTER TABLE ${sql} RENAME COLUMN ${q(from)} TO ${q(via)}`);
  for (const { via, to } of steps) await db.run(`ALTER TABLE ${sql} RENAME COLUMN ${q(via)} TO ${q(to)}`);
}

/** `schema` as it reads after `renames`: its columns and key under their new names. */
function renamedSchema(schema: TableSchema, renames: ReadonlyMap<string, string>): TableSchema {
  if (renames.size === 0) return schema;
  const name = (n: string) => renames.get(n) ?? n;
  return {
    ...schema,
    columns: schema.columns.map((c) => ({ ...c, name: name(c.name) })),
    key: schema.key.map(name),
  };
}

/**
 * Columns of `before`, not renamed, whose name `after` gives to another column (another attnum):
 * dropped at the source and added again under the name, or gone while a rename took the name.
 */
export function columnsReplaced(
  before: TableSchema,
  after: TableSchema,
  renames: ReadonlyMap<string, string>,
): string[] {
  const byName = new Map(after.columns.map((c) => [c.name, c]));
  return before.columns
    .filter((c) => {
      const next = byName.get(c.name);
      return !renames.has(c.name) && next !== undefined && readded(c, next);
    })
    .map((c) => c.name);
}

/** The same name, another column: dropped and added again at the source (attnums differ). */
function readded(before: ColumnSchema, after: ColumnSchema): boolean {
  return before.attnum !== undefined && after.attnum !== undefined && before.attnum !== after.attnum;
}

/**
 * A column the warehouse widened (widen.ts: DECIMAL → VARCHAR, LIST → JSON; its `actual` type
 * is not the one its source type maps to) stays widened when the source retypes it to another
 * type of the same kind: its stored values may not fit again.
 */
function keepsWidening(mapped: string, actual: string, to: string): boolean {
  if (actual === mapped) return false;
  return (actual === 'VARCHAR' && to.startsWith('DECIMAL(')) || (actual === 'JSON' && to.endsWith('[]'));
}

/**
 * Rows stored before a column was added get the value Postgres gives them (its constant
 * DEFAULT, `ColumnSchema.missingValue`): the WAL carries nothing for them. Called with the
 * table's state after `evolveTable` added `added`, and after every ALTER of the batch's schema
 * change (DuckDB refuses to commit an ALTER that follows an UPDATE of the table). Returns
 * whether it wrote rows.
 */
export async function fillAdded(db: Db, table: TableState, added: readonly ColumnSchema[]): Promise<boolean> {
  let wrote = false;
  for (const column of added) {
    const value = column.missingValue;
    const writer = table.writers[table.schema.columns.findIndex((c) => c.name === column.name)];
    if (value === undefined || value === null || !writer) continue;
    await db.run(`UPDATE ${table.sql} SET ${q(column.name)} = $1::${writer.type.toString()}`, [
      writer.toDuck(value),
    ]);
    wrote = true;
  }
  return wrote;
}

/** How many stored values of `col` (quoted) in `sql` do not survive a cast to `to` and back to `from`. */
export async function inexactValues(
  db: Db,
  sql: string,
  col: string,
  from: string,
  to: string,
): Promise<number> {
  const rows = await db.rows(
    `SELECT count(*) FROM ${sql} WHERE ${col} IS NOT NULL AND (TRY_CAST(${col} AS ${to}) IS NULL OR TRY_CAST(TRY_CAST(${col} AS ${to}) AS ${from}) IS DISTINCT FROM ${col})`,
  );
  return Number(rows[0]?.[0] ?? 0);
}

/**
 * Changes a column's type, converting what it holds; the caller has checked that every stored
 * value converts exactly (`inexactValues`). DECIMAL → VARCHAR keeps Postgres' text: DuckDB's
 * cast prints a DECIMAL(p,p)'s 0.5 as `.5`, Postgres `0.5`, so the 0 is put back — by an UPDATE
 * after the ALTER, not a formatting `ALTER … USING`: a file killed before its checkpoint could
 * not be opened again (DuckDB fails replaying such an ALTER from its WAL; kill-run-hostile-values).
 *
 * The conversion is `USING TRY_CAST`: DuckDB's ALTER also converts the rows deleted since the
 * storage was last rewritten, which `inexactValues` does not see, and a value only they hold
 * would fail a plain cast — rows with bad text deleted at the source just before the column is
 * retyped, the usual clean-up before such an ALTER, stopped the pipeline. TRY_CAST gives those
 * rows NULL and the live ones, checked exact, the cast's value; DuckDB replays it from its WAL
 * (checked after kill -9 for every kind of retype but to JSON: DuckDB cannot replay a JSON
 * cast, so none comes here — `retype` rebuilds a table instead, the raw zone keeps such a
 * column aside, and widen.ts fills a new column).
 */
export async function alterColumnType(
  db: Db,
  sql: string,
  col: string,
  from: string,
  to: string,
): Promise<void> {
  if (to === 'JSON') throw new TributaryError('INTERNAL', `${sql}.${col}: a retype to JSON goes another way`);
  await db.run(`ALTER TABLE ${sql} ALTER COLUMN ${col} TYPE ${to} USING TRY_CAST(${col} AS ${to})`);
  await restoreDecimalText(db, sql, col, from, to);
}

/** After a DECIMAL → VARCHAR cast: Postgres' text for a value below 1 (`0.5`, not DuckDB's `.5`). */
async function restoreDecimalText(db: Db, sql: string, col: string, from: string, to: string): Promise<void> {
  if (from.toUpperCase().startsWith('DECIMAL') && to.toUpperCase() === 'VARCHAR') {
    await db.run(
      `UPDATE ${sql} SET ${col} = regexp_replace(${col}, '^(-?)\\.', '\\10.') WHERE regexp_matches(${col}, '^-?\\.')`,
    );
  }
}

async function retype(db: Db, schema: TableSchema, column: string, from: string, to: string): Promise<void> {
  const sql = tableSql(schema.table);
  const col = q(column);
  const inexact = await inexactValues(db, sql, col, from, to);
  if (inexact > 0) {
    throw new TributaryError(
      'SINK',
      `${displayName(schema.table)}.${column}: its type changed from ${from} to ${to}, but ${inexact} stored value(s) do not convert exactly`,
      { hint: `drop ${sql} in the warehouse and backfill the table` },
    );
  }
  // a key column, or to JSON (see alterColumnType): the table is rebuilt
  if ((hasPrimaryKey(schema) && schema.key.includes(column)) || to === 'JSON') {
    await rebuildWithType(db, schema, column, to);
    await restoreDecimalText(db, sql, col, from, to);
  } else await alterColumnType(db, sql, col, from, to);
}

/**
 * A column's new type by copying the table: for a key column, as DuckDB refuses ALTER COLUMN TYPE
 * on a PRIMARY KEY column (a common migration at the source: `ALTER TABLE t ALTER id TYPE
 * bigint`), and for a column retyped to JSON (alterColumnType). The table is copied into a new
 * one with the column cast — only its live rows: none that was deleted is converted — its key
 * and NOT NULLs added back, and put in the old one's place, inside the caller's transaction, so a
 * failure leaves the old table as it was. DuckDB's WAL keeps the copied rows, not the cast.
 */
async function rebuildWithType(db: Db, schema: TableSchema, column: string, to: string): Promise<void> {
  const sql = tableSql(schema.table);
  const temporaryName = `${schema.table.name}__tributary_retype`;
  const temporary = tableSql({ ...schema.table, name: temporaryName });
  await db.run(`DROP TABLE IF EXISTS ${temporary}`);
  await db.run(
    `CREATE TABLE ${temporary} AS SELECT * REPLACE (CAST(${q(column)} AS ${to}) AS ${q(column)}) FROM ${sql}`,
  );
  for (const c of [LSN_COLUMN, SYNCED_COLUMN])
    await db.run(`ALTER TABLE ${temporary} ALTER COLUMN ${q(c)} SET NOT NULL`);
  if (hasPrimaryKey(schema))
    await db.run(`ALTER TABLE ${temporary} ADD PRIMARY KEY (${schema.key.map(q).join(', ')})`);
  await db.run(`DROP TABLE ${sql}`);
  await db.run(`ALTER TABLE ${temporary} RENAME TO ${q(schema.table.name)}`);
}

/**
 * Records `schema` as a row of `_tributary.schema_versions`; `note` adds what the warehouse
 * changed on its own (a widened column, widen.ts) under the source's unchanged version.
 */
export async function recordVersion(
  db: Db,
  schema: TableSchema,
  first: Position | null,
  note: Readonly<Record<string, unknown>> = {},
): Promise<void> {
  await db.run(`INSERT INTO _tributary.schema_versions VALUES ($1, $2, $3, $4::JSON, $5, now())`, [
    schema.table.schema,
    schema.table.name,
    schema.version,
    JSON.stringify({
      columns: schema.columns.map(({ missingValue: _, ...column }) => column),
      missingValues: Object.fromEntries(
        schema.columns.flatMap((c) =>
          c.missingValue === undefined ? [] : [[c.name, valueToJson(c.missingValue)]],
        ),
      ),
      key: schema.key,
      replicaIdentity: schema.replicaIdentity,
      relationOid: schema.relationOid,
      ...note,
    }),
    first ? formatPosition(first) : null,
  ]);
}
