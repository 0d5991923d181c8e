/**
 * Applies one keyed table's folded changes (fold.ts) with DuckDB's bulk paths, inside the
 * caller's transaction: an optional DELETE of every row (truncate), the moved rows, then the deleted keys
 * through a staging table (`DELETE ... USING`), then the upserts, grouped by their set of
 * unchanged columns and appended to a staging table: full rows with `INSERT ... ON CONFLICT DO
 * UPDATE`, partial rows with `UPDATE ... FROM` over only the columns that were sent, after
 * checking that every one of those rows is stored. Rows moved to a new key with unchanged
 * columns are completed from the old key's stored row first (before the deletes remove it). A
 * table without a primary key is a multiset, merged by merge-counts.ts instead.
 */
import { type DuckDBType, INTEGER, UBIGINT } from '@duckdb/node-api';
import type { Row } from '../../core/change-event.js';
import { TributaryError } from '../../core/errors.js';
import { displayName, quoteIdentifier as q } from '../../core/table-ref.js';
import { describeKey, type FoldedTable, type NetDelete, type NetUpsert } from '../fold.js';
import type { Db } from './db.js';
import { clearParks, type MarksTable, markDeletes, parkPartial, resolveWhole } from './snapshot-store.js';
import { LSN_COLUMN, SYNCED_COLUMN, type TableState } from './tables.js';
import type { ColumnWriter } from './value-writer.js';

const STAGE = '_tributary_stage';

/**
 * The batch's events already staged in DuckDB (the raw zone's stage, raw-zone.ts stageChanges):
 * an upsert whose row is an event's row as it came is taken from there in SQL instead of being
 * converted and appended from JavaScript a second time (the main thread's largest cost with the
 * raw zone on: bench/landing).
 */
export interface StagedImages {
  /** The staged table (`temp.main."…"`). */
  readonly sql: string;
  /** The stage's column holding each row's index (INTEGER). */
  readonly index: string;
  /** The stage's column holding each row's commit LSN (UBIGINT). */
  readonly lsn: string;
  /** Where `row` (the very object an event carried) is staged, or undefined. */
  indexOf(row: Row): number | undefined;
  /** The stage's column holding `column` with DuckDB type `type`, or undefined. */
  columnOf(column: string, type: DuckDBType): string | undefined;
}
export const STAGE_SQL = `temp.main.${q(STAGE)}`;
export const STAGE_TARGET = { schema: 'main', table: STAGE, catalog: 'temp' } as const;

/**
 * `table` has a primary key (`table.hasPrimaryKey`). With `marks` (the table has an active
 * snapshot job, ../snapshot.ts) deleted keys are marked, and an update whose unchanged columns
 * the warehouse cannot fill (it does not hold the row yet) is parked for the job to re-read
 * instead of failing.
 */
export async function mergeTable(
  db: Db,
  table: TableState,
  folded: FoldedTable,
  marks: MarksTable | null = null,
  staged: StagedImages | null = null,
): Promise<void> {
  if (folded.truncated) {
    await db.run(`DELETE FROM ${table.sql}`);
    if (marks) await clearParks(db, marks);
  }
  const deletes: NetDelete[] = [];
  const groups = new Map<string, NetUpsert[]>();
  const moves = new Map<string, NetUpsert[]>();
  for (const change of folded.changes.values()) {
    if (change.kind === 'delete') {
      deletes.push(change);
      continue;
    }
    const group = [...change.unchanged].sort().join('\u0000');
    // a row moved to a new key keeping unchanged columns: they are copied from the old key's
    // stored row, before the deletes remove it (with an active job it is parked instead, below)
    if (change.copyFrom && !marks) {
      const list = moves.get(group) ?? [];
      if (list.length === 0) moves.set(group, list);
      list.push(change);
      continue;
    }
    const list = groups.get(group) ?? [];
    if (list.length === 0) groups.set(group, list);
    list.push(change);
  }
  if (moves.size > 0) await applyMoves(db, table, [...moves.values()]);
  if (deletes.length > 0) {
    await applyDeletes(db, table, deletes);
    if (marks) await markDeletes(db, table, marks, deletes);
  }
  for (const list of groups.values()) await applyUpserts(db, table, list, marks, staged);
}

