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
 * - `pinAt(bound, point, work)`: runs `work` at one exact place in the stream — after every
 *   change that committed before `point`, before any that committed at or after it — splitting
 *   the batch that straddles it (tributary verify reads the warehouse there, at the source
 *   snapshot exported at `point`). `point` is learnt after the request (creating the slot that
 *   exports it waits for running transactions), but is never below `bound`: the loader applies
 *   freely below `bound` and holds what is at or above it until `point` is known. The parts of a
 *   split batch are separate transactions with their own checkpoints; the batch is acknowledged
 *   once, after the last, so a crash in between resends the rest (skipped by position).
 */
import { itemPosition, type StreamItem } from '../core/change-event.js';
import { TributaryError } from '../core/errors.js';
import { formatLsn, type Lsn } from '../core/lsn.js';
import type { Position } from '../core/position.js';
import type { FeedBatch, FeedConsumer } from '../feed/feed.js';
import { LaneLost, type Warehouse } from '../warehouse/warehouse.js';

export { type BatchLimits, DEFAULT_BATCH_LIMITS } from '../feed/feed.js';

export interface LoaderEvents {
  /** A batch is durable in the warehouse up to `checkpoint` (and was acknowledged to the feed). */
  readonly onApplied?: (checkpoint: Position | null, items: readonly StreamItem[], millis: number) => void;
}

/**
 * `pinAt` was asked for a point the warehouse has already passed (a change at or after `bound`
 * was applied before the request arrived): ask again with a later point.
 */
export class PointPassed extends Error {
  override readonly name = 'PointPassed';
}

/**
 * Where to stop: before the first transaction committed at or after `lsn`, and, when `invisible`
 * is given (the snapshot's view), before the first transaction (at or past the bound) the
 * snapshot does not see (an exported snapshot agrees with its slot's consistent point; this
 * checks it). The snapshot must also see nothing after the stop (checked on the rest of the
 * batch: else PointPassed, and verify starts over).
 */
export interface PinPoint {
  readonly lsn: Lsn;
  readonly invisible?: (xid: number) => boolean;
  /**
   * The snapshot may or may not see a transaction committed in `[lsn, unsureThrough]` (a
   * standby's, taken while it replayed the record after `lsn`): when the first transaction at
   * or after `lsn` is one, the point is refused (PointPassed, and verify starts over).
   */
  readonly unsureThrough?: Lsn;
}

interface Pin {
  readonly bound: Lsn;
  point: PinPoint | null;
  /** Whether a batch was handled since the request (the checkpoint was checked against `bound`). */
  started: boolean;
  readonly known: Promise<PinPoint>;
  readonly work: () => Promise<unknown>;
  readonly settle: { resolve: (value: unknown) => void; reject: (error: unknown) => void };
}

