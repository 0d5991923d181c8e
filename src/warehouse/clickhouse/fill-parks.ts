/**
 * Repairs of parked rows (snapshot-store.ts explains parks): a stored row the stream wrote with
 * placeholders for TOASTed columns it was not sent, newer than the snapshot copy that knows
 * them, is written again with the copy's values in the placeholders — same LSN, version
 * `repairVersion` of the row's, so it outranks the row it mends and nothing after it. Pure: the
 * warehouse reads the latest rows and writes what this returns.
 */
import { createHash } from 'node:crypto';
import type { Lsn } from '../../core/lsn.js';
import { DELETED_COLUMN, repairVersion, snapshotVersion, VERSION_COLUMN } from './layout.js';
import type { ParkFill } from './snapshot-store.js';
import { encode, INDEX, type StorageRow } from './storage-rows.js';
import { type ChTable, hasPresence, presenceColumn } from './tables.js';

export interface Repairs {
  /** Rows to insert. */
  readonly rows: StorageRow[];
  /** Per fill: the placeholders left (columns the copy's shape lacks), or null when settled. */
  readonly left: (readonly string[] | null)[];
}

/**
 * `latest`: the latest stored row (with version and deleted flag) per fill index, absent where
 * none is held above the truncation watermark.
 */
export function planRepairs(
  table: ChTable,
  fills: readonly ParkFill[],
  latest: ReadonlyMap<number, StorageRow>,
  c: Lsn,
): Repairs {
  const copyVersion = BigInt(snapshotVersion(c));
  const columns = new Set(table.schema.columns.map((col) => col.name));
  const rows: StorageRow[] = [];
  const left = fills.map((fill, i): readonly string[] | null => {
    const stored = latest.get(i);
    // no copy: the source had no such row at `c` (its delete, which the stream applied before
    // the copy, ended the row); no stored row, a tombstone, or one the copy outranks: nothing to mend
    if (!fill.copy || !stored || Number(stored[DELETED_COLUMN]) === 1) return null;
    if (BigInt(stored[VERSION_COLUMN] as string) <= copyVersion) return null;
    const repair: StorageRow = {
      ...stored,
      [VERSION_COLUMN]: repairVersion(stored[VERSION_COLUMN] as string),
    };
    delete repair[INDEX];
    const missing: string[] = [];
    for (const name of fill.park.unknown) {
      if (!columns.has(name)) continue; // dropped since: nothing to fill
      if (Object.hasOwn(fill.copy, name)) {
        const value = fill.copy[name] ?? null;
        repair[name] = encode(table, name, value);
        if (hasPresence(table, name)) repair[presenceColumn(name)] = value === null ? 0 : 1;
      } else missing.push(name); // added after the copy's shape was read: a later copy fills it
    }
    rows.push(repair);
    return missing.length > 0 ? missing : null;
  });
  return { rows, left };
}

/** The dedup token of a fill's repairs: the same repairs get the same token. */
export function repairToken(table: ChTable, rows: readonly StorageRow[], c: Lsn): string {
  const hash = createHash('sha256');
  for (const row of rows)
    hash.update(
      `${String(row[VERSION_COLUMN])}\u0000${JSON.stringify(table.keyColumns.map((k) => row[k]))}\n`,
    );
  return `repair:${table.view}:${c}:${hash.digest('hex').slice(0, 24)}`;
}
