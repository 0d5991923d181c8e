/**
 * The warehouse seam (DESIGN.md, "Warehouse layout"). Contract:
 *
 * - `apply(items)` applies a batch of stream items, in stream order, in ONE transaction
 *   together with the checkpoint (the position of the last item applied). Delivery is at least
 *   once: items at or before the checkpoint are skipped, so a replayed batch changes nothing.
 *   It resolves once the transaction is durable and returns the new checkpoint, which is what
 *   the source may acknowledge. (A store may split a batch into consecutive transactions, each
 *   with the checkpoint of what it holds, where it cannot do otherwise: DuckDB before an ALTER.)
 * - Per batch, each key's changes fold in position order: inserts and updates upsert, deletes
 *   remove the row, a truncate empties its table at its place in the order, an update that
 *   changes the key moves the row, and unchanged TOASTed columns keep the stored value.
 * - A table without a primary key is a multiset: identical rows are kept as copies, a delete
 *   removes one copy and an update changes one copy. A delete of a copy the store does not hold
 *   fails the batch (the store no longer matches the source), never passes silently.
 * - `schema` items create tables and evolve them (add, drop, retype columns); each new shape is
 *   recorded as a schema version.
 * - Current-state tables hold exactly the live source rows, the source's columns plus
 *   `_tributary_lsn` and `_tributary_synced_at`; Tributary's own state lives in `_tributary`.
 */
import type { StreamItem } from '../core/change-event.js';
import type { Position } from '../core/position.js';

export interface QueryResult {
  readonly columns: readonly string[];
  /** Rows of JSON-friendly values (bigints and decimals as strings). */
  readonly rows: readonly (readonly unknown[])[];
}

export interface Warehouse {
  /** The last applied position, or null when nothing was ever applied. */
  checkpoint(): Promise<Position | null>;
  apply(items: readonly StreamItem[]): Promise<Position | null>;
  query(sql: string): Promise<QueryResult>;
  close(): Promise<void>;
}
