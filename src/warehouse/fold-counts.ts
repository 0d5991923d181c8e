/**
 * Folds one keyless table's changes of a batch into a signed count per whole row. Pure: no I/O.
 *
 * A table without a primary key (REPLICA IDENTITY FULL, or inserts only) is a multiset: Postgres
 * may hold the same row twice, and deleting or updating one copy leaves the other. Such a table
 * has no key to fold by, so each change counts whole rows instead:
 *
 * - an insert is +1 of its row, a delete −1 of its old row (`before`, else `pk`: under FULL both
 *   hold every column), an update −1 of the old row and +1 of the new one;
 * - a truncate empties the table at its place: earlier counts are dropped, `truncated` is set;
 * - counts add up in any order between truncates, and a row whose count nets to zero vanishes.
 *
 * Two rows count as one exactly when the merge (merge-counts.ts) matches them, so that each
 * stored row answers to one counted row: by type and value, NaN equal to NaN, -0 equal to 0 (as
 * in DuckDB, whose storage does not keep them apart), intervals by months, days and
 * microseconds, json by its text. An old row that lacks a column cannot say which copy it
 * was: that is an error naming the table and the columns, never a guess.
 */
import type { ChangeEvent, Row } from '../core/change-event.js';
import { TributaryError } from '../core/errors.js';
import { formatPosition, type Position } from '../core/position.js';
import { displayName } from '../core/table-ref.js';
import type { Value } from '../core/values.js';

export interface RowCount {
  /** Every column's value. */
  readonly row: Row;
  /** Copies to add (> 0) or to remove (< 0); never 0. */
  readonly count: number;
  /** The last change that counted this row (its commit LSN goes on added copies). */
  readonly position: Position;
}

export interface FoldedCounts {
  /** Whether the table is emptied before `rows` apply. */
  readonly truncated: boolean;
  /** Net count per row (keyed by `rowString`), in first-seen order. */
  readonly rows: ReadonlyMap<string, RowCount>;
}

interface Entry {
  row: Row;
  count: number;
  position: Position;
}

/** A string that is equal exactly when the merge matches the rows (see the header). */
export function rowString(row: Row, columns: readonly string[]): string {
  return columns.map((c) => valueString(row[c] ?? null)).join('\u0000');
}

function valueString(value: Value): string {
  if (value === null) return 'n';
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v: Value) => valueString(v)).join(',')}]`;
  if (value instanceof Uint8Array) return `x${Buffer.from(value).toString('hex')}`;
  if (typeof value === 'object') return `${value.constructor.name}:${JSON.stringify(String(value))}`;
  // numbers (String(-0) is '0'), bigints, booleans
  return `${typeof value}:${String(value)}`;
}

/** Folds `events` (one keyless table's changes, in position order); `columns` is every column. */
export function foldCounts(events: readonly ChangeEvent[], columns: readonly string[]): FoldedCounts {
  const rows = new Map<string, Entry>();
  let truncated = false;
  const add = (row: Row, by: number, position: Position): void => {
    const k = rowString(row, columns);
    const entry = rows.get(k);
    if (!entry) {
      rows.set(k, { row, count: by, position });
      return;
    }
    entry.count += by;
    entry.position = position;
    if (entry.count === 0) rows.delete(k);
  };
  for (const event of events) {
    switch (event.op) {
      case 'truncate':
        rows.clear();
        truncated = true;
        break;
      case 'insert':
        add(newRow(event), 1, event.position);
        break;
      case 'delete':
        add(oldRow(event, event.before ?? event.pk, columns), -1, event.position);
        break;
      case 'update':
        add(oldRow(event, event.before, columns), -1, event.position);
        add(newRow(event), 1, event.position);
        break;
    }
  }
  return { truncated, rows };
}

/** The old row of an update or delete: it must hold every column to tell which copy it was. */
function oldRow(event: ChangeEvent, old: Row | null, columns: readonly string[]): Row {
  const missing = old ? columns.filter((c) => !Object.hasOwn(old, c)) : columns;
  if (old && missing.length === 0) return old;
  throw new TributaryError(
    'SINK',
    `${displayName(event.table)}: the ${event.op} at ${formatPosition(event.position)} does not carry the old row's ${missing.join(', ')}, so the warehouse cannot tell which row of a table without a primary key it changed`,
    {
      hint: `set REPLICA IDENTITY FULL on ${displayName(event.table)} (or give it a primary key), then backfill it`,
    },
  );
}

/** The new row; unchanged TOASTed columns are the old row's values (the source fills them under FULL). */
function newRow(event: ChangeEvent): Row {
  const row = event.row ?? Object.create(null);
  const unchanged = event.unchanged.length === 0 ? [] : event.unchanged.filter((c) => !Object.hasOwn(row, c));
  if (unchanged.length === 0) return row;
  const before = event.before;
  if (!before || unchanged.some((c) => !Object.hasOwn(before, c))) {
    throw new TributaryError(
      'SINK',
      `${displayName(event.table)}: the ${event.op} at ${formatPosition(event.position)} keeps unchanged TOASTed column(s) ${unchanged.join(', ')} without the old row's values, so the new row of a table without a primary key is unknown`,
      { hint: `set REPLICA IDENTITY FULL on ${displayName(event.table)}, then backfill it` },
    );
  }
  const filled: Record<string, Value> = Object.assign(Object.create(null), row);
  for (const c of unchanged) filled[c] = before[c] ?? null;
  return filled;
}
