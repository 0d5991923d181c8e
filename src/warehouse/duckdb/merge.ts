/**
 * Applies one keyed table's folded changes (fold.ts) with DuckDB's bulk paths, inside the
 * caller's transaction: an optional DELETE of every row (truncate), then the deleted keys
 * through a staging table (`DELETE ... USING`), then the upserts, grouped by their set of
 * unchanged columns and appended to a staging table: full rows with `INSERT ... ON CONFLICT DO
 * UPDATE`, partial rows with `UPDATE ... FROM` over only the columns that were sent, after
 * checking that every one of those rows is stored. A table without a primary key is a
 * multiset, merged by merge-counts.ts instead.
 */
import { UBIGINT } from '@duckdb/node-api';
import { TributaryError } from '../../core/errors.js';
import { displayName, quoteIdentifier as q } from '../../core/table-ref.js';
import { describeKey, type FoldedTable, type NetDelete, type NetUpsert } from '../fold.js';
import type { Db } from './db.js';
import { clearParks, type MarksTable, markDeletes, parkPartial, resolveWhole } from './snapshot-store.js';
import { LSN_COLUMN, SYNCED_COLUMN, type TableState } from './tables.js';
import type { ColumnWriter } from './value-writer.js';

const STAGE = '_tributary_stage';
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
): Promise<void> {
  if (folded.truncated) {
    await db.run(`DELETE FROM ${table.sql}`);
    if (marks) await clearParks(db, marks);
  }
  const deletes: NetDelete[] = [];
  const groups = new Map<string, NetUpsert[]>();
  for (const change of folded.changes.values()) {
    if (change.kind === 'delete') {
      deletes.push(change);
      continue;
    }
    // with an active job, a moved row whose unchanged columns are not at hand is parked (below)
    if (change.copyFrom && !marks) {
      throw new TributaryError(
        'SINK',
        `${displayName(table.schema.table)}: key ${describeKey(change.copyFrom)} moved to a new key keeping unchanged TOASTed column(s) ${change.unchanged.join(', ')}, which the warehouse cannot carry over yet`,
        { hint: 'set REPLICA IDENTITY FULL on the table, or backfill it' },
      );
    }
    const group = [...change.unchanged].sort().join('\u0000');
    const list = groups.get(group) ?? [];
    if (list.length === 0) groups.set(group, list);
    list.push(change);
  }
  if (deletes.length > 0) {
    await applyDeletes(db, table, deletes);
    if (marks) await markDeletes(db, table, marks, deletes);
  }
  for (const list of groups.values()) await applyUpserts(db, table, list, marks);
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
): Promise<void> {
  const unchanged = new Set(rows[0]?.unchanged ?? []);
  const columns = table.schema.columns.map((c) => c.name);
  const all = [...columns, LSN_COLUMN];
  await withStage(db, all.map(q).join(', '), table, async () => {
    await fill(db, table, rows);
    if (unchanged.size === 0) {
      const list = all.map(q).join(', ');
      const keys = new Set(table.keyColumns);
      const set = [...columns.filter((c) => !keys.has(c)), LSN_COLUMN, SYNCED_COLUMN].map(
        (c) => `${q(c)} = excluded.${q(c)}`,
      );
      await db.run(
        `INSERT INTO ${table.sql} (${list}, ${q(SYNCED_COLUMN)}) SELECT ${list}, now() FROM ${STAGE_SQL} ON CONFLICT (${table.keyColumns.map(q).join(', ')}) DO UPDATE SET ${set.join(', ')}`,
      );
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

/** Appends the upserts' rows (every source column, then the commit LSN) to the staging table. */
async function fill(db: Db, table: TableState, rows: readonly NetUpsert[]): Promise<void> {
  const names = table.schema.columns.map((c) => c.name);
  const writers = table.writers;
  const lsnColumn = names.length;
  await db.appendRows(STAGE_TARGET, [...writers.map((w) => w.type), UBIGINT], rows.length, (r, c) => {
    const upsert = rows[r] as NetUpsert;
    if (c === lsnColumn) return upsert.position.commitLsn;
    const value = upsert.row[names[c] as string] ?? null;
    return value === null ? null : (writers[c] as ColumnWriter).toDuck(value);
  });
}

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
