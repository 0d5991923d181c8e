/**
 * The in-process feed (feed.ts), the default: a bounded queue between the source and the loader
 * in one process. It stores nothing durably — the replication slot is the durable log — so an
 * item is durable once the loader acknowledged the batch that held it, and only then is the
 * source told (`onDurable`), which acknowledges the slot.
 *
 * - Batching: a batch is everything queued when the loader asks, once the queue is full
 *   (`maxItems` or `maxBytes`), its first item has waited `maxDelayMs`, or a flush waits for it.
 *   While the loader applies one batch the next one fills.
 * - Backpressure: a write that finds the queue full waits until the loader takes it.
 * - Redelivery: batches a consumer took but did not acknowledge go back to the front of the
 *   queue when it closes, for the next consumer.
 */
import { itemPosition, type StreamItem } from '../core/change-event.js';
import type { Position } from '../core/position.js';
import {
  type BatchLimits,
  DEFAULT_BATCH_LIMITS,
  estimateBytes,
  type FeedBatch,
  type FeedConsumer,
  type FeedPublisher,
  type OnDurable,
} from './feed.js';
import { StateChange } from './state-change.js';

interface Taken {
  readonly items: StreamItem[];
  readonly bytes: number;
  /** Sequence number (count of items written before it and it) of the batch's last item. */
  readonly end: number;
  acked: boolean;
}

export class MemoryFeed {
  readonly publisher: FeedPublisher;
  readonly #limits: BatchLimits;
  readonly #onDurable: OnDurable;
  readonly #now: () => number;
  #queue: StreamItem[] = [];
  #queueBytes = 0;
  /** When the oldest queued item arrived. */
  #firstAt = 0;
  /** Items written, and items acknowledged (their batches, in order). */
  #written = 0;
  #acked = 0;
  #taken: Taken[] = [];
  #failure: unknown = null;
  #flushWanted = 0;
  /** Wakes whoever waits for a change of state (a write, a take, an ack, a failure, a close). */
  readonly #changed = new StateChange();
  #consumer: MemoryConsumer | null = null;

  constructor(onDurable: OnDurable, limits: Partial<BatchLimits> = {}, now: () => number = Date.now) {
    this.#onDurable = onDurable;
    this.#limits = { ...DEFAULT_BATCH_LIMITS, ...limits };
    this.#now = now;
    this.publisher = {
      write: (items) => this.#write(items),
      flush: () => this.#flush(),
      fail: (error) => this.fail(error),
    };
  }

  /** A consumer; one at a time (the previous one must be closed). */
  consumer(): FeedConsumer {
    if (this.#consumer && !this.#consumer.closed)
      throw new Error('the in-process feed has a consumer already');
    this.#consumer = new MemoryConsumer(this);
    return this.#consumer;
  }

  fail(error: unknown): void {
    if (this.#failure === null) this.#failure = error;
    this.#changed.notify();
  }

  /** Items written but not yet acknowledged (for status). */
  get backlog(): number {
    return this.#written - this.#acked;
  }

  async #write(items: readonly StreamItem[]): Promise<void> {
    this.#throwIfFailed();
    if (items.length === 0) return;
    if (this.#queue.length === 0) this.#firstAt = this.#now();
    for (const item of items) {
      this.#queue.push(item);
      this.#queueBytes += estimateBytes(item);
    }
    this.#written += items.length;
    this.#changed.notify();
    while (this.#full()) {
      await this.#changed.wait();
      this.#throwIfFailed();
    }
  }

  async #flush(): Promise<void> {
    const target = this.#written;
    this.#flushWanted++;
    this.#changed.notify();
    try {
      while (this.#acked < target) {
        this.#throwIfFailed();
        await this.#changed.wait();
      }
      this.#throwIfFailed();
    } finally {
      this.#flushWanted--;
    }
  }

  #full(): boolean {
    return this.#queue.length >= this.#limits.maxItems || this.#queueBytes >= this.#limits.maxBytes;
  }

  /** Takes a batch when one is due; otherwise how long until the first queued item is due. */
  take(): Taken | number | null {
    this.#throwIfFailed();
    if (this.#queue.length === 0) return null;
    const waited = this.#now() - this.#firstAt;
    if (!this.#full() && this.#flushWanted === 0 && waited < this.#limits.maxDelayMs) {
      return this.#limits.maxDelayMs - waited;
    }
    const taken: Taken = {
      items: this.#queue,
      bytes: this.#queueBytes,
      end: this.#acked + this.#taken.reduce((n, t) => n + t.items.length, 0) + this.#queue.length,
      acked: false,
    };
    this.#queue = [];
    this.#queueBytes = 0;
    this.#taken.push(taken);
    this.#changed.notify();
    return taken;
  }

  ack(taken: Taken): void {
    if (taken.acked) return;
    if (this.#taken[0] !== taken) throw new Error('in-process feed: batches must be acknowledged in order');
    taken.acked = true;
    this.#taken.shift();
    this.#acked = taken.end;
    let last: Position | null = null;
    for (let i = taken.items.length - 1; i >= 0 && last === null; i--) last = itemPosition(taken.items[i]!);
    if (last) this.#onDurable(last);
    this.#changed.notify();
  }

  /** A closing consumer's unacknowledged batches go back to the front of the queue. */
  requeue(): void {
    if (this.#taken.length > 0) {
      const back = this.#taken.flatMap((t) => t.items);
      const bytes = this.#taken.reduce((n, t) => n + t.bytes, 0);
      this.#taken = [];
      if (this.#queue.length === 0) this.#firstAt = this.#now();
      this.#queue = [...back, ...this.#queue];
      this.#queueBytes += bytes;
    }
    this.#changed.notify();
  }

  #throwIfFailed(): void {
    if (this.#failure !== null) throw this.#failure;
  }

  wait(timeoutMs: number | null, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        if (timer) clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = timeoutMs === null ? null : setTimeout(done, timeoutMs);
      signal.addEventListener('abort', done, { once: true });
      this.#changed.add(done);
    });
  }
}

class MemoryConsumer implements FeedConsumer {
  readonly #feed: MemoryFeed;
  #closed = false;

  constructor(feed: MemoryFeed) {
    this.#feed = feed;
  }

  get closed(): boolean {
    return this.#closed;
  }

  async next(signal: AbortSignal): Promise<FeedBatch | null> {
    for (;;) {
      if (signal.aborted || this.#closed) return null;
      const taken = this.#feed.take();
      if (taken !== null && typeof taken === 'object') {
        return {
          items: taken.items,
          ack: async () => {
            if (this.#closed) throw new Error('in-process feed: ack after the consumer closed');
            this.#feed.ack(taken);
          },
        };
      }
      await this.#feed.wait(taken, signal);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#feed.requeue(); // wakes a waiting next(), which then sees the consumer closed
  }
}
