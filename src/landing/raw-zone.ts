/**
 * The raw landing zone in DuckDB (DESIGN.md, "Warehouse layout"): every change the warehouse
 * applies is also appended, in the same transaction, to its table's raw table
 * `_tributary_raw."<name>"`, one row per change, with its metadata (columns starting with
 * `_tributary_`) followed by the row image. Contract:
 *
 * - Append-only. Nothing here updates or deletes a raw row; retention (retention.ts) is the one
 *   setting that removes rows, and only rows no state depends on.
 * - Exactly once: raw rows are written in the transaction that applies the change and moves the
 *   checkpoint, and a re-delivered change is skipped by the checkpoint before it reaches here.
 * - The row image is the new row for inserts and updates (columns named in
 *   `_tributary_unchanged` are NULL: Postgres did not send them, they keep the earlier value),
 *   the old row (or just its key) for deletes, nothing for truncates. An update's old image,
 *   where the replica identity sent one (a changed key, REPLICA IDENTITY FULL), is kept as JSON
 *   in `_tributary_before` (event-json.ts's encoding).
 * - Rows a snapshot or backfill wrote are there too, as op `snapshot` at the snapshot's LSN
 *   (ordinal -1, before every change of that LSN), with the time the snapshot was taken: the
 *   zone alone rebuilds the tables (replay.ts). A table that held rows before it had a raw table
 *   (a warehouse from an older build) is seeded with them the same way.
 * - Columns are never dropped: a column the source drops stays, NULL from then on, so older rows
 *   stay readable under their schema version (`_tributary_schema_version`). A retyped column is
 *   converted in place when every stored value converts exactly; otherwise the old column is
 *   kept as `<name>@<n>` and a new one takes the name. A column renamed at the source is renamed
 *   here too (its older rows are the same column's); one dropped and added again under its name
 *   (another attnum) is kept as `<name>~<n>`, and the new one starts empty as at the source.
 * - `_tributary_batch` numbers the writing transactions in commit order (a sequence, so gaps are
 *   possible): exports take what is new since the last batch they wrote.
 *
 * Storage. `_tributary_raw."<name>"` is a view over two tables that hold the same row-image
 * columns: `_tributary_raw_rows."<name>"`, one row per change with all its metadata, and
 * `_tributary_raw_copies."<name>"`, the rows snapshots and backfills copied, with only their
 * batch and LSN; what a copy's rows share (commit time, ingestion time, source, schema version)
 * is one row of `_tributary.raw_copies`. A snapshot copies every row of a table once into the
 * table and once into the raw zone, and in DuckDB each stored column costs about as much as any
 * other, constant or not (bench/snapshot): 11 metadata columns per copied row would cost more
 * than the row itself. Every ALTER goes to both tables, and the view is made again after it. A
 * warehouse written before this layout (the raw table itself in `_tributary_raw`) is moved to
 * it the first time the writer opens the table (`migrateLegacy`).
 */
import type { DuckDBType, DuckDBValue } from '@duckdb/node-api';
import { DuckDBTimestampTZValue, INTEGER, listValue, UTINYINT, VARCHAR } from '@duckdb/node-api';
import type { ChangeEvent, Row } from '../core/change-event.js';
import { TributaryError } from '../core/errors.js';
import { rowToJson } from '../core/event-json.js';
import { displayName, quoteIdentifier as q, type TableRef } from '../core/table-ref.js';
import type { PgTimestampTz } from '../core/values.js';
import type { Db } from '../warehouse/duckdb/db.js';
import type { StagedImages } from '../warehouse/duckdb/merge.js';
import {
  alterColumnType,
  inexactValues,
  LSN_COLUMN,
  SYNCED_COLUMN,
  type TableState,
} from '../warehouse/duckdb/tables.js';
import type { ColumnWriter } from '../warehouse/duckdb/value-writer.js';

export const RAW_SCHEMA = '_tributary_raw';
/** The changes' raw rows, all metadata stored (and rows seeded or compacted by retention). */
const ROWS_SCHEMA = '_tributary_raw_rows';
/** The rows snapshots copied, with their batch and LSN; the rest of their metadata in `_tributary.raw_copies`. */
const COPIES_SCHEMA = '_tributary_raw_copies';
/** One row per (raw table, batch, LSN) of copied rows: what they share. */
const COPIES_META = '_tributary.raw_copies';

