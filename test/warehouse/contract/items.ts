/**
 * Transactions for the warehouse contract suite, built on the item builders of ../items.ts:
 * a change is written without its place (`ins(row)`, `del(key)`, ...) and `txn(lsn, ...)` gives
 * each its ordinal in the order written and ends the transaction with its commit.
 */
import { COMMIT_ORDINAL, type StreamItem } from '../../../src/core/change-event.js';
import type { Position } from '../../../src/core/position.js';
import type { TableRef } from '../../../src/core/table-ref.js';
import type { Value } from '../../../src/core/values.js';
import { change, commit, fullChange, T } from '../items.js';

type Values = Record<string, Value>;

/** A change waiting for its place in a transaction. */
export type Unplaced = (lsn: bigint, ordinal: number) => StreamItem;

/** The items of one transaction at `lsn`: its changes at ordinals 0, 1, ..., then its commit. */
export function txn(lsn: bigint, ...changes: readonly Unplaced[]): StreamItem[] {
  return [...changes.map((c, i) => c(lsn, i)), commit(lsn, changes.length)];
}

/** Where a transaction's commit sits: the position `apply` returns after a batch that ends with it. */
export function committed(lsn: bigint): Position {
  return { commitLsn: lsn, ordinal: COMMIT_ORDINAL };
}

// keyed tables (the key is `id`)

export const ins =
  (row: Values, table: TableRef = T): Unplaced =>
  (lsn, o) =>
    change('insert', lsn, o, { row }, table);

/** An update; `unchanged` columns (TOASTed, not sent) must be absent from `row`. */
export const upd =
  (row: Values, unchanged: string[] = [], table: TableRef = T): Unplaced =>
  (lsn, o) =>
    change('update', lsn, o, { row, unchanged }, table);

/** An update that changed the key: `before` holds the old key, as Postgres sends it. */
export const move =
  (oldKey: Values, row: Values, unchanged: string[] = [], table: TableRef = T): Unplaced =>
  (lsn, o) =>
    change('update', lsn, o, { row, before: oldKey, unchanged }, table);

export const del =
  (key: Values, table: TableRef = T): Unplaced =>
  (lsn, o) =>
    change('delete', lsn, o, { pk: key }, table);

export const truncate =
  (table: TableRef = T): Unplaced =>
  (lsn, o) =>
    change('truncate', lsn, o, {}, table);

// tables without a primary key (REPLICA IDENTITY FULL: the whole row identifies a copy)

export const insRow =
  (table: TableRef, row: Values): Unplaced =>
  (lsn, o) =>
    fullChange('insert', lsn, o, { row }, table);

export const updRow =
  (table: TableRef, before: Values, row: Values): Unplaced =>
  (lsn, o) =>
    fullChange('update', lsn, o, { before, row }, table);

export const delRow =
  (table: TableRef, before: Values): Unplaced =>
  (lsn, o) =>
    fullChange('delete', lsn, o, { before }, table);

/** Builders for a table keyed by several columns: `pk` holds the key columns of the row. */
export function keyedBy(table: TableRef, key: readonly string[]) {
  const pk = (row: Values): Values => Object.fromEntries(key.map((k) => [k, row[k] ?? null]));
  return {
    ins:
      (row: Values): Unplaced =>
      (lsn, o) =>
        change('insert', lsn, o, { row, pk: pk(row) }, table),
    upd:
      (row: Values): Unplaced =>
      (lsn, o) =>
        change('update', lsn, o, { row, pk: pk(row) }, table),
    /** `before` holds the old key. */
    move:
      (before: Values, row: Values): Unplaced =>
      (lsn, o) =>
        change('update', lsn, o, { row, pk: pk(row), before }, table),
    del:
      (keyValues: Values): Unplaced =>
      (lsn, o) =>
        change('delete', lsn, o, { pk: keyValues }, table),
  };
}
