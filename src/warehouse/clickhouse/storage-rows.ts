/**
 * What the planners of a batch's rows (merge.ts for keyed tables, merge-copies.ts for tables
 * without a primary key) share: a storage row as the JSONEachRow object inserted, values
 * encoded through the type seam (type-mapping.ts), and a list of rows passed to ClickHouse as
 * ONE bound String parameter read by `format(JSONEachRow, <structure>, {param:String})` — so
 * values are never spliced into SQL text, whatever they hold. Also a snapshot chunk's rows
 * (`snapshotRows`).
 */
import { createHash } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Row } from '../../core/change-event.js';
import { TributaryError } from '../../core/errors.js';
import type { Value } from '../../core/values.js';
import { quoteName as q } from './connect.js';
import { DELETED_COLUMN, LSN_COLUMN, VERSION_COLUMN } from './layout.js';
import {
  type ChTable,
  COPY_COLUMN,
  COPY_SEQ_COLUMN,
  columnType,
  type DdlContext,
  presenceColumn,
  presenceOf,
  quoteString,
} from './tables.js';
import type { ClickHouseColumnType } from './type-mapping.js';

/** A storage row as a JSONEachRow object. */
export type StorageRow = Record<string, unknown>;
export interface Reader {
  readonly client: ClickHouseClient;
  readonly context: DdlContext;
}

/** The column that numbers the rows of a bound list, to join the answers back. */
export const INDEX = '_tributary_i';

/** JSON for ClickHouse: bigints as their digits. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

export function encode(table: ChTable, column: string, value: Value | undefined): unknown {
  if (value === undefined || value === null) return null;
  return (table.types.get(column) as ClickHouseColumnType).encode(value);
}

export function pickKey(row: Row, key: readonly string[]): Row {
  return Object.fromEntries(key.map((k) => [k, row[k] ?? null]));
}

/**
 * Sets the presence flags of `row` (tables.ts: an array column's flag, 1 when the value is not
 * NULL) by `present`, for every flagged column of `table`.
 */
export function setPresence(
  table: ChTable,
  row: StorageRow,
  present: (column: string) => boolean,
): StorageRow {
  for (const name of presenceOf(table)) row[presenceColumn(name)] = present(name) ? 1 : 0;
  return row;
}

/** `structure` argument of format(): names and storage types (a presence flag's is UInt8). */
export function structure(table: ChTable, columns: readonly string[], withIndex: boolean): string {
  const flags = new Set(presenceOf(table).map(presenceColumn));
  const parts = columns.map((name) => {
    if (flags.has(name)) return `${q(name)} UInt8`;
    const column = table.schema.columns.find((c) => c.name === name);
    if (!column) throw new TributaryError('INTERNAL', `${table.view} has no column ${name}`);
    return `${q(name)} ${columnType(table, column)}`;
  });
  if (withIndex) parts.unshift(`${q(INDEX)} UInt32`);
  return quoteString(parts.join(', '));
}

/**
 * A snapshot chunk's rows as storage rows at `version`, not deleted (the warehouse's
 * insertVersioned); copies of a multiset get identities picked by the chunk's token.
 */
export function snapshotRows(
  table: ChTable,
  rows: readonly Row[],
  version: string,
  dedupToken: string,
): StorageRow[] {
  const lsn = (BigInt(version) >> 64n).toString();
  // copies of a multiset made by one chunk: the chunk's token picks their sequence numbers
  const base = BigInt(`0x${createHash('sha256').update(dedupToken).digest('hex').slice(0, 8)}`) << 32n;
  return rows.map((row, i) => {
    const out: StorageRow = { [LSN_COLUMN]: lsn, [VERSION_COLUMN]: version, [DELETED_COLUMN]: 0 };
    for (const c of table.schema.columns) {
      const value = row[c.name];
      out[c.name] = value === undefined || value === null ? null : encode(table, c.name, value);
    }
    setPresence(table, out, (name) => row[name] !== undefined && row[name] !== null);
    if (table.keyless) {
      out[COPY_COLUMN] = version;
      out[COPY_SEQ_COLUMN] = (base | BigInt(i)).toString();
    }
    return out;
  });
}
