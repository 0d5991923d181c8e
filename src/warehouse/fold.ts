/**
 * Folds one keyed table's changes of a batch, in position order, into their net effect per key
 * (Warehouse contract: "each key's changes fold in position order"). Pure: no I/O. A table
 * without a primary key has no key to fold by: fold-counts.ts counts its whole rows instead.
 *
 * - The net effect of a key is an upsert (a full row, or a partial one whose `unchanged`
 *   columns keep the stored value) or a delete. Two changes of one key never reach the store.
 * - An update whose old key (from `before`) differs from its new key moves the row: the old key
 *   is deleted, the new one upserted. Unchanged columns of a moved row are filled from the old
 *   key's earlier change in the batch when there is one, else named in `copyFrom`.
 * - A truncate empties the table at its place: earlier changes are dropped, `truncated` is set,
 *   so the applier deletes every stored row before applying the rest.
 * - An unchanged column over a key deleted earlier in the batch cannot be filled: that is an
 *   error naming table, key and columns, never a silent null.
 */
import type { ChangeEvent, Row } from '../core/change-event.js';
import { TributaryError } from '../core/errors.js';
import { formatPosition, type Position } from '../core/position.js';
import { displayName } from '../core/table-ref.js';
import type { Value } from '../core/values.js';

export interface NetUpsert {
  readonly kind: 'upsert';
  readonly row: Row;
  /** Columns absent from `row`: they keep the stored value. */
  readonly unchanged: readonly string[];
  /** For a moved row with unchanged columns: the old key, whose stored row holds them. */
  readonly copyFrom?: Row;
  readonly position: Position;
}

export interface NetDelete {
  readonly kind: 'delete';
  /** The key columns' values. */
  readonly key: Row;
  readonly position: Position;
}

export type NetChange = NetUpsert | NetDelete;

export interface FoldedTable {
  /** Whether the table is emptied before `changes` apply. */
  readonly truncated: boolean;
  /** Net effect per key (keyed by `keyString`), in first-seen order. */
  readonly changes: ReadonlyMap<string, NetChange>;
}

const NONE: readonly string[] = [];

/** A string that is equal for equal key values (type-tagged, so 1 and '1' differ). */
export function keyString(row: Row, keyColumns: readonly string[]): string {
  return keyColumns.map((c) => valueKey(row[c] ?? null)).join('\u0000');
}

function valueKey(value: Value): string {
  if (value === null) return 'n';
  // elements quoted, so ['a', 'b'] and ['a,string:b'] differ
  if (Array.isArray(value)) return `[${value.map((v: Value) => JSON.stringify(valueKey(v))).join(',')}]`;
  if (value instanceof Uint8Array) return `x${Buffer.from(value).toString('hex')}`;
  if (typeof value === 'object') return `${value.constructor.name}:${String(value)}`;
  return `${typeof value}:${String(value)}`;
}

/** The key columns' values, from the new row where it has them, else from the event's key. */
function keyFrom(row: Row, pk: Row | null, columns: readonly string[]): Row {
  const out: Record<string, Value> = Object.create(null);
  for (const c of columns) {
    if (Object.hasOwn(row, c)) out[c] = row[c] ?? null;
    else if (pk && Object.hasOwn(pk, c)) out[c] = pk[c] ?? null;
  }
  return out;
}

function pick(row: Row, columns: readonly string[]): Row {
  const out: Record<string, Value> = Object.create(null);
  for (const c of columns) if (Object.hasOwn(row, c)) out[c] = row[c] ?? null;
  return out;
}

/** Folds `events` (one keyed table's changes, in position order) by `keyColumns`, its key. */
export function foldTable(events: readonly ChangeEvent[], keyColumns: readonly string[]): FoldedTable {
  const changes = new Map<string, NetChange>();
  let truncated = false;
  for (const event of events) {
    switch (event.op) {
      case 'truncate':
        changes.clear();
        truncated = true;
        break;
      case 'delete': {
        const key = pick(event.pk ?? event.before ?? Object.create(null), keyColumns);
        const k = keyString(key, keyColumns);
        changes.delete(k);
        changes.set(k, { kind: 'delete', key, position: event.position });
        break;
      }
      case 'insert':
      case 'update':
        upsert(changes, event, keyColumns);
        break;
    }
  }
  return { truncated, changes };
}

function upsert(changes: Map<string, NetChange>, event: ChangeEvent, keyColumns: readonly string[]): void {
  const row = event.row ?? Object.create(null);
  const newKeyRow = keyFrom(row, event.pk, keyColumns);
  const newKey = keyString(newKeyRow, keyColumns);
  let oldKeyRow: Row | null = null;
  let oldKey = newKey;
  if (event.op === 'update' && event.before) {
    const candidate = pick(event.before, keyColumns);
    if (keyColumns.every((c) => Object.hasOwn(candidate, c))) {
      oldKey = keyString(candidate, keyColumns);
      oldKeyRow = candidate;
    }
  }
  const previous = changes.get(oldKey);
  // the event's row is used as it is unless an earlier change of the key must be merged in:
  // copying every row costs more than the rest of the fold
  let merged: Row = row;
  let unchanged = event.unchanged.length === 0 ? NONE : event.unchanged.filter((c) => !Object.hasOwn(row, c));
  let copyFrom: Row | undefined;
  if (unchanged.length > 0 && previous) {
    if (previous.kind === 'delete') {
      throw new TributaryError(
        'SINK',
        `${displayName(event.table)}: the change at ${formatPosition(event.position)} keeps unchanged TOASTed column(s) ${unchanged.join(', ')} of key ${describeKey(newKeyRow)}, but that row was deleted earlier in the batch`,
        { hint: 'backfill the table to reload its rows' },
      );
    }
    merged = Object.assign(Object.create(null), previous.row, row);
    unchanged = unchanged.filter((c) => previous.unchanged.includes(c));
    if (previous.copyFrom) copyFrom = previous.copyFrom;
  }
  if (oldKey !== newKey) {
    changes.delete(oldKey);
    changes.set(oldKey, { kind: 'delete', key: oldKeyRow as Row, position: event.position });
    if (unchanged.length > 0 && !copyFrom) copyFrom = oldKeyRow as Row;
  }
  changes.delete(newKey);
  const net: NetUpsert =
    copyFrom && unchanged.length > 0
      ? { kind: 'upsert', row: merged, unchanged, copyFrom, position: event.position }
      : { kind: 'upsert', row: merged, unchanged, position: event.position };
  changes.set(newKey, net);
}

export function describeKey(key: Row): string {
  return `(${Object.entries(key)
    .map(([c, v]) => `${c}=${String(v)}`)
    .join(', ')})`;
}