export class Loader {
  readonly #warehouse: Warehouse;
  readonly #events: LoaderEvents;
  readonly #now: () => number;
  /** The tail of the writer queue: batches and exclusive work run one after another. */
  #tail: Promise<unknown> = Promise.resolve();
  #failure: unknown = null;
  #pin: Pin | null = null;

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
          checkpoint = this.#pin
            ? await this.#applyAroundPin(this.#pin, batch.items, batch.lane)
            : await this.#applyPart(batch.items, batch.lane);
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
    } finally {
      const pin = this.#pin;
      this.#pin = null;
      pin?.settle.reject(
        new TributaryError('USAGE', 'the pipeline stopped before it reached the verification point'),
      );
    }
  }

  /**
   * Runs `work` between the last change that committed before `point` and the first at or after
   * it (see the header); `point` (a promise: not known yet) is at least `bound`. Rejects with
   * PointPassed when the warehouse has already applied something at or after `bound`, and with
   * `point`'s error when it fails (the loader then goes on as if nothing was asked).
   */
  pinAt<T>(bound: Lsn, point: Promise<Lsn | PinPoint>, work: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.#failure !== null) return reject(this.#failure);
      if (this.#pin) {
        return reject(new TributaryError('USAGE', 'a verification is already waiting for its point'));
      }
      const pin: Pin = {
        bound,
        point: null,
        started: false,
        known: point.then((given) => {
          const at: PinPoint = typeof given === 'bigint' ? { lsn: given } : given;
          if (at.lsn < bound) {
            throw new TributaryError(
              'INTERNAL',
              `point ${formatLsn(at.lsn)} is below its bound ${formatLsn(bound)}`,
            );
          }
          pin.point = at;
          return at;
        }),
        work,
        settle: { resolve: resolve as (value: unknown) => void, reject },
      };
      pin.known.catch((error: unknown) => {
        if (this.#pin === pin) this.#pin = null;
        reject(error);
      });
      this.#pin = pin;
    });
  }

  /** Applies a batch that may straddle the pin's point: the part before, the pin's work, the rest. */
  async #applyAroundPin(
    pin: Pin,
    items: readonly StreamItem[],
    lane: FeedBatch['lane'],
  ): Promise<Position | null> {
    if (lane && lane.lane !== 0) {
      this.#pin = null;
      pin.settle.reject(
        new TributaryError('USAGE', 'tributary verify needs a feed of one lane: this one has several'),
      );
      return this.#applyPart(items, lane);
    }
    if (!pin.started) {
      // a batch applied while the request arrived may have gone past the bound already
      pin.started = true;
      const before = await this.#serial(() => this.#warehouse.checkpoint());
      if (before && before.commitLsn >= pin.bound) {
        this.#pin = null;
        pin.settle.reject(new PointPassed(`the warehouse is already at ${formatLsn(before.commitLsn)}`));
        return this.#applyPart(items, lane);
      }
    }
    const atBound = splitAt(items, pin.bound);
    if (atBound === items.length) return this.#applyPart(items, lane);
    let checkpoint: Position | null = null;
    if (atBound > 0) checkpoint = await this.#applyPart(items.slice(0, atBound), lane);
    let point: PinPoint;
    try {
      // hold what is at or above the bound until the point is known
      point = pin.point ?? (await pin.known);
    } catch {
      return this.#applyPart(items.slice(atBound), lane);
    }
    const at = splitAt(items, point.lsn, atBound, point.invisible);
    if (at > atBound) checkpoint = await this.#applyPart(items.slice(atBound, at), lane);
    if (at === items.length) return checkpoint;
    this.#pin = null;
    const next = firstPosition(items, at);
    if (point.unsureThrough !== undefined && next !== null && next.commitLsn <= point.unsureThrough) {
      pin.settle.reject(
        new PointPassed(
          `the snapshot may or may not see the transaction at ${formatLsn(next.commitLsn)}; again`,
        ),
      );
      return this.#applyPart(items.slice(at), lane);
    }
    // the snapshot must see a prefix of the stream: nothing it sees may come after the stop
    const seenLater = point.invisible ? visibleAfter(items, at, point.invisible) : null;
    if (seenLater !== null) {
      pin.settle.reject(
        new PointPassed(`the snapshot sees transaction ${seenLater} after one it does not see; again`),
      );
      return this.#applyPart(items.slice(at), lane);
    }
    try {
      pin.settle.resolve(await this.#serial(pin.work));
    } catch (error) {
      pin.settle.reject(error);
    }
    return this.#applyPart(items.slice(at), lane);
  }

  /** One transaction; loaded by lanes, what is reported is the warehouse's view of them all. */
  #applyPart(items: readonly StreamItem[], lane: FeedBatch['lane']): Promise<Position | null> {
    return this.#serial(async () => {
      const applied = await this.#warehouse.apply(items, lane);
      return lane ? this.#warehouse.checkpoint() : applied;
    });
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

/**
 * The index of the first item that committed at or after `lsn` (schema items just before it go
 * with it: they describe its changes), or `items.length` when there is none.
 */
function splitAt(
  items: readonly StreamItem[],
  lsn: Lsn,
  from = 0,
  invisible?: (xid: number) => boolean,
): number {
  for (let i = from; i < items.length; i++) {
    const item = items[i] as StreamItem;
    const position = itemPosition(item);
    const xid = xidOf(item);
    if (position && (position.commitLsn >= lsn || (invisible && xid !== null && invisible(xid)))) {
      let start = i;
      while (start > 0 && itemPosition(items[start - 1] as StreamItem) === null) start--;
      return start;
    }
  }
  return items.length;
}

function firstPosition(items: readonly StreamItem[], from: number): Position | null {
  for (let i = from; i < items.length; i++) {
    const position = itemPosition(items[i] as StreamItem);
    if (position) return position;
  }
  return null;
}

function xidOf(item: StreamItem): number | null {
  if (item.kind === 'change') return item.event.xid;
  if (item.kind === 'commit') return item.xid;
  return null;
}

/** A transaction from `from` on that the snapshot sees; else null. */
function visibleAfter(
  items: readonly StreamItem[],
  from: number,
  invisible: (xid: number) => boolean,
): number | null {
  for (let i = from; i < items.length; i++) {
    const item = items[i] as StreamItem;
    const position = itemPosition(item);
    if (!position) continue;
    const xid = xidOf(item);
    if (xid !== null && !invisible(xid)) return xid;
  }
  return null;
}