/** The metadata columns of every raw table, in order, before the row image's columns. */
export const RAW_META = [
  ['_tributary_op', 'VARCHAR NOT NULL'],
  ['_tributary_lsn', 'UBIGINT NOT NULL'],
  ['_tributary_ordinal', 'BIGINT NOT NULL'],
  ['_tributary_xid', 'UBIGINT'],
  ['_tributary_commit_time', 'TIMESTAMPTZ NOT NULL'],
  ['_tributary_ingested_at', 'TIMESTAMPTZ NOT NULL'],
  ['_tributary_source', 'VARCHAR'],
  ['_tributary_schema_version', 'VARCHAR NOT NULL'],
  ['_tributary_unchanged', 'VARCHAR[] NOT NULL'],
  ['_tributary_before', 'JSON'],
  ['_tributary_batch', 'UBIGINT NOT NULL'],
] as const;

const META_NAMES = new Set<string>(RAW_META.map(([name]) => name));

/** A raw table as it is in the database: its name and its row image's columns, in order. */
export interface RawTable {
  readonly table: TableRef;
  readonly name: string;
  /** `"_tributary_raw"."<name>"`: what readers read (a view over `rows` and `copies`). */
  readonly sql: string;
  /** The table that holds the changes' rows: `"_tributary_raw_rows"."<name>"`. */
  readonly rows: string;
  /** The table that holds copied rows: `"_tributary_raw_copies"."<name>"`. */
  readonly copies: string;
  /** Written before the view: the rows are in `sql` itself, until `migrateLegacy` (read-only opens read it so). */
  readonly legacy: boolean;
  /** Every column after the metadata: current, dropped and renamed-away ones. */
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  /** The DuckDB types of all columns, metadata first, for the appender. */
  readonly types: readonly DuckDBType[];
  /** The table state it was brought in line with (`syncRawTable`). */
  readonly syncedWith: TableState;
  /**
   * Columns added with a constant DEFAULT (`ColumnSchema.missingValue`): rows written under an
   * older schema version hold NULL there, but the row has the default from then on, as
   * Postgres reads it (the warehouse filled it in, tables.ts `fillAdded`). History and replay
   * read it so.
   */
  readonly defaults: readonly MissingDefault[];
}

export interface MissingDefault {
  readonly column: string;
  /** The schema versions without the column. */
  readonly versions: readonly string[];
  /** The default, event-json's form, as `{"<column>": value}`. */
  readonly json: string;
}

/** Who wrote a batch of raw rows, and when. */
export interface RawBatch {
  readonly batch: bigint;
  /** Microseconds since the epoch. */
  readonly ingestedAt: bigint;
  readonly source: string | null;
}

export async function bootstrapRaw(db: Db): Promise<void> {
  await db.run(`CREATE SCHEMA IF NOT EXISTS ${q(RAW_SCHEMA)}`);
  await db.run(
    `CREATE TABLE IF NOT EXISTS _tributary.raw_tables (table_schema VARCHAR NOT NULL, table_name VARCHAR NOT NULL,
      raw_name VARCHAR NOT NULL, created_at TIMESTAMPTZ NOT NULL, seeded_rows UBIGINT NOT NULL, horizon TIMESTAMPTZ)`,
  );
  await db.run('CREATE SEQUENCE IF NOT EXISTS _tributary.raw_batch START 1');
  await db.run(`CREATE SCHEMA IF NOT EXISTS ${q(ROWS_SCHEMA)}`);
  await db.run(`CREATE SCHEMA IF NOT EXISTS ${q(COPIES_SCHEMA)}`);
  await db.run(
    `CREATE TABLE IF NOT EXISTS ${COPIES_META} (raw_name VARCHAR NOT NULL, batch UBIGINT NOT NULL, lsn UBIGINT NOT NULL,
      commit_time TIMESTAMPTZ NOT NULL, ingested_at TIMESTAMPTZ NOT NULL, source VARCHAR, schema_version VARCHAR NOT NULL)`,
  );
}

/** Whether the database has a raw zone (a read-only open of an older file may not). */
export async function hasRawZone(db: Db): Promise<boolean> {
  const rows = await db.rows(
    "SELECT count(*) FROM information_schema.tables WHERE table_schema = '_tributary' AND table_name = 'raw_tables'",
  );
  return Number(rows[0]?.[0] ?? 0) > 0;
}

