/**
 * The DDL of a ClickHouse warehouse's tables (layout.ts): creating a source table's storage and
 * analyst view, and evolving them when the source's shape changes. Contract:
 *
 * - Storage of a keyed table: `ReplacingMergeTree(_tributary_version, _tributary_deleted)`
 *   ORDER BY the key columns (never Nullable), every other column `Nullable(mapped type)`, plus
 *   `_tributary_lsn` (UInt64, the commit LSN of the row's change, as DuckDB's) and
 *   `_tributary_synced_at` (DateTime64(6, 'UTC'), filled by the server when the row is written),
 *   with `non_replicated_deduplication_window` so that insert deduplication tokens work, and
 *   `fsync_after_insert` (DURABLE): an insert resolves once its part is on disk, not only in the
 *   page cache, since the checkpoint written after it lets the source acknowledge the WAL.
 * - Storage of a table without a primary key (a multiset): each copy of a row is a row of its own,
 *   identified by `(_tributary_copy, _tributary_copy_seq)` — the version of the change (or the
 *   snapshot read) that created it and a sequence number within a snapshot chunk — and ordered by
 *   it; a deleted copy is a tombstone of that identity (merge-copies.ts argues the design).
 * - The view, named like the table, lists the source's columns and the two metadata columns over
 *   the storage `FINAL`, without deleted rows and without rows at or below the table's truncation
 *   watermark (state.ts): exact as written, never a duplicate. ClickHouse fixes a view's columns
 *   when it is created, so the view is created again after every change of the storage.
 * - An array cannot be Nullable in ClickHouse: an array column (not in the sorting key) is
 *   created as the mapped `Array(…)` with a *presence flag* beside it, `_tributary_set_<column>`
 *   (UInt8, 1 = the value is not NULL; 0 for rows stored before the column existed). The storage
 *   holds `[]` for a NULL array, the flag tells it from `{}`, and the view shows
 *   `if(flag, column, NULL)` — ClickHouse types that `Variant(Array(…))`: NULL reads as NULL,
 *   `length`, `[]`, `=` and `IS NULL` work as on an array; `has` and `ARRAY JOIN` want the array
 *   itself, `` column.`Array(…)` `` (docs/clickhouse.md). Flags follow their column through
 *   renames, drops, adds and rebuilds; a retype between an array and another type is refused.
 * - Evolution (`evolution`), by `ColumnSchema.attnum` exactly as the DuckDB side does
 *   (duckdb/tables.ts): renamed columns keep their values; a name that came back with another
 *   attnum is dropped and added again; added columns read their `missingValue` for the rows
 *   stored before them (a DEFAULT bound as a query parameter); dropped columns are dropped;
 *   a retyped column is MODIFYed in place (mutations_sync), except a key column, retyped or
 *   renamed: ClickHouse cannot alter a sorting-key column, so the storage is rebuilt (a new
 *   table, INSERT SELECT with the column cast, EXCHANGE TABLES, the old one dropped). The
 *   caller checks first that the stored values survive every retype (clickhouse-warehouse.ts).
 *   Each storage column carries its source attnum as a COMMENT (`identity`): renames (swaps
 *   and chains go through temporary names) cut by a crash are planned again from the names the
 *   storage shows (`asStored`), so they are finished, never done twice.
 * - A column widened (widen.ts; `ChTable.widened`) is created and evolved as its type's widened
 *   String; a key column's widening is a rebuild (`rebuildStorage` with its conversion).
 * - With `cluster` the same tables are made `ON CLUSTER`, the storage with
 *   `ReplicatedReplacingMergeTree` and a `Distributed` table (sharded by the key) that the view
 *   reads and the loader writes. That DDL is unit-tested as text only: chdb is one process, it
 *   cannot run ON CLUSTER or replicated engines (NOT RUN against a cluster here).
 */
