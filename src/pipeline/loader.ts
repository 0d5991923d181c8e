/**
 * The loader: takes batches from a feed (src/feed/feed.ts) and applies them to a Warehouse,
 * one at a time, acknowledging each batch to the feed only once the warehouse transaction that
 * holds it (with its checkpoint) committed — so nothing is acknowledged that a crash could lose
 * (DESIGN.md, "Acknowledgement"). The warehouse drops what a feed delivers twice by position.
 *
 * - Failure: an apply that fails ends `run` with the error. Nothing past the last durable
 *   checkpoint was acknowledged, so a restart resumes exactly.
 * - `exclusive(work)`: a snapshot's write runs between two batches, never during one, so the
 *   stream and the snapshots share the warehouse's one writer in turn.
 * - Lanes: a batch of a lane (a feed split in lanes) is applied with the lane's checkpoint; one
 *   the warehouse refuses because another loader holds the lane now (LaneLost) is dropped and
 *   the loader goes on with its other lanes.
 */
import type { StreamItem } from '../core/change-event.js';
import type { Position } from '../core/position.js';
import type { FeedConsumer } from '../feed/feed.js';
import { LaneLost, type Warehouse } from '../warehouse/warehouse.js';

export { type BatchLimits, DEFAULT_BATCH_LIMITS } from '../feed/feed.js';

export interface LoaderEvents {
  /** A batch is durable in the warehouse up to `checkpoint` (and was acknowledged to the feed). */
  readonly onApplied?: (checkpoint: Position | null, items: readonly StreamItem[], millis: number) => void;
}

export class Loader {
  readonly #warehouse: Warehouse;
  readonly #events: LoaderEvents;
  readonly #now: () => number;
  /** The tail of the writer queue: batches and exclusive work run one after another. */
  #tail: Promise<unknown> = Promise.resolve();
  #failure: unknown = null;

  constructor(warehouse: Warehouse, events: LoaderEvents = {}, now: () => number = Date.now) {
    this.#warehouse = warehouse;
    this.#events = events;
    this.#now = now;
  }

  /**
   * Applies batches from `consumer` until it returns none (closed, or `signal` aborted); rejects
   * with the first failure, after which `exclusive` rejects too.
   */
  async run(consumer: FeedConsumer, signal: AbortSignal): Promise<void> {
    try {
      for (;;) {
        const batch = await consumer.next(signal);
        if (batch === null) return;
        const started = this.#now();
        let checkpoint: Position | null;
        try {
          // loaded by lanes, what is reported is the warehouse's view of them all
          checkpoint = await this.#serial(async () => {
            const applied = await this.#warehouse.apply(batch.items, batch.lane);
            return batch.lane ? this.#warehouse.checkpoint() : applied;
          });
        } catch (error) {
          if (!(error instanceof LaneLost) || !batch.lane || !batch.lost) throw error;
          batch.lost();
          continue;
        }
        await batch.ack();
        this.#events.onApplied?.(checkpoint, batch.items, this.#now() - started);
      }
    } catch (error) {
      this.#failure ??= error;
      throw error;
    }
  }

  /**
   * Runs `work` (a snapshot's write to the warehouse) between batches: after the batch being
   * applied, before the next one starts.
   */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    return this.#serial(work);
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(() => {
      if (this.#failure !== null) throw this.#failure;
      return work();
    });
    this.#tail = run.catch(() => {});
    return run;
  }
}