/** The raw tables, by source table. */
export async function rawTableNames(db: Db): Promise<{ table: TableRef; name: string }[]> {
  if (!(await hasRawZone(db))) return [];
  const rows = await db.rows(
    'SELECT table_schema, table_name, raw_name FROM _tributary.raw_tables ORDER BY table_schema, table_name',
  );
  return rows.map((r) => ({ table: { schema: String(r[0]), name: String(r[1]) }, name: String(r[2]) }));
}

/**
 * The raw name of a source table: its name for `public`, `<schema>.<name>` otherwise, with `~2`,
 * `~3`… after it when another table has that name already (`"a.b".c` and `a."b.c"`).
 */
function chooseName(table: TableRef, taken: ReadonlySet<string>): string {
  const base = table.schema === 'public' ? table.name : `${table.schema}.${table.name}`;
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) if (!taken.has(`${base}~${n}`)) return `${base}~${n}`;
}

export async function newBatch(db: Db, source: string | null): Promise<RawBatch> {
  const rows = await db.rows("SELECT nextval('_tributary.raw_batch')");
  return { batch: BigInt(rows[0]?.[0] as bigint), ingestedAt: BigInt(Date.now()) * 1000n, source };
}

/**
 * Creates or updates `table`'s raw table so that it has every current column with its current
 * type (in the caller's transaction). A table that already holds rows when its raw table is
 * created is seeded with them (as `snapshot` rows at each row's own LSN).
 */
export async function syncRawTable(db: Db, table: TableState, existing: RawTable | null): Promise<RawTable> {
  const ref = table.schema.table;
  let name = existing?.name ?? null;
  if (name === null) {
    const known = (await rawTableNames(db)).find(
      (t) => t.table.schema === ref.schema && t.table.name === ref.name,
    );
    name = known?.name ?? null;
  }
  const current = await columnTypes(
    db,
    table.sql,
    table.schema.columns.map((c) => c.name),
  );
  if (name === null) {
    const taken = new Set((await rawTableNames(db)).map((t) => t.name));
    name = chooseName(ref, taken);
    const collide = current.find((c) => META_NAMES.has(c.name));
    if (collide) {
      throw new TributaryError(
        'SINK',
        `${displayName(ref)}: its column ${collide.name} has the name of a raw-zone metadata column`,
        { hint: 'rename the column on the source, or run without the raw zone (--no-raw)' },
      );
    }
    await createStorage(db, name, current);
    await createView(db, name);
    const seeded = await seed(db, table, rowsSql(name));
    await db.run('INSERT INTO _tributary.raw_tables VALUES ($1, $2, $3, now(), $4::UBIGINT, NULL)', [
      ref.schema,
      ref.name,
      name,
      BigInt(seeded),
    ]);
    return describeRaw(db, table, name);
  }
  let stored = existing ?? (await describeRaw(db, table, name));
  if (stored.legacy) stored = await migrateLegacy(db, stored, table);
  const types = new Map(stored.columns.map((c) => [c.name, c.type]));
  let changed = existing === null;
  for (const column of current) {
    const type = types.get(column.name);
    if (type === undefined) {
      for (const sql of [stored.rows, stored.copies])
        await db.run(`ALTER TABLE ${sql} ADD COLUMN ${q(column.name)} ${column.type}`);
      changed = true;
    } else if (type !== column.type) {
      await retypeRaw(db, stored, column.name, type, column.type, types);
      changed = true;
    }
  }
  if (!changed) return { ...stored, syncedWith: table };
  await createView(db, name);
  return describeRaw(db, table, name);
}

/** The metadata columns a copied row stores (the rest is its `_tributary.raw_copies` row). */
const COPY_META = ['_tributary_batch UBIGINT NOT NULL', '_tributary_lsn UBIGINT NOT NULL'];

/** Creates the two tables of raw table `name`, with row-image columns `image` (name, type). */
async function createStorage(
  db: Db,
  name: string,
  image: readonly { readonly name: string; readonly type: string }[],
): Promise<void> {
  const columns = image.map((c) => `${q(c.name)} ${c.type}`);
  await db.run(
    `CREATE TABLE ${rowsSql(name)} (${[...RAW_META.map(([n, t]) => `${q(n)} ${t}`), ...columns].join(', ')})`,
  );
  await db.run(`CREATE TABLE ${copiesSql(name)} (${[...COPY_META, ...columns].join(', ')})`);
}

/**
 * (Re)creates the view `_tributary_raw."<name>"` over the two tables, after their columns
 * changed: the changes' rows as stored, then the copied rows with their shared metadata.
 */
