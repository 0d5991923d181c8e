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
 * - Lanes: a feed split in lanes (src/feed/jetstream/subjects.ts) is applied lane by lane, each
 *   lane's batches with the lane's own checkpoint, by whichever loader holds the lane
 *   (`LaneStore.claimLane`); a lane's tables see its changes in order, a transaction that
 *   spans lanes lands lane by lane.
 * - Current-state tables hold exactly the live source rows, the source's columns plus
 *   `_tributary_lsn` and `_tributary_synced_at`; Tributary's own state lives in `_tributary`.
 */
import type { StreamItem } from '../core/change-event.js';
import type { Position } from '../core/position.js';
import type { LaneClaim } from '../feed/feed.js';

/**
 * A lane's batch offered with an epoch older than the lane's latest claim: another loader holds
 * the lane now. Nothing was written; the batch is dropped (the lane's new holder applies it).
 */
export class LaneLost extends Error {
  override readonly name = 'LaneLost';
  readonly lane: number;
  constructor(lane: number, message: string) {
    super(message);
    this.lane = lane;
  }
}

export interface QueryResult {
  readonly columns: readonly string[];
  /** Rows of JSON-friendly values (bigints and decimals as strings). */
  readonly rows: readonly (readonly unknown[])[];
}

export interface Warehouse {
  /**
   * The last applied position, or null when nothing was ever applied. Loaded by lanes, the
   * least of the lanes' checkpoints: everything up to it is applied.
   */
  checkpoint(): Promise<Position | null>;
  /**
   * With `lane`: the batch is that lane's, skipped and checkpointed by the lane's checkpoint;
   * rejects with LaneLost when the lane was claimed with a later epoch.
   */
  apply(items: readonly StreamItem[], lane?: LaneClaim): Promise<Position | null>;
  query(sql: string): Promise<QueryResult>;
  close(): Promise<void>;
}

/**
 * A warehouse that a feed's lanes are loaded into, each lane with its own checkpoint (a lane is
 * a set of tables, loaded in order by one loader at a time; jetstream/lane-group.ts).
 */
export interface LaneStore {
  /**
   * Records `claim` as the lane's holder and returns the lane's checkpoint (the warehouse's
   * checkpoint for a lane never loaded). Rejects with LaneLost when the lane was claimed with
   * a later epoch.
   */
  claimLane(claim: LaneClaim): Promise<Position | null>;
  /** Each lane's checkpoint, by lane. */
  laneCheckpoints(): Promise<ReadonlyMap<number, Position | null>>;
}

export function isLaneStore(warehouse: Warehouse): warehouse is Warehouse & LaneStore {
  return typeof (warehouse as Partial<LaneStore>).claimLane === 'function';
}
