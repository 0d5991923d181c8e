/**
 * The feed: what carries stream items from the source to the loader (DESIGN.md, "Feed").
 * Two implementations: in process (memory-feed.ts, the default: the replication slot itself is
 * the durable log) and NATS JetStream (jetstream/, the scale-out feed: a replicated, replayable
 * stream between a `tributary source` and `tributary load` processes).
 *
 * Contract, for every implementation (test/feed/feed-contract.ts tests it against both):
 *
 * - Publishing. The source writes items to a `FeedPublisher` in stream (position) order; a
 *   write resolves when the publisher may take more (backpressure: a busy feed pauses the
 *   source, which pauses the replication socket). `onDurable(position)` is called, in
 *   increasing order, once everything up to `position` is durable *in the feed's sense*: for
 *   JetStream, stored in the stream; in process, applied and committed by the loader (the feed
 *   keeps nothing itself). The source acknowledges the slot with it, never with less.
 *   `flush()` resolves once everything written is durable.
 * - At least once. Every published item reaches a consumer at least once. A batch delivered
 *   but not acknowledged (the loader died, the apply failed) is delivered again, to this
 *   consumer or the next one. Duplicates are possible; the loader drops them by position
 *   (the warehouse skips items at or before its checkpoint).
 * - Ordered. A consumer sees the items of each table in position order, with no item of a
 *   table delivered before an earlier one of the same table that it has not yet acknowledged.
 *   (The in-process feed delivers the whole stream in order to one consumer; JetStream, each
 *   lane's in order to the one loader of a group that holds the lane: jetstream/lane-group.ts.)
 *   A table's `schema` item comes before the first change that uses it.
 * - Acknowledge after durable apply. `FeedBatch.ack()` is called by the loader only after the
 *   warehouse transaction holding the batch (and its checkpoint) committed, and batches are
 *   acknowledged in the order they were delivered.
 * - Failure. `fail(error)` on a publisher or consumer makes every waiting and later call
 *   reject with it, so a stopped loader cannot leave the source waiting forever.
 */
import type { StreamItem } from '../core/change-event.js';
import type { Position } from '../core/position.js';

/** What the source writes to (PostgresSource's StreamTarget). */
export interface FeedPublisher {
  /** Accepts items in stream order; resolves when it may take the next ones. */
  write(items: readonly StreamItem[]): Promise<void>;
  /** Resolves once everything written is durable (and was reported to `onDurable`). */
  flush(): Promise<void>;
  /** Rejects every waiting and later write/flush with `error`. */
  fail(error: unknown): void;
}

/**
 * A loader's hold on one lane of a feed (jetstream/lane-group.ts): the lane, and the epoch of
 * the hold, which grows with every new hold on the lane. The warehouse applies a lane's batch
 * only for its latest epoch, so a loader that lost the lane (stalled past its lease) cannot
 * write after the one that took it over.
 */
export interface LaneClaim {
  readonly lane: number;
  readonly epoch: bigint;
}

/** A run of items delivered together; acknowledged as one after the apply committed. */
export interface FeedBatch {
  readonly items: readonly StreamItem[];
  /** The lane the batch belongs to, for a feed split in lanes; applied with the lane's checkpoint. */
  readonly lane?: LaneClaim;
  /** Marks the batch done: durable downstream. Call in delivery order. */
  ack(): Promise<void>;
  /** The lane was lost before the batch was applied: it is dropped, not acknowledged. */
  lost?(): void;
}

export interface FeedConsumer {
  /**
   * The next batch, waiting for one; null once the consumer is closed (or `signal` aborted)
   * and nothing more will come. Only one call at a time.
   */
  next(signal: AbortSignal): Promise<FeedBatch | null>;
  /** Stops delivering: a waiting and every later `next` returns null. */
  close(): Promise<void>;
}

/** How big a batch grows before the loader applies it, and how long its first item waits. */
export interface BatchLimits {
  /** Items per batch. Default 50 000. */
  readonly maxItems: number;
  /** Approximate bytes per batch. Default 64 MiB. */
  readonly maxBytes: number;
  /** How long the first item of a batch may wait. Default 100 ms. */
  readonly maxDelayMs: number;
}

export const DEFAULT_BATCH_LIMITS: BatchLimits = Object.freeze({
  maxItems: 50_000,
  maxBytes: 64 * 1024 * 1024,
  maxDelayMs: 100,
});

export type OnDurable = (position: Position) => void;

/** A cheap size estimate of an item: enough to bound memory, not to account it exactly. */
export function estimateBytes(item: StreamItem): number {
  if (item.kind !== 'change') return 256;
  const e = item.event;
  let bytes = 128;
  for (const row of [e.row, e.before]) {
    if (!row) continue;
    for (const key in row) {
      const v = row[key];
      bytes += key.length + (typeof v === 'string' ? v.length : v instanceof Uint8Array ? v.length : 16);
    }
  }
  return bytes;
}