async function createView(db: Db, name: string): Promise<void> {
  const rows = await db.read(`SELECT * FROM ${rowsSql(name)} LIMIT 0`);
  const image = rows
    .columnNames()
    .slice(RAW_META.length)
    .map((c) => `c.${q(c)}`);
  // the copied rows' metadata, by name; the UNION matches columns by position: RAW_META's order
  const meta: Readonly<Record<(typeof RAW_META)[number][0], string>> = {
    _tributary_op: "'snapshot'",
    _tributary_lsn: 'c._tributary_lsn',
    _tributary_ordinal: '-1::BIGINT',
    _tributary_xid: 'NULL::UBIGINT',
    _tributary_commit_time: 'm.commit_time',
    _tributary_ingested_at: 'm.ingested_at',
    _tributary_source: 'm.source',
    _tributary_schema_version: 'm.schema_version',
    _tributary_unchanged: '[]::VARCHAR[]',
    _tributary_before: 'NULL::JSON',
    _tributary_batch: 'c._tributary_batch',
  };
  const copied = RAW_META.map(([n]) => meta[n]);
  await db.run(
    `CREATE OR REPLACE VIEW ${rawSql(name)} AS
      SELECT * FROM ${rowsSql(name)}
      UNION ALL
      SELECT ${[...copied, ...image].join(', ')} FROM ${copiesSql(name)} AS c
        JOIN ${COPIES_META} AS m ON m.raw_name = '${name.replaceAll("'", "''")}' AND m.batch = c._tributary_batch AND m.lsn = c._tributary_lsn`,
  );
}

/**
 * Moves a raw table written before the view (`RawTable.legacy`) to the two tables and the view:
 * its rows, metadata and all, become the changes' rows (in the caller's transaction).
 */
async function migrateLegacy(db: Db, legacy: RawTable, table: TableState): Promise<RawTable> {
  await createStorage(db, legacy.name, legacy.columns);
  await db.run(`INSERT INTO ${legacy.rows} SELECT * FROM ${legacy.sql}`);
  await db.run(`DROP TABLE ${legacy.sql}`);
  await createView(db, legacy.name);
  return describeRaw(db, table, legacy.name);
}

/** `table`'s raw table as it is, or null when it has none (reads only: for read-only opens). */
export async function loadRawTable(db: Db, table: TableState): Promise<RawTable | null> {
  const ref = table.schema.table;
  const known = (await rawTableNames(db)).find(
    (t) => t.table.schema === ref.schema && t.table.name === ref.name,
  );
  return known ? describeRaw(db, table, known.name) : null;
}

function rawSql(name: string): string {
  return `${q(RAW_SCHEMA)}.${q(name)}`;
}

function rowsSql(name: string): string {
  return `${q(ROWS_SCHEMA)}.${q(name)}`;
}

function copiesSql(name: string): string {
  return `${q(COPIES_SCHEMA)}.${q(name)}`;
}

async function describeRaw(db: Db, table: TableState, name: string): Promise<RawTable> {
  const result = await db.read(`SELECT * FROM ${rawSql(name)} LIMIT 0`);
  const names = result.columnNames().slice(RAW_META.length);
  const kind = await db.rows(
    'SELECT table_type FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2',
    [RAW_SCHEMA, name],
  );
  return {
    table: table.schema.table,
    name,
    sql: rawSql(name),
    rows: rowsSql(name),
    copies: copiesSql(name),
    legacy: String(kind[0]?.[0]) !== 'VIEW',
    columns: await columnTypes(db, rawSql(name), names),
    types: result.columnTypes(),
    syncedWith: table,
    defaults: await missingDefaults(db, table.schema.table),
  };
}

async function missingDefaults(db: Db, table: TableRef): Promise<MissingDefault[]> {
  const rows = await db.rows(
    `SELECT version, columns::VARCHAR FROM _tributary.schema_versions WHERE table_schema = $1 AND table_name = $2`,
    [table.schema, table.name],
  );
  const versions = rows.map((r) => {
    const body = JSON.parse(String(r[1])) as {
      columns: { name: string }[];
      missingValues?: Record<string, unknown>;
    };
    return {
      version: String(r[0]),
      names: new Set(body.columns.map((c) => c.name)),
      missing: body.missingValues ?? {},
    };
  });
  const out = new Map<string, MissingDefault>();
  for (const v of versions) {
    for (const [column, value] of Object.entries(v.missing)) {
      if (out.has(column) || value === null) continue;
      const without = [...new Set(versions.filter((o) => !o.names.has(column)).map((o) => o.version))];
      if (without.length > 0)
        out.set(column, { column, versions: without, json: JSON.stringify({ [column]: value }) });
    }
  }
  return [...out.values()];
}

