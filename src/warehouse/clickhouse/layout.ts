/**
 * Where Tributary keeps things in a ClickHouse database, and how a position becomes a row version.
 *
 * Everything lives in the one database the warehouse URL names (one privilege to grant):
 * - the analyst's relation for a source table is a VIEW named like the table — `orders` for
 *   `public.orders`, `` `sales.orders` `` for another schema — over the storage table with
 *   `FINAL` and without deleted rows, so `SELECT country, SUM(total) FROM orders GROUP BY
 *   country` is exact as written and never sees a duplicate or a tombstone;
 * - the storage table, `_tributary_rows_<view name>`: a ReplacingMergeTree ordered by the
 *   primary key, versioned by `_tributary_version` (the change's position), with the deleted
 *   flag `_tributary_deleted` (a delete is a tombstone row with a higher version);
 * - Tributary's own state in tables named `_tributary_<what>` (checkpoint, schema versions, jobs).
 *
 * A row's version is its change's position as one UInt128: the commit LSN in the high 64 bits and
 * (ordinal + 1) × 2 in the low 64 — the lowest bit is left for a *repair*, the same row with a
 * snapshot's values in place of placeholders (`repairVersion`, snapshot-store.ts), which must
 * outrank the row it mends and nothing after it. A row copied by a snapshot read at LSN `C` gets
 * version `C << 64` (ordinal part 0): lower than every change committed at or after `C`, higher
 * than every one before. So ReplacingMergeTree keeps, per key, exactly what the stream-then-snapshot rules of
 * warehouse/snapshot.ts want: a change at or after the snapshot beats the snapshot's copy,
 * including a delete's tombstone, whatever order they were inserted in.
 */
import type { Lsn } from '../../core/lsn.js';
import type { Position } from '../../core/position.js';
import type { TableRef } from '../../core/table-ref.js';

const LOW_BITS = 64n;
const LOW_MASK = (1n << LOW_BITS) - 1n;

/**
 * The name analysts query: the table's name for `public`, `schema.name` otherwise — one name per
 * table: a dot or backslash inside a part is escaped with a backslash (and a `public` table whose
 * name holds one is `public.<name>`), so `public."a.b"` (`public.a\.b`) and `a.b` never share a view.
 */
export function viewName(table: TableRef): string {
  const part = (text: string) => text.replace(/\\/g, '\\\\').replace(/\./g, '\\.');
  return table.schema === 'public' && !/[.\\]/.test(table.name)
    ? table.name
    : `${part(table.schema)}.${part(table.name)}`;
}

export function storageName(table: TableRef): string {
  return `_tributary_rows_${viewName(table)}`;
}

/** A Tributary state table's name. */
export function stateTable(what: string): string {
  return `_tributary_${what}`;
}

/** The row version of a change at `p` (see the header), as ClickHouse's UInt128 text. */
export function positionVersion(p: Position): string {
  if (p.ordinal < -1) throw new RangeError(`no version for ordinal ${p.ordinal}`);
  return ((p.commitLsn << LOW_BITS) | (BigInt(p.ordinal + 1) << 1n)).toString();
}

/** The version of a repair of the row stored with `version`: above it, below the change after it. */
export function repairVersion(version: string | bigint): string {
  return (BigInt(version) | 1n).toString();
}

/** The row version of a row copied by a snapshot read at `lsn`. */
export function snapshotVersion(lsn: Lsn): string {
  return (lsn << LOW_BITS).toString();
}

/** The position a stream version (or its repair) stands for (a snapshot version gives ordinal -1). */
export function versionPosition(version: string | bigint): Position {
  const v = BigInt(version);
  return { commitLsn: v >> LOW_BITS, ordinal: Number((v & LOW_MASK) >> 1n) - 1 };
}

/** Metadata columns of a storage table (the view shows `_tributary_lsn` and `_tributary_synced_at`). */
export const VERSION_COLUMN = '_tributary_version';
export const DELETED_COLUMN = '_tributary_deleted';
export const LSN_COLUMN = '_tributary_lsn';
export const SYNCED_AT_COLUMN = '_tributary_synced_at';