const keyMatch = (table: TableState, stage: string): string =>
  table.keyColumns.map((c) => `${table.sql}.${q(c)} IS NOT DISTINCT FROM ${stage}.${q(c)}`).join(' AND ');

/** Runs `body` with a fresh temp staging table shaped like `SELECT columnsSql FROM table`. */
export async function withStage(
  db: Db,
  columnsSql: string,
  table: TableState,
  body: () => Promise<void>,
): Promise<void> {
  await db.run(`CREATE OR REPLACE TEMP TABLE ${q(STAGE)} AS SELECT ${columnsSql} FROM ${table.sql} LIMIT 0`);
  try {
    await body();
  } finally {
    await db.run(`DROP TABLE IF EXISTS ${STAGE_SQL}`);
  }
}

async function applyDeletes(db: Db, table: TableState, deletes: readonly NetDelete[]): Promise<void> {
  const index = new Map(table.schema.columns.map((c, i) => [c.name, i]));
  const writers = table.keyColumns.map((c) => table.writers[index.get(c) ?? -1] as ColumnWriter);
  const keys = table.keyColumns;
  await withStage(db, keys.map(q).join(', '), table, async () => {
    await db.appendRows(
      STAGE_TARGET,
      writers.map((w) => w.type),
      deletes.length,
      (r, c) => {
        const value = (deletes[r] as NetDelete).key[keys[c] as string] ?? null;
        return value === null ? null : (writers[c] as ColumnWriter).toDuck(value);
      },
    );
    await db.run(`DELETE FROM ${table.sql} USING ${STAGE_SQL} WHERE ${keyMatch(table, STAGE_SQL)}`);
  });
}

async function applyUpserts(
  db: Db,
  table: TableState,
  rows: readonly NetUpsert[],
  marks: MarksTable | null,
  staged: StagedImages | null,
): Promise<void> {
  const unchanged = new Set(rows[0]?.unchanged ?? []);
  const columns = table.schema.columns.map((c) => c.name);
  const all = [...columns, LSN_COLUMN];
  const found = staged ? pickStaged(table, rows, staged) : null;
  if (unchanged.size === 0 && !marks && found && found.rest.length === 0) {
    // whole rows, every one an event's row as it came (the common group): upserted from the
    // raw zone's stage itself, with no staging table between
    await withPicks(db, found.picked, (pick) => upsertWhole(db, table, `(${pick}) AS s`));
    return;
  }
  await withStage(db, all.map(q).join(', '), table, async () => {
    await fill(db, table, rows, found);
    if (unchanged.size === 0) {
      await upsertWhole(db, table, STAGE_SQL);
      if (marks) await resolveWhole(db, table, marks);
      return;
    }
    if (marks) await parkPartial(db, table, marks, [...unchanged]);
    else await ensureStored(db, table, [...unchanged]);
    const set = [...columns.filter((c) => !unchanged.has(c)), LSN_COLUMN].map(
      (c) => `${q(c)} = ${STAGE_SQL}.${q(c)}`,
    );
    set.push(`${q(SYNCED_COLUMN)} = now()`);
    await db.run(
      `UPDATE ${table.sql} SET ${set.join(', ')} FROM ${STAGE_SQL} WHERE ${keyMatch(table, STAGE_SQL)}`,
    );
  });
}

/**
 * Rows moved to a new key whose unchanged columns stay in the stored row of the old key (each
 * group: one set of unchanged columns). Every group's complete rows are read first, into temp
 * tables, and only then written: a batch can swap keys (A→B, B→A), and each must copy from the
 * rows as they were before the batch. A missing old row fails the batch (its values are unknown).
 */