/** The declared types of `names` in `sql` (`JSON`, not the `VARCHAR` under it), in that order. */
async function columnTypes(
  db: Db,
  sql: string,
  names: readonly string[],
): Promise<{ name: string; type: string }[]> {
  if (names.length === 0) return [];
  const rows = await db.rows(
    `SELECT column_name, column_type FROM (DESCRIBE SELECT ${names.map(q).join(', ')} FROM ${sql})`,
  );
  return rows.map((r) => ({ name: String(r[0]), type: String(r[1]) }));
}

/**
 * Follows columns renamed at the source (tables.ts columnRenames): the raw table's column takes
 * the new name, so older rows read under it as the live table does (replay and history stay
 * equal to it). Columns in `aside` (gone at the source whose name a rename takes, or dropped and
 * added again under their name) are kept aside first as `<name>~<n>`: their rows stay readable,
 * and the name is free for the column that now has it. (Not `<name>@<n>`: history and replay
 * read a retyped column's aside values as the column's own, which these are not.)
 */
export async function followRenames(
  db: Db,
  table: TableState,
  found: RawTable,
  renames: ReadonlyMap<string, string>,
  aside: readonly string[],
): Promise<void> {
  const raw = found.legacy ? await migrateLegacy(db, found, table) : found;
  const names = new Set(raw.columns.map((c) => c.name));
  const rename = async (from: string, to: string) => {
    for (const sql of [raw.rows, raw.copies])
      await db.run(`ALTER TABLE ${sql} RENAME COLUMN ${q(from)} TO ${q(to)}`);
  };
  const moveAside = async (column: string) => {
    let n = 1;
    while (names.has(`${column}~${n}`)) n++;
    await rename(column, `${column}~${n}`);
    names.delete(column);
    names.add(`${column}~${n}`);
  };
  for (const column of aside) if (names.has(column) && !renames.has(column)) await moveAside(column);
  const steps = [...renames].filter(([from]) => names.has(from));
  // a column of the target's name left from before (dropped at the source, kept here) steps aside
  for (const [, to] of steps) if (names.has(to) && !renames.has(to)) await moveAside(to);
  for (const [i, [from]] of steps.entries()) await rename(from, `_tributary_rename_${i}`);
  for (const [i, [, to]] of steps.entries()) await rename(`_tributary_rename_${i}`, to);
  await createView(db, raw.name);
}

/** A column retyped on the source: converted in place when exact, else kept aside as `<name>@<n>`. */
async function retypeRaw(
  db: Db,
  raw: RawTable,
  column: string,
  from: string,
  to: string,
  types: ReadonlyMap<string, string>,
): Promise<void> {
  const col = q(column);
  const tables = [raw.rows, raw.copies];
  // to JSON (a LIST widened, widen.ts) never in place: DuckDB cannot replay such an ALTER from
  // its WAL after a crash, and its cast would not write the JSON form the table holds
  if (to !== 'JSON') {
    let inexact = 0;
    for (const sql of tables) inexact += await inexactValues(db, sql, col, from, to);
    if (inexact === 0) {
      for (const sql of tables) await alterColumnType(db, sql, col, from, to);
      return;
    }
  }
  let n = 1;
  while (types.has(`${column}@${n}`)) n++;
  for (const sql of tables) {
    await db.run(`ALTER TABLE ${sql} RENAME COLUMN ${col} TO ${q(`${column}@${n}`)}`);
    await db.run(`ALTER TABLE ${sql} ADD COLUMN ${col} ${to}`);
  }
}

/**
 * DuckDB 1.5.5 loses every row of a large insert (more than a row group, 122,880 rows) into a
 * table when, earlier in the same transaction, an INSERT … SELECT inserted no row into it and a
 * temporary table was created since: the insert reports its rows, the commit keeps none (a
 * first snapshot chunk of 250,000 rows vanished from the raw zone). So no INSERT … SELECT here
 * runs when it would insert nothing.
 */
async function isEmpty(db: Db, select: string, params: DuckDBValue[] = []): Promise<boolean> {
  return (await db.rows(`SELECT count(*) FROM (SELECT 1 FROM (${select}) LIMIT 1)`, params))[0]?.[0] === 0n;
}