import { type ColumnSchema, hasPrimaryKey, type TableSchema } from '../../core/change-event.js';
import { TributaryError } from '../../core/errors.js';
import { displayName } from '../../core/table-ref.js';
import { columnRenames } from '../duckdb/tables.js';
import { quoteName as q } from './connect.js';
import {
  DELETED_COLUMN,
  LSN_COLUMN,
  SYNCED_AT_COLUMN,
  stateTable,
  storageName,
  VERSION_COLUMN,
  viewName,
} from './layout.js';
import { type ClickHouseColumnType, clickhouseType, type TypeLookup } from './type-mapping.js';

/** Identity of a copy in a table without a primary key (see the header). */
export const COPY_COLUMN = '_tributary_copy';
export const COPY_SEQ_COLUMN = '_tributary_copy_seq';
export const TRUNCATIONS_TABLE = stateTable('truncations');

/**
 * Parts written by an insert are fsynced before it resolves (ClickHouse's default leaves them in
 * the page cache: a power loss could drop rows whose checkpoint, and the slot's acknowledgement,
 * already passed). Every storage and state table has it.
 */
export const DURABLE = 'fsync_after_insert = 1, fsync_part_directory = 1';

/** Where the DDL runs: the warehouse's database, its cluster if any, the type lookup. */
export interface DdlContext {
  readonly database: string;
  readonly cluster?: string | undefined;
  readonly lookup?: TypeLookup | undefined;
}

/** A source table as the warehouse holds it. */
export interface ChTable {
  readonly schema: TableSchema;
  readonly view: string;
  readonly storage: string;
  /** The table writes go to and the view reads: the storage, or its Distributed table on a cluster. */
  readonly target: string;
  /** Without a primary key: a multiset of copies. */
  readonly keyless: boolean;
  /** The columns that identify a row: the key, or every column of a multiset. */
  readonly keyColumns: readonly string[];
  readonly types: ReadonlyMap<string, ClickHouseColumnType>;
  /** Columns held as their type's widened String (widen.ts): a value the mapped type refused arrived. */
  readonly widened: ReadonlySet<string>;
}

export function chTable(
  schema: TableSchema,
  context: DdlContext,
  widened: ReadonlySet<string> = new Set(),
): ChTable {
  const keyless = !hasPrimaryKey(schema);
  const view = viewName(schema.table);
  const storage = storageName(schema.table);
  return {
    schema,
    view,
    storage,
    target: context.cluster ? distributedName(view) : storage,
    keyless,
    keyColumns: keyless ? schema.columns.map((c) => c.name) : schema.key,
    types: new Map(
      schema.columns.map((c) => {
        const mapped = clickhouseType(c, context.lookup);
        return [c.name, (widened.has(c.name) && mapped.widening?.type) || mapped];
      }),
    ),
    widened: new Set([...widened].filter((name) => schema.columns.some((c) => c.name === name))),
  };
}

function distributedName(view: string): string {
  return `_tributary_dist_${view}`;
}

/** `db`.`name` */
export function qualified(context: DdlContext, name: string): string {
  return `${q(context.database)}.${q(name)}`;
}

