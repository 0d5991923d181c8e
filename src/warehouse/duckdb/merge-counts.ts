/**
 * Applies one keyless table's folded row counts (fold-counts.ts) as a multiset, inside the
 * caller's transaction, in set-based statements: an optional DELETE of every row (truncate),
 * then every counted row with its count appended to a staging table, then
 *
 * - for negative counts, a check that the warehouse holds at least that many copies of each
 *   row (fewer means it no longer matches the source: an error naming the table and the row,
 *   never a silent skip), and one DELETE of exactly that many copies, chosen by `rowid` with
 *   `row_number()` over the stored rows that match each staged row;
 * - for positive counts, one INSERT of that many copies of each row (a join with `range`).
 *
 * Rows match when every column IS NOT DISTINCT FROM the staged one, exactly as the fold counts
 * rows as one (fold-counts.ts), so each stored row answers to at most one staged row: NaN
 * matches NaN and -0 matches 0 (DuckDB's storage does not keep them apart), and INTERVAL
 * columns, and lists of intervals, compare by their text, since DuckDB calls `1 month` equal
 * to `30 days`.
 */
import { BIGINT, type DuckDBListType, type DuckDBType, DuckDBTypeId, UBIGINT } from '@duckdb/node-api';
import { TributaryError } from '../../core/errors.js';
import { displayName, quoteIdentifier as q } from '../../core/table-ref.js';
import type { FoldedCounts, RowCount } from '../fold-counts.js';
import type { Db } from './db.js';
import { STAGE_SQL, STAGE_TARGET, withStage } from './merge.js';
import { LSN_COLUMN, SYNCED_COLUMN, type TableState } from './tables.js';
import type { ColumnWriter } from './value-writer.js';

const COUNT = q('_tributary_count');

export async function mergeCounts(db: Db, table: TableState, folded: FoldedCounts): Promise<void> {
  if (folded.truncated) await db.run(`DELETE FROM ${table.sql}`);
  if (folded.rows.size === 0) return;
  const rows = [...folded.rows.values()];
  const columns = table.schema.columns.map((c) => q(c.name));
  await withStage(db, [...columns, q(LSN_COLUMN), `0::BIGINT AS ${COUNT}`].join(', '), table, async () => {
    await fill(db, table, rows);
    if (rows.some((r) => r.count < 0)) {
      await ensureHeld(db, table);
      await db.run(
        `DELETE FROM ${table.sql} WHERE rowid IN (
           SELECT w.rowid FROM ${table.sql} AS w JOIN ${STAGE_SQL} AS s ON ${sameRow(table, 'w', 's')}
           WHERE s.${COUNT} < 0
           QUALIFY row_number() OVER (PARTITION BY s.rowid ORDER BY w.rowid) <= -s.${COUNT})`,
      );
    }
    if (rows.some((r) => r.count > 0)) {
      const list = [...columns, q(LSN_COLUMN)];
      await db.run(
        `INSERT INTO ${table.sql} (${[...list, q(SYNCED_COLUMN)].join(', ')})
         SELECT ${list.map((c) => `s.${c}`).join(', ')}, now()
         FROM ${STAGE_SQL} AS s, range(s.${COUNT}) AS copies(i) WHERE s.${COUNT} > 0`,
      );
    }
  });
}

/** Appends each counted row (every source column, the commit LSN, the count) to the staging table. */
async function fill(db: Db, table: TableState, rows: readonly RowCount[]): Promise<void> {
  const names = table.schema.columns.map((c) => c.name);
  const writers = table.writers;
  const lsnColumn = names.length;
  const types = [...writers.map((w) => w.type), UBIGINT, BIGINT];
  await db.appendRows(STAGE_TARGET, types, rows.length, (r, c) => {
    const counted = rows[r] as RowCount;
    if (c === lsnColumn) return counted.position.commitLsn;
    if (c > lsnColumn) return BigInt(counted.count);
    const value = counted.row[names[c] as string] ?? null;
    return value === null ? null : (writers[c] as ColumnWriter).toDuck(value);
  });
}

/** Deleting copies the warehouse does not hold would leave it silently different from the source. */
async function ensureHeld(db: Db, table: TableState): Promise<void> {
  const names = table.schema.columns.map((c) => c.name);
  const columns = names.map((c) => `s.${q(c)}`);
  const short = await db.rows(
    `SELECT * FROM (
       SELECT ${[...columns, `-s.${COUNT} AS wanted`].join(', ')},
         (SELECT count(*) FROM ${table.sql} AS w WHERE ${sameRow(table, 'w', 's')}) AS held
       FROM ${STAGE_SQL} AS s WHERE s.${COUNT} < 0)
     WHERE held < wanted LIMIT 1`,
  );
  const first = short[0];
  if (!first) return;
  const row = names.map((c, i) => `${c}=${String(first[i])}`).join(', ');
  throw new TributaryError(
    'SINK',
    `${displayName(table.schema.table)}: the source deleted or updated ${String(first[names.length])} cop(ies) of the row (${row}), but the warehouse holds ${String(first[names.length + 1])}: it no longer matches the source`,
    { hint: `backfill ${displayName(table.schema.table)} to reload its rows` },
  );
}

/** Every column of `a` IS NOT DISTINCT FROM the same column of `b`. */
function sameRow(table: TableState, a: string, b: string): string {
  const conditions = table.schema.columns.map((c, i) => {
    const exact = byText((table.writers[i] as ColumnWriter).type);
    const side = (alias: string) =>
      exact ? `CAST(${alias}.${q(c.name)} AS VARCHAR)` : `${alias}.${q(c.name)}`;
    return `${side(a)} IS NOT DISTINCT FROM ${side(b)}`;
  });
  return conditions.length > 0 ? conditions.join(' AND ') : 'true';
}

/** Types whose DuckDB equality is looser than their value (`1 month` = `30 days`); their text is exact. */
function byText(type: DuckDBType): boolean {
  if (type.typeId === DuckDBTypeId.INTERVAL) return true;
  return type.typeId === DuckDBTypeId.LIST && byText((type as DuckDBListType).valueType);
}