/** The rows a table holds when its raw table is created, as `snapshot` rows. */
async function seed(db: Db, table: TableState, raw: string): Promise<number> {
  if (await isEmpty(db, `SELECT * FROM ${table.sql}`)) return 0;
  const columns = table.schema.columns.map((c) => q(c.name));
  const result = await db.read(
    `INSERT INTO ${raw} SELECT 'snapshot', ${q(LSN_COLUMN)}, -1, NULL, ${q(SYNCED_COLUMN)}, now(), 'existing rows', $1,
       []::VARCHAR[], NULL, nextval('_tributary.raw_batch')${columns.map((c) => `, ${c}`).join('')} FROM ${table.sql}`,
    [table.schema.version],
  );
  return Number(result.rowsChanged);
}

/** The ops as the staging table codes them (an index into this list, from 1 as in SQL). */
const OPS = ['insert', 'update', 'delete', 'truncate'] as const;
const OP_CODE: Readonly<Record<ChangeEvent['op'], number>> = { insert: 1, update: 2, delete: 3, truncate: 4 };

const RAW_STAGE = '_tributary_raw_stage';
const INT32_MAX = 2 ** 31 - 1;

/** A metadata column of the raw stage: its value for each change (the change, its index). */
interface StagedMeta {
  readonly name: string;
  readonly type: DuckDBType;
  readonly value: (event: ChangeEvent, index: number) => DuckDBValue;
}

/**
 * One table's changes of a batch, staged for the raw zone (`stageChanges`): `insert` appends
 * them to the raw table, `drop` removes the stage (also after a failure).
 */
export interface StagedChanges {
  insert(): Promise<void>;
  drop(): Promise<void>;
  /** The staged rows, for the merge to take instead of staging them again (merge.ts). */
  readonly images: StagedImages;
}

/**
 * Stages one table's changes of a batch, in position order (in the caller's transaction), to
 * be appended to its raw table. Only what varies from row to row crosses from JavaScript (the
 * op as a small code); what a batch shares — the ingestion time, the source, the batch, mostly
 * the schema version — is added in SQL: a string appended from JavaScript costs as much as the
 * rest of the row (bench/landing).
 */