async function applyMoves(
  db: Db,
  table: TableState,
  groups: readonly (readonly NetUpsert[])[],
): Promise<void> {
  const columns = table.schema.columns.map((c) => c.name);
  const keys = table.keyColumns;
  const index = new Map(columns.map((c, i) => [c, i]));
  const keyWriters = keys.map((c) => table.writers[index.get(c) ?? -1] as ColumnWriter);
  const from = (i: number) => q(`_tributary_from_${i}`);
  const moved = groups.map((_, n) => `temp.main.${q(`_tributary_moved_${n}`)}`);
  try {
    for (const [n, rows] of groups.entries()) {
      const unchanged = new Set(rows[0]?.unchanged ?? []);
      const stageColumns = [...columns.map(q), q(LSN_COLUMN), ...keys.map((k, i) => `${q(k)} AS ${from(i)}`)];
      await withStage(db, stageColumns.join(', '), table, async () => {
        await db.appendRows(
          STAGE_TARGET,
          [...table.writers.map((w) => w.type), UBIGINT, ...keyWriters.map((w) => w.type)],
          rows.length,
          (r, c) => {
            const move = rows[r] as NetUpsert;
            if (c < columns.length) {
              const value = move.row[columns[c] as string] ?? null;
              return value === null ? null : (table.writers[c] as ColumnWriter).toDuck(value);
            }
            if (c === columns.length) return move.position.commitLsn;
            const k = c - columns.length - 1;
            const value = move.copyFrom?.[keys[k] as string] ?? null;
            return value === null ? null : (keyWriters[k] as ColumnWriter).toDuck(value);
          },
        );
        const pick = columns.map((c) => `${unchanged.has(c) ? 'old' : 's'}.${q(c)} AS ${q(c)}`);
        const match = keys.map((k, i) => `old.${q(k)} IS NOT DISTINCT FROM s.${from(i)}`).join(' AND ');
        await db.run(
          `CREATE OR REPLACE TEMP TABLE ${q(`_tributary_moved_${n}`)} AS
             SELECT ${pick.join(', ')}, s.${q(LSN_COLUMN)} AS ${q(LSN_COLUMN)}
               FROM ${STAGE_SQL} AS s JOIN ${table.sql} AS old ON ${match}`,
        );
        const [[found] = [0]] = await db.rows(`SELECT count(*) FROM ${moved[n]}`);
        if (Number(found) !== rows.length) {
          const missing = rows.length - Number(found);
          throw new TributaryError(
            'SINK',
            `${displayName(table.schema.table)}: ${missing} row(s) moved to a new key (one from key ${describeKey(rows[0]?.copyFrom ?? {})}) left TOASTed column(s) ${[...unchanged].join(', ')} unchanged, but the warehouse does not hold the old row, so their values are unknown`,
            { hint: `backfill ${displayName(table.schema.table)} to reload its rows` },
          );
        }
      });
    }
    for (const source of moved) await upsertWhole(db, table, source);
  } finally {
    for (const source of moved) await db.run(`DROP TABLE IF EXISTS ${source}`).catch(() => {});
  }
}

/** Inserts or replaces whole rows from `source` (every source column, then the commit LSN). */
async function upsertWhole(db: Db, table: TableState, source: string): Promise<void> {
  const columns = table.schema.columns.map((c) => c.name);
  const list = [...columns, LSN_COLUMN].map(q).join(', ');
  const keys = new Set(table.keyColumns);
  const set = [...columns.filter((c) => !keys.has(c)), LSN_COLUMN, SYNCED_COLUMN].map(
    (c) => `${q(c)} = excluded.${q(c)}`,
  );
  await db.run(
    `INSERT INTO ${table.sql} (${list}, ${q(SYNCED_COLUMN)}) SELECT ${list}, now() FROM ${source} ON CONFLICT (${table.keyColumns.map(q).join(', ')}) DO UPDATE SET ${set.join(', ')}`,
  );
}

/**
 * Fills the staging table with the upserts' rows (every source column, then the commit LSN):
 * those `found` staged as they came (`pickStaged`) in SQL; the others (rows merged from two
 * changes of a key, or every row without a stage) converted and appended from JavaScript.
 */
