/**
 * What the source emits, in stream (commit) order. DESIGN.md, "ChangeEvent":
 *
 * - `row` is the full new image, except columns listed in `unchanged`: unchanged TOASTed values
 *   that Postgres did not send. Those must keep the value the warehouse already holds; they are
 *   absent from `row`, never null or a placeholder.
 * - `before` is the old image when the table's replica identity provides it (the key columns
 *   for an update that changed the key, or every column with REPLICA IDENTITY FULL).
 * - `pk` holds the key columns' values: for deletes taken from the old key, for inserts and
 *   updates from the new row (from `before` when the new row lacks an unchanged key column).
 *
 * Rows are null-prototype objects, so a column called `__proto__` is just a column.
 */
import type { Lsn } from './lsn.js';
import type { Position } from './position.js';
import type { TableRef } from './table-ref.js';
import type { PgTimestampTz, Value } from './values.js';

export type Operation = 'insert' | 'update' | 'delete' | 'truncate';

export type Row = Readonly<Record<string, Value>>;

export interface ChangeEvent {
  readonly op: Operation;
  readonly table: TableRef;
  readonly pk: Row | null;
  readonly row: Row | null;
  readonly before: Row | null;
  readonly unchanged: readonly string[];
  readonly position: Position;
  readonly xid: number;
  readonly commitTime: PgTimestampTz;
  readonly schemaVersion: string;
  /** Only on truncate. */
  readonly truncate?: { readonly cascade: boolean; readonly restartIdentity: boolean };
}

export interface ColumnSchema {
  readonly name: string;
  readonly typeOid: number;
  readonly typeModifier: number;
  /** Part of the key that identifies a row (see `TableSchema.key`). */
  readonly isKey: boolean;
  /**
   * For a column added by `ALTER TABLE … ADD COLUMN … DEFAULT <constant>`: the value every row
   * that existed before the column has. Postgres keeps it in the catalog
   * (`pg_attribute.attmissingval`) and writes nothing to the WAL for those rows, so a consumer
   * that already holds them fills it in. Absent when the column has none (no default, a volatile
   * default that rewrote the table, or a table rewritten since), or when it was not read.
   */
  readonly missingValue?: Value;
  /**
   * The column's attribute number at the source (`pg_attribute.attnum`): what stays the same
   * when a column is renamed, and differs when one is dropped and added again under its name.
   * The WAL names columns only, so it is read from the catalog; absent when it was not (an
   * older warehouse's record, a column renamed again before the stream read the catalog).
   */
  readonly attnum?: number;
}

/**
 * A table's shape as the source saw it in the stream. `version` is a fingerprint of the shape
 * (names, types, modifiers, key): the same shape always has the same version, across restarts.
 */
export interface TableSchema {
  readonly table: TableRef;
  readonly relationOid: number;
  readonly version: string;
  readonly columns: readonly ColumnSchema[];
  /** Key column names, in key order: the primary key when the replica identity carries it. */
  readonly key: readonly string[];
  readonly replicaIdentity: 'default' | 'nothing' | 'full' | 'index';
}

/**
 * Whether the table has a real key: a primary key (or replica identity index), not the "every
 * column" key of REPLICA IDENTITY FULL without one. A table without it is a multiset.
 */
export function hasPrimaryKey(schema: TableSchema): boolean {
  return (
    schema.key.length > 0 &&
    !(schema.replicaIdentity === 'full' && schema.key.length === schema.columns.length)
  );
}

export interface LogicalMessage {
  readonly transactional: boolean;
  readonly lsn: Lsn;
  readonly prefix: string;
  readonly content: Uint8Array;
  /** Transactional messages take a place among their transaction's changes; others `(lsn, -1)`. */
  readonly position: Position;
}

export type StreamItem =
  /** The shape of a table; sent before the first change that uses a new version. */
  | { readonly kind: 'schema'; readonly schema: TableSchema }
  | { readonly kind: 'change'; readonly event: ChangeEvent }
  | { readonly kind: 'message'; readonly message: LogicalMessage }
  /** End of a transaction: every change of it has been emitted. */
  | {
      readonly kind: 'commit';
      readonly commitLsn: Lsn;
      readonly endLsn: Lsn;
      readonly xid: number;
      readonly commitTime: PgTimestampTz;
      readonly changes: number;
    };

/**
 * Where an item sits in the stream: its change's or message's position; a commit right after
 * every item of its transaction, at `(commitLsn, COMMIT_ORDINAL)`; a schema item nowhere.
 * Checkpoints and dedup (the warehouse, `tail --out`) compare these.
 */
export const COMMIT_ORDINAL = Number.MAX_SAFE_INTEGER;

export function itemPosition(item: StreamItem): Position | null {
  switch (item.kind) {
    case 'change':
      return item.event.position;
    case 'message':
      return item.message.position;
    case 'commit':
      return { commitLsn: item.commitLsn, ordinal: COMMIT_ORDINAL };
    case 'schema':
      return null;
  }
}

/** The newest commit time (µs) of the changes and commits among `items`, or null when they have none. */
export function newestCommitMicros(items: readonly StreamItem[]): bigint | null {
  let newest: bigint | null = null;
  for (const item of items) {
    const time =
      item.kind === 'change'
        ? item.event.commitTime.micros
        : item.kind === 'commit'
          ? item.commitTime.micros
          : null;
    if (time !== null && (newest === null || time > newest)) newest = time;
  }
  return newest;
}