export async function stageChanges(
  db: Db,
  raw: RawTable,
  table: TableState,
  events: readonly ChangeEvent[],
  batch: RawBatch,
): Promise<StagedChanges> {
  const byName = new Map(table.schema.columns.map((c, i) => [c.name, table.writers[i] as ColumnWriter]));
  // the row image: the columns the table has now (a raw column it no longer has, dropped or
  // kept aside when retyped, stays NULL); they have the table's types (syncRawTable)
  const image = raw.columns.flatMap((c, i) => {
    const writer = byName.get(c.name);
    return writer
      ? [{ name: c.name, type: c.type, duck: raw.types[RAW_META.length + i] as DuckDBType, writer }]
      : [];
  });
  const version = events[0]?.schemaVersion;
  const images = events.map(imageOf);
  // a transaction's changes share their commit time and xid: converted once each
  let lastTime: PgTimestampTz | null = null;
  let lastTimeValue: DuckDBValue = null;
  let lastXid = -1;
  let lastXidValue = 0n;
  const metaTypes = raw.types.slice(0, RAW_META.length);
  // the varying metadata; a column no change of the batch needs (no old image, no unchanged
  // column, one schema version: the common batch) is not staged, its value is given in SQL
  const varying: StagedMeta[] = [
    { name: '_i', type: INTEGER, value: (_, r) => r },
    { name: '_op', type: UTINYINT, value: (e) => OP_CODE[e.op] },
    { name: '_lsn', type: metaTypes[1] as DuckDBType, value: (e) => e.position.commitLsn },
    events.every((e) => e.position.ordinal <= INT32_MAX)
      ? { name: '_ordinal', type: INTEGER, value: (e) => e.position.ordinal }
      : { name: '_ordinal', type: metaTypes[2] as DuckDBType, value: (e) => BigInt(e.position.ordinal) },
    {
      name: '_xid',
      type: metaTypes[3] as DuckDBType,
      value: (e) => {
        if (e.xid !== lastXid) {
          lastXid = e.xid;
          lastXidValue = BigInt(e.xid);
        }
        return lastXidValue;
      },
    },
    {
      name: '_commit_time',
      type: metaTypes[4] as DuckDBType,
      value: (e) => {
        if (e.commitTime !== lastTime) {
          lastTime = e.commitTime;
          lastTimeValue = new DuckDBTimestampTZValue(e.commitTime.micros);
        }
        return lastTimeValue;
      },
    },
  ];
  const unchanged = events.some((e) => e.unchanged.length > 0);
  if (unchanged) {
    varying.push({
      name: '_unchanged',
      type: metaTypes[8] as DuckDBType,
      value: (e) =>
        e.unchanged.length === 0
          ? NO_COLUMNS
          : listValue(e.unchanged.filter((u) => !(e.row && Object.hasOwn(e.row, u)))),
    });
  }
  const before = events.some((e) => e.op === 'update' && e.before);
  if (before) {
    varying.push({
      name: '_before',
      type: VARCHAR,
      value: (e) => (e.op === 'update' && e.before ? JSON.stringify(rowToJson(e.before)) : null),
    });
  }
  const oneVersion = events.every((e) => e.schemaVersion === version);
  if (!oneVersion) varying.push({ name: '_version', type: VARCHAR, value: (e) => e.schemaVersion });
  await db.run(
    `CREATE OR REPLACE TEMP TABLE ${q(RAW_STAGE)} (${[
      ...varying.map((m) => `${q(m.name)} ${m.type.toString()}`),
      ...image.map((c, i) => `${q(`c${i}`)} ${c.type}`),
    ].join(', ')})`,
  );
  try {
    const types: DuckDBType[] = [...varying.map((m) => m.type), ...image.map((c) => c.duck)];
    const first = varying.length;
    await db.appendRows(
      { schema: 'main', table: RAW_STAGE, catalog: 'temp' },
      types,
      events.length,
      (r, c) => {
        if (c >= first) {
          const row = images[r];
          const column = image[c - first];
          if (!row || !column) return null;
          const value = row[column.name];
          return value === undefined || value === null ? null : column.writer.toDuck(value);
        }
        return (varying[c] as StagedMeta).value(events[r] as ChangeEvent, r);
      },
    );
  } catch (error) {
    await db.run(`DROP TABLE IF EXISTS temp.main.${q(RAW_STAGE)}`);
    throw error;
  }
  const stage = `temp.main.${q(RAW_STAGE)}`;
  const indexes = new Map<Row, number>();
  for (const [r, event] of events.entries())
    if ((event.op === 'insert' || event.op === 'update') && event.row) indexes.set(event.row, r);
  const stagedColumn = new Map(image.map((c, i) => [c.name, { name: q(`c${i}`), type: c.duck }]));
  return {
    images: {
      sql: stage,
      index: q('_i'),
      lsn: q('_lsn'),
      indexOf: (row) => indexes.get(row),
      columnOf: (column, type) => {
        const found = stagedColumn.get(column);
        return found && found.type.toString() === type.toString() && found.type.alias === type.alias
          ? found.name
          : undefined;
      },
    },
    insert: async () => {
      await db.run(
        `INSERT INTO ${raw.rows} (${[...RAW_META.map(([n]) => q(n)), ...image.map((c) => q(c.name))].join(', ')})
          SELECT [${OPS.map((o) => `'${o}'`).join(', ')}][_op], _lsn, _ordinal, _xid, _commit_time,
            $1::TIMESTAMPTZ, $2, ${oneVersion ? '$3' : 'coalesce(_version, $3)'},
            ${unchanged ? '_unchanged' : '[]::VARCHAR[]'}, ${before ? '_before' : 'NULL'}, $4::UBIGINT
            ${image.map((_, i) => `, ${q(`c${i}`)}`).join('')}
          FROM ${stage}`,
        [
          new Date(Number(batch.ingestedAt / 1000n)).toISOString(),
          batch.source,
          version ?? table.schema.version,
          batch.batch,
        ],
      );
    },
    drop: () => db.run(`DROP TABLE IF EXISTS ${stage}`),
  };
}

const NO_COLUMNS = listValue([]);

function imageOf(event: ChangeEvent): Row | null {
  switch (event.op) {
    case 'insert':
    case 'update':
      return event.row;
    case 'delete':
      return event.before ?? event.pk;
    case 'truncate':
      return null;
  }
}

/** What a snapshot's rows are recorded with. */
export interface SnapshotOrigin {
  readonly lsn: bigint;
  readonly time: Date;
  readonly version: string;
}

/**
 * Appends rows a snapshot wrote, selected by `select` (a `SELECT <table's columns> FROM …`
 * query whose columns are the table's current columns, in order), as `snapshot` rows: to the
 * copied rows, with what they share recorded once. Returns how many.
 */