/** A name as a ClickHouse string literal (for DDL that must hold a name, e.g. the view's watermark filter). */
export function quoteString(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export function onCluster(context: DdlContext): string {
  return context.cluster ? ` ON CLUSTER ${q(context.cluster)}` : '';
}

/**
 * A type that ClickHouse cannot wrap in Nullable (composite types): such a column holds the
 * type's empty value for NULL. The exact mapping (type-mapping.ts) decides how it maps NULLs.
 */
function nullable(sql: string): string {
  return /^(Array|Map|Tuple|Nested|JSON|Object|Variant|Dynamic|Nullable|LowCardinality\(Nullable)\b/.test(sql)
    ? sql
    : `Nullable(${sql})`;
}

/** The presence flag of `column` (see the header). */
export function presenceColumn(column: string): string {
  return `_tributary_set_${column}`;
}

/** Whether `column` of `table` keeps NULL apart by a presence flag: an array type, not in the sorting key. */
export function hasPresence(table: ChTable, column: string): boolean {
  const type = table.types.get(column);
  return type !== undefined && !type.nullable && (table.keyless || !table.schema.key.includes(column));
}

/** The columns of `table` with a presence flag. */
export function presenceOf(table: ChTable): string[] {
  return table.schema.columns.map((c) => c.name).filter((name) => hasPresence(table, name));
}

/**
 * A storage column's COMMENT naming the source column it holds by attribute number —
 * `attnum:<n>`, `set:<n>` for its presence flag — so that a rename interrupted half-way is
 * finished from what the storage shows (`asStored`); empty without an attnum.
 */
export function identity(column: ColumnSchema, kind: 'attnum' | 'set' = 'attnum'): string {
  return column.attnum === undefined ? '' : ` COMMENT '${kind}:${column.attnum}'`;
}

/**
 * `current` under the names its storage columns have now, found by their `identity` comments —
 * different from the recorded ones only when an evolution was interrupted between its renames
 * and the record of its shape (a crash): planned from these names, the renames are done exactly
 * once. `current` itself when a kept column cannot be found (a storage made before comments).
 */
export function asStored(
  current: ChTable,
  nextSchema: TableSchema,
  stored: readonly { readonly name: string; readonly comment: string }[],
  context: DdlContext,
): ChTable {
  const byAttnum = new Map(
    stored.flatMap((c) => {
      const attnum = /^attnum:(\d+)$/.exec(c.comment)?.[1];
      return attnum === undefined ? [] : [[Number(attnum), c.name] as const];
    }),
  );
  const kept = new Set(nextSchema.columns.flatMap((c) => (c.attnum === undefined ? [] : [c.attnum])));
  const names = new Map<string, string>();
  for (const c of current.schema.columns) {
    if (c.attnum === undefined) continue;
    const name = byAttnum.get(c.attnum);
    if (name === undefined && kept.has(c.attnum)) return current; // not findable: as recorded
    if (name !== undefined && name !== c.name) names.set(c.name, name);
  }
  if (names.size === 0) return current;
  const rename = (n: string) => names.get(n) ?? n;
  const schema = {
    ...current.schema,
    columns: current.schema.columns.map((c) => ({ ...c, name: rename(c.name) })),
    key: current.schema.key.map(rename),
  };
  return chTable(schema, context, new Set([...current.widened].map(rename)));
}

/** A column's type in the storage: Nullable unless it is part of the sorting key. */
export function columnType(table: ChTable, column: ColumnSchema): string {
  const sql = (table.types.get(column.name) as ClickHouseColumnType).sql;
  return !table.keyless && table.schema.key.includes(column.name) ? sql : nullable(sql);
}

/** The column definitions of a storage table. */
function definitions(table: ChTable): string[] {
  const columns = table.schema.columns.map((c) => `${q(c.name)} ${columnType(table, c)}${identity(c)}`);
  for (const name of presenceOf(table)) {
    const column = table.schema.columns.find((c) => c.name === name) as ColumnSchema;
    columns.push(`${q(presenceColumn(name))} UInt8 DEFAULT 0${identity(column, 'set')}`);
  }
  columns.push(
    `${q(LSN_COLUMN)} UInt64`,
    `${q(SYNCED_AT_COLUMN)} DateTime64(6, 'UTC') DEFAULT now64(6)`,
    `${q(VERSION_COLUMN)} UInt128`,
    `${q(DELETED_COLUMN)} UInt8`,
  );
  if (table.keyless) columns.push(`${q(COPY_COLUMN)} UInt128`, `${q(COPY_SEQ_COLUMN)} UInt64`);
  return columns;
}

/** The storage's sorting key as `system.columns` shows it: each key column's name and type. */
export function sortingKey(table: ChTable): { name: string; type: string }[] {
  if (table.keyless)
    return [COPY_COLUMN, COPY_SEQ_COLUMN].map((name, i) => ({ name, type: i ? 'UInt64' : 'UInt128' }));
  return table.schema.key.map((name) => ({
    name,
    type: (table.types.get(name) as ClickHouseColumnType).sql,
  }));
}

function orderBy(table: ChTable): string {
  const key = table.keyless ? [COPY_COLUMN, COPY_SEQ_COLUMN] : table.schema.key;
  return `(${key.map(q).join(', ')})`;
}

function engine(context: DdlContext): string {
  const args = `${q(VERSION_COLUMN)}, ${q(DELETED_COLUMN)}`;
  return context.cluster
    ? `ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', ${args})`
    : `ReplacingMergeTree(${args})`;
}

/** Statements that create the storage `name` for `table` (and its Distributed table on a cluster). */
export function createStorageSql(table: ChTable, context: DdlContext, name = table.storage): string[] {
  const settings = ` SETTINGS ${context.cluster ? '' : 'non_replicated_deduplication_window = 10000, '}${DURABLE}`;
  const statements = [
    `CREATE TABLE IF NOT EXISTS ${qualified(context, name)}${onCluster(context)} (${definitions(table).join(', ')}) ENGINE = ${engine(context)} ORDER BY ${orderBy(table)}${settings}`,
  ];
  if (context.cluster && name === table.storage) {
    statements.push(
      `CREATE TABLE IF NOT EXISTS ${qualified(context, table.target)}${onCluster(context)} AS ${qualified(context, name)} ENGINE = Distributed(${q(context.cluster)}, ${q(context.database)}, ${q(name)}, cityHash64${orderBy(table)})`,
    );
  }
  return statements;
}

/** The analyst's view of `table` (see the header). */
export function createViewSql(table: ChTable, context: DdlContext): string {
  const s = '_tributary_s';
  const columns = [
    ...table.schema.columns.map((c) =>
      hasPresence(table, c.name)
        ? `if(${s}.${q(presenceColumn(c.name))} = 1, ${s}.${q(c.name)}, NULL) AS ${q(c.name)}`
        : `${s}.${q(c.name)} AS ${q(c.name)}`,
    ),
    ...[LSN_COLUMN, SYNCED_AT_COLUMN].map((name) => `${s}.${q(name)} AS ${q(name)}`),
  ];
  return `CREATE OR REPLACE VIEW ${qualified(context, table.view)}${onCluster(context)} AS SELECT ${columns.join(', ')} FROM ${qualified(context, table.target)} AS ${s} FINAL WHERE ${liveRows(table, context, s)}`;
}

/**
 * The rows of `table` a reader sees, as a condition on its storage read `FINAL` as `alias`: not
 * deleted, above the table's truncation watermark.
 */
export function liveRows(table: ChTable, context: DdlContext, alias: string): string {
  const watermark = `(SELECT max(version) FROM ${qualified(context, TRUNCATIONS_TABLE)} WHERE view = ${quoteString(table.view)})`;
  return `${alias}.${q(DELETED_COLUMN)} = 0 AND ${alias}.${q(VERSION_COLUMN)} > ${watermark}`;
}

/** One DDL statement, with the query parameters it binds. */
export interface Ddl {
  readonly sql: string;
  readonly params?: Record<string, unknown>;
}

/**
 * The statements that bring the storage of `current` to `next` (see the header), the view
 * excluded (the caller creates it again after them). Refuses a change of the key's columns
 * (other than a rename or a retype) and a change between keyed and keyless.
 */
export function evolveStorage(
  current: ChTable,
  nextSchema: TableSchema,
  context: DdlContext,
  widened: ReadonlySet<string> = new Set(),
): Ddl[] {
  return evolution(current, nextSchema, context, widened).ddl;
}

/** A column whose type changes: what it holds is checked to convert exactly before. */
export interface Retype {
  /** The column's name in the storage when it is converted (after renames). */
  readonly column: string;
  readonly from: string;
  readonly to: string;
}

export interface Evolution {
  readonly ddl: Ddl[];
  /** Whether the statements rebuild the storage (a key column renamed or retyped). */
  readonly rebuild: boolean;
  readonly retyped: readonly Retype[];
}

/** A rebuild's new table, while it is filled (tables.ts header). */
export function rebuildName(table: ChTable): string {
  return `_tributary_rebuild_${table.view}`;
}

/**
 * What bringing `current` to `nextSchema` takes: the statements, and whether they rebuild the
 * storage (a key column renamed or retyped). A rebuild that already swapped the tables (a
 * crash before the shape was recorded) is seen by the storage's sorting key: the caller
 * checks `sortingKey` before running it again.
 */
export function evolution(
  current: ChTable,
  nextSchema: TableSchema,
  context: DdlContext,
  widened: ReadonlySet<string> = new Set(),
): Evolution {
  const next = chTable(nextSchema, context, widened);
  const table = qualified(context, current.storage);
  const renames = columnRenames(current.schema, nextSchema);
  const renamedKey = current.keyless
    ? current.schema.key
    : current.schema.key.map((k) => renames.get(k) ?? k);
  if (
    current.keyless !== next.keyless ||
    (!next.keyless && renamedKey.join('\u0000') !== nextSchema.key.join('\u0000'))
  ) {
    throw new TributaryError(
      'SINK',
      `${displayName(nextSchema.table)}: its key changed from (${current.schema.key.join(', ')}) to (${nextSchema.key.join(', ')}), which the warehouse cannot apply in place`,
      {
        hint: `drop the view ${current.view} and the table ${current.storage} in ClickHouse and backfill the table`,
      },
    );
  }
  refuseArrayRetypes(current, next, renames);
  const byAttnum = (c: ColumnSchema, other: ColumnSchema | undefined) =>
    other !== undefined && c.attnum !== undefined && other.attnum !== undefined && c.attnum !== other.attnum;
  const nextByName = new Map(nextSchema.columns.map((c) => [c.name, c]));
  const taken = new Set(renames.values());
  // a key column renamed or retyped: the sorting key cannot be altered, the storage is rebuilt
  const keyRetyped = next.keyless
    ? false
    : current.schema.key.some((k) => {
        const to = nextByName.get(renames.get(k) ?? k);
        return to !== undefined && next.types.get(to.name)?.sql !== current.types.get(k)?.sql;
      });
  if (!next.keyless && (keyRetyped || current.schema.key.some((k) => renames.has(k)))) {
    return {
      ddl: rebuildStorage(current, next, renames, context),
      rebuild: true,
      retyped: retypes(current, next, renames),
    };
  }
  const out: Ddl[] = [];
  const retyped: Retype[] = [];
  const alter = (clause: string, params?: Record<string, unknown>): void => {
    out.push(
      params
        ? { sql: `ALTER TABLE ${table}${onCluster(context)} ${clause}`, params }
        : { sql: `ALTER TABLE ${table}${onCluster(context)} ${clause}` },
    );
  };
  // gone at the source, or its name taken by a rename or by a column added again under it
  const dropped = new Set<string>();
  for (const c of current.schema.columns) {
    if (renames.has(c.name)) continue;
    const after = nextByName.get(c.name);
    if (!after || taken.has(c.name) || byAttnum(c, after)) {
      alter(`DROP COLUMN IF EXISTS ${q(c.name)}`);
      if (hasPresence(current, c.name)) alter(`DROP COLUMN IF EXISTS ${q(presenceColumn(c.name))}`);
      dropped.add(c.name);
    }
  }
  // through temporary names (none a column has now), so that swaps work; a presence flag goes
  // with its column in the same statement, under the flag name of the column's name
  const names = new Set(current.schema.columns.map((c) => c.name));
  const via = (i: number): string => {
    let name = `_tributary_rename_${i}`;
    for (let k = 1; names.has(name); k++) name = `_tributary_rename_${i}_${k}`;
    return name;
  };
  const steps = [...renames].map(([from, to], i) => ({
    from,
    to,
    via: via(i),
    flag: hasPresence(current, from),
  }));
  const rename = (from: string, to: string, flag: boolean): string =>
    [
      `RENAME COLUMN IF EXISTS ${q(from)} TO ${q(to)}`,
      ...(flag ? [`RENAME COLUMN IF EXISTS ${q(presenceColumn(from))} TO ${q(presenceColumn(to))}`] : []),
    ].join(', ');
  for (const step of steps) alter(rename(step.from, step.via, step.flag));
  for (const step of steps) alter(rename(step.via, step.to, step.flag));
  const held = new Map(
    current.schema.columns
      .filter((c) => !dropped.has(c.name))
      .map((c) => [renames.get(c.name) ?? c.name, current.types.get(c.name) as ClickHouseColumnType]),
  );
  for (const c of nextSchema.columns) {
    const was = held.get(c.name);
    const type = columnType(next, c);
    if (!was) {
      const value = c.missingValue;
      if (value === undefined || value === null)
        alter(`ADD COLUMN IF NOT EXISTS ${q(c.name)} ${type}${identity(c)}`);
      else {
        const mapped = next.types.get(c.name) as ClickHouseColumnType;
        alter(`ADD COLUMN IF NOT EXISTS ${q(c.name)} ${type} DEFAULT {missing:${mapped.sql}}${identity(c)}`, {
          missing: mapped.encode(value),
        });
      }
      // rows stored before it: NULL, or the constant default they read
      if (hasPresence(next, c.name)) {
        const set = value === undefined || value === null ? 0 : 1;
        alter(
          `ADD COLUMN IF NOT EXISTS ${q(presenceColumn(c.name))} UInt8 DEFAULT ${set}${identity(c, 'set')}`,
        );
      }
    } else if (was.sql !== next.types.get(c.name)?.sql) {
      alter(`MODIFY COLUMN ${q(c.name)} ${type}`);
      // checked before the statements run: under the name the column has then
      retyped.push({
        column: [...renames].find(([, to]) => to === c.name)?.[0] ?? c.name,
        from: was.sql,
        to: (next.types.get(c.name) as ClickHouseColumnType).sql,
      });
    }
  }
  return { ddl: out, rebuild: false, retyped };
}

/**
 * A column kept (renamed or not) whose type changes between an array and another type: NULL
 * arrays are kept apart by a presence flag (see the header) that such a retype would have to
 * create from, or fold into, the stored values — refused, naming the column.
 */
function refuseArrayRetypes(current: ChTable, next: ChTable, renames: ReadonlyMap<string, string>): void {
  for (const { column, to } of retypes(current, next, renames)) {
    const after = renames.get(column) ?? column;
    if (hasPresence(current, column) === hasPresence(next, after)) continue;
    throw new TributaryError(
      'SINK',
      `${displayName(next.schema.table)}.${after}: its type changed between an array and another type (${current.types.get(column)?.sql} to ${to}), which the ClickHouse warehouse does not convert in place`,
      {
        hint: `drop the view ${current.view} and the table ${current.storage} in ClickHouse and backfill the table`,
      },
    );
  }
}

/** The columns of `current` that keep their values under another type in `next` (by their old names). */
function retypes(current: ChTable, next: ChTable, renames: ReadonlyMap<string, string>): Retype[] {
  return current.schema.columns.flatMap((c) => {
    const name = renames.get(c.name) ?? c.name;
    const after = next.schema.columns.find((n) => n.name === name);
    // another column under the name (dropped and added again): nothing of it is kept
    const replaced =
      !renames.has(c.name) &&
      c.attnum !== undefined &&
      after?.attnum !== undefined &&
      c.attnum !== after.attnum;
    const from = current.types.get(c.name)?.sql;
    const to = next.types.get(name)?.sql;
    return after && !replaced && from && to && from !== to ? [{ column: c.name, from, to }] : [];
  });
}

/**
 * A key column renamed or retyped: the rows are copied into a new storage with the new shape
 * (columns cast, versions and flags kept), which then takes the old one's place. `convert`
 * gives, per column of `next`, the expression of its old value instead of the cast (widen.ts).
 */
export function rebuildStorage(
  current: ChTable,
  next: ChTable,
  renames: ReadonlyMap<string, string>,
  context: DdlContext,
  convert: ReadonlyMap<string, string> = new Map(),
): Ddl[] {
  const temporary = rebuildName(next);
  const fromName = new Map([...renames].map(([from, to]) => [to, from]));
  const oldByName = new Map(current.schema.columns.map((c) => [c.name, c]));
  const params: Record<string, unknown> = {};
  /** The column of `current` whose values `c` keeps; none for a column new with the rebuild. */
  const keptFrom = (c: ColumnSchema): ColumnSchema | null => {
    const old = oldByName.get(fromName.get(c.name) ?? c.name);
    const replaced =
      old?.attnum !== undefined &&
      c.attnum !== undefined &&
      old.attnum !== c.attnum &&
      !renames.has(old.name);
    return old && !replaced ? old : null;
  };
  const select = next.schema.columns.map((c, i) => {
    const type = columnType(next, c);
    const old = keptFrom(c);
    const expression = convert.get(c.name);
    if (old && expression !== undefined) return `${expression} AS ${q(c.name)}`;
    if (old) return `CAST(${q(old.name)} AS ${type}) AS ${q(c.name)}`;
    // a column new with the rebuild: its constant default for the rows stored before it, else NULL
    if (c.missingValue === undefined || c.missingValue === null)
      return `CAST(NULL AS ${type}) AS ${q(c.name)}`;
    const mapped = next.types.get(c.name) as ClickHouseColumnType;
    params[`missing_${i}`] = mapped.encode(c.missingValue);
    return `CAST({missing_${i}:${mapped.sql}} AS ${type}) AS ${q(c.name)}`;
  });
  // presence flags: carried from the column's old flag; a column new with the rebuild reads NULL
  // or its constant default
  const flags = presenceOf(next).map((name) => {
    const column = next.schema.columns.find((c) => c.name === name) as ColumnSchema;
    const old = keptFrom(column);
    const set = column.missingValue === undefined || column.missingValue === null ? '0' : '1';
    const from = old && hasPresence(current, old.name) ? q(presenceColumn(old.name)) : set;
    return `${from} AS ${q(presenceColumn(name))}`;
  });
  const meta = [LSN_COLUMN, SYNCED_AT_COLUMN, VERSION_COLUMN, DELETED_COLUMN].map(q);
  const names = [
    ...next.schema.columns.map((c) => q(c.name)),
    ...presenceOf(next).map((name) => q(presenceColumn(name))),
    ...meta,
  ].join(', ');
  return [
    { sql: `DROP TABLE IF EXISTS ${qualified(context, temporary)}${onCluster(context)}` },
    ...createStorageSql(next, { ...context, cluster: context.cluster }, temporary).map((sql) => ({ sql })),
    {
      sql: `INSERT INTO ${qualified(context, temporary)} (${names}) SELECT ${[...select, ...flags, ...meta].join(', ')} FROM ${qualified(context, current.storage)}`,
      params,
    },
    {
      sql: `EXCHANGE TABLES ${qualified(context, current.storage)} AND ${qualified(context, temporary)}${onCluster(context)}`,
    },
    { sql: `DROP TABLE ${qualified(context, temporary)}${onCluster(context)}` },
  ];
}