async function fill(
  db: Db,
  table: TableState,
  rows: readonly NetUpsert[],
  found: { picked: Picked; rest: readonly NetUpsert[] } | null,
): Promise<void> {
  const names = table.schema.columns.map((c) => c.name);
  const writers = table.writers;
  const rest = found ? found.rest : rows;
  const lsnColumn = names.length;
  if (rest.length > 0) {
    await db.appendRows(STAGE_TARGET, [...writers.map((w) => w.type), UBIGINT], rest.length, (r, c) => {
      const upsert = rest[r] as NetUpsert;
      if (c === lsnColumn) return upsert.position.commitLsn;
      const value = upsert.row[names[c] as string] ?? null;
      return value === null ? null : (writers[c] as ColumnWriter).toDuck(value);
    });
  }
  if (!found || found.picked.rows.length === 0) return;
  await withPicks(db, found.picked, async (pick) => {
    await db.run(`INSERT INTO ${STAGE_SQL} (${[...names, LSN_COLUMN].map(q).join(', ')}) ${pick}`);
  });
}

/** Upserts whose rows are staged (`picked`), as a query of the table's columns and the LSN. */
interface Picked {
  readonly staged: StagedImages;
  /** The staged rows' indexes. */
  readonly rows: readonly number[];
  /** Each of the table's columns in the stage, with the column's name. */
  readonly sources: readonly { readonly source: string; readonly name: string }[];
}

/**
 * Which of `rows` are staged as they came (`picked`) and which are not (`rest`: a key's row
 * merged from two changes); null when the stage lacks a column of the table's type.
 */
function pickStaged(
  table: TableState,
  rows: readonly NetUpsert[],
  staged: StagedImages,
): { picked: Picked; rest: NetUpsert[] } | null {
  const sources: { source: string; name: string }[] = [];
  for (const [i, column] of table.schema.columns.entries()) {
    const source = staged.columnOf(column.name, (table.writers[i] as ColumnWriter).type);
    if (source === undefined) return null;
    sources.push({ source, name: column.name });
  }
  const picked: number[] = [];
  const rest: NetUpsert[] = [];
  for (const upsert of rows) {
    const index = staged.indexOf(upsert.row);
    if (index === undefined) rest.push(upsert);
    else picked.push(index);
  }
  return { picked: { staged, rows: picked, sources }, rest };
}

/**
 * Runs `body` with the query selecting the picked rows from the stage, in their order (the
 * table's columns by name, then the LSN): rows reaching a keyed table in hash order made the
 * upsert slower than appending them from JavaScript.
 */
async function withPicks(db: Db, picked: Picked, body: (pick: string) => Promise<void>): Promise<void> {
  const { staged } = picked;
  await db.run(`CREATE OR REPLACE TEMP TABLE ${q(PICK)} (i INTEGER)`);
  try {
    await db.appendRows(PICK_TARGET, [INTEGER], picked.rows.length, (r) => picked.rows[r] as number);
    const columns = picked.sources.map(({ source, name }) => `s.${source} AS ${q(name)}`);
    await body(
      `SELECT ${columns.join(', ')}, s.${staged.lsn} AS ${q(LSN_COLUMN)}
        FROM ${staged.sql} AS s SEMI JOIN temp.main.${q(PICK)} AS p ON s.${staged.index} = p.i ORDER BY s.${staged.index}`,
    );
  } finally {
    await db.run(`DROP TABLE IF EXISTS temp.main.${q(PICK)}`);
  }
}

const PICK = '_tributary_pick';
const PICK_TARGET = { schema: 'main', table: PICK, catalog: 'temp' } as const;

/** Partial rows need their stored row: one that is missing must not get nulls silently. */
async function ensureStored(db: Db, table: TableState, unchanged: readonly string[]): Promise<void> {
  const keys = table.keyColumns.map((c) => `${STAGE_SQL}.${q(c)}`).join(', ');
  const missing = await db.rows(
    `SELECT ${keys} FROM ${STAGE_SQL} WHERE NOT EXISTS (SELECT 1 FROM ${table.sql} WHERE ${keyMatch(table, STAGE_SQL)}) LIMIT 1`,
  );
  const first = missing[0];
  if (!first) return;
  const key = table.keyColumns.map((c, i) => `${c}=${String(first[i])}`).join(', ');
  throw new TributaryError(
    'SINK',
    `${displayName(table.schema.table)}: an update of key (${key}) left TOASTed column(s) ${unchanged.join(', ')} unchanged, but the warehouse does not hold that row, so their values are unknown`,
    { hint: `backfill ${displayName(table.schema.table)} to reload its rows` },
  );
}