export async function appendSnapshotRows(
  db: Db,
  raw: RawTable,
  table: TableState,
  select: string,
  params: DuckDBValue[],
  origin: SnapshotOrigin,
  batch: RawBatch,
): Promise<number> {
  if (await isEmpty(db, select, params)) return 0; // see isEmpty
  const shared = [origin.time.toISOString(), batch.source, origin.version];
  const known = await db.rows(
    `SELECT commit_time = $4::TIMESTAMPTZ AND source IS NOT DISTINCT FROM $5 AND schema_version = $6
      FROM ${COPIES_META} WHERE raw_name = $1 AND batch = $2::UBIGINT AND lsn = $3::UBIGINT`,
    [raw.name, batch.batch, origin.lsn, ...shared],
  );
  if (known.length === 0) {
    await db.run(
      `INSERT INTO ${COPIES_META} VALUES ($1, $2::UBIGINT, $3::UBIGINT, $4::TIMESTAMPTZ, now(), $5, $6)`,
      [raw.name, batch.batch, origin.lsn, ...shared],
    );
  } else if (known[0]?.[0] !== true) {
    throw new TributaryError(
      'INTERNAL',
      `${displayName(table.schema.table)}: two snapshot writes at ${origin.lsn} in raw batch ${batch.batch} differ in time or schema version`,
    );
  }
  const columns = table.schema.columns.map((c) => q(c.name));
  const n = params.length;
  const result = await db.read(
    `INSERT INTO ${raw.copies} (_tributary_batch, _tributary_lsn, ${columns.join(', ')})
       SELECT $${n + 1}::UBIGINT, $${n + 2}::UBIGINT, * FROM (${select})`,
    [...params, batch.batch, origin.lsn],
  );
  return Number(result.rowsChanged);
}

/** Removes the shared metadata of copied rows none of which is left (retention pruned them). */
export async function forgetCopies(db: Db, raw: RawTable): Promise<void> {
  await db.run(
    `DELETE FROM ${COPIES_META} AS m WHERE m.raw_name = $1
      AND NOT EXISTS (SELECT 1 FROM ${raw.copies} AS c WHERE c._tributary_batch = m.batch AND c._tributary_lsn = m.lsn)`,
    [raw.name],
  );
}

/**
 * Records rows a snapshot write keeps (snapshot-store.ts): `select` yields the table's current
 * columns in order, with `params` bound. Returns how many rows it recorded.
 */
export interface SnapshotRaw {
  record(select: string, params: DuckDBValue[]): Promise<number>;
  /**
   * What `record` recorded in this transaction, as a `SELECT` of the table's columns in order,
   * its parameters numbered from `$<first>`.
   */
  recorded(first: number): { sql: string; params: DuckDBValue[] };
}

/** The `SnapshotRaw` of a snapshot write of `table` at `origin`, in `batch`. */
export function snapshotRaw(
  db: Db,
  raw: RawTable,
  table: TableState,
  origin: SnapshotOrigin,
  batch: RawBatch,
): SnapshotRaw {
  return {
    record: (select, params) => appendSnapshotRows(db, raw, table, select, params, origin, batch),
    recorded: (first) => ({
      sql: `SELECT ${table.schema.columns.map((c) => q(c.name)).join(', ')} FROM ${raw.copies}
        WHERE _tributary_batch = $${first}::UBIGINT AND _tributary_lsn = $${first + 1}::UBIGINT`,
      params: [batch.batch, origin.lsn],
    }),
  };
}

/**
 * A table emptied by Tributary itself (a first run's copy started over at a new snapshot, when
 * the stream has not written the table yet): recorded as a truncate just before the new
 * copy's rows, `(lsn, -2)`, at the time of the table's latest raw row.
 */
export async function appendReset(
  db: Db,
  raw: RawTable,
  lsn: bigint,
  version: string,
  batch: RawBatch,
): Promise<void> {
  await db.run(
    `INSERT INTO ${raw.rows} (${RAW_META.map(([name]) => q(name)).join(', ')})
       SELECT 'truncate', $1::UBIGINT, -2, NULL, coalesce(max(_tributary_commit_time), now()), now(), $2, $3,
         []::VARCHAR[], NULL, $4::UBIGINT FROM ${raw.sql}`,
    [lsn, batch.source ?? 'snapshot restart', version, batch.batch],
  );
}
