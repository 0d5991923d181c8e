/**
 * The loader: the source's StreamTarget in front of a Warehouse. It gathers what the source
 * writes into batches bounded by items, bytes and time, applies one batch at a time, and
 * acknowledges the source with the checkpoint the warehouse returns — so the slot only ever
 * advances to what is durably in the warehouse (DESIGN.md, "Acknowledgement").
 *
 * - Backpressure: while a batch is being applied, further writes are accepted until the next
 *   batch is full; then `write` waits, which pauses the source, which pauses the socket.
 * - Freshness: a batch that is not full is applied `maxDelayMs` after its first item arrived.
 * - Failure: an apply that fails is reported once through `onError` (the pipeline stops the
 *   source), and every later `write`/`flush` rejects with it. Nothing past the last durable
 *   checkpoint was acknowledged, so a restart resumes exactly.
 */
import type { StreamItem } from '../core/change-event.js';
import type { Position } from '../core/position.js';
import type { StreamTarget } from '../source/postgres/postgres-source.js';
import type { Warehouse } from '../warehouse/warehouse.js';

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

export interface LoaderEvents {
  /** A batch is durable in the warehouse up to `checkpoint`. */
  readonly onApplied?: (checkpoint: Position | null, items: readonly StreamItem[], millis: number) => void;
  readonly onError: (error: unknown) => void;
}

export class Loader implements StreamTarget {
  readonly #warehouse: Warehouse;
  readonly #acknowledge: (position: Position) => void;
  readonly #limits: BatchLimits;
  readonly #events: LoaderEvents;
  readonly #now: () => number;
  #pending: StreamItem[] = [];
  #pendingBytes = 0;
  #timer: NodeJS.Timeout | null = null;
  #applying: Promise<void> | null = null;
  #failure: unknown = null;

  constructor(
    warehouse: Warehouse,
    acknowledge: (position: Position) => void,
    events: LoaderEvents,
    limits: Partial<BatchLimits> = {},
    now: () => number = Date.now,
  ) {
    this.#warehouse = warehouse;
    this.#acknowledge = acknowledge;
    this.#events = events;
    this.#limits = { ...DEFAULT_BATCH_LIMITS, ...limits };
    this.#now = now;
  }

  async write(items: readonly StreamItem[]): Promise<void> {
    this.#throwIfFailed();
    if (items.length === 0) return;
    for (const item of items) {
      this.#pending.push(item);
      this.#pendingBytes += estimateBytes(item);
    }
    if (this.#full()) {
      // one batch in flight at a time: wait for it, then start this one
      while (this.#applying) await this.#applying;
      this.#throwIfFailed();
      this.#startApply();
      return;
    }
    if (!this.#timer) this.#timer = setTimeout(() => this.#onTimer(), this.#limits.maxDelayMs);
  }

  /** Applies everything written so far and waits until it is durable and acknowledged. */
  async flush(): Promise<void> {
    for (;;) {
      this.#throwIfFailed();
      if (this.#applying) {
        await this.#applying;
        continue;
      }
      if (this.#pending.length === 0) return;
      this.#startApply();
    }
  }

  /**
   * Runs `work` (a snapshot's write to the warehouse) between batches: after the batch being
   * applied, before the next one starts. Meanwhile writes queue as usual (and wait once a batch
   * is full), so the stream and the snapshot share the warehouse's one writer in turn.
   */
  async exclusive<T>(work: () => Promise<T>): Promise<T> {
    for (;;) {
      this.#throwIfFailed();
      if (!this.#applying) break;
      await this.#applying;
    }
    let release!: () => void;
    this.#applying = new Promise<void>((resolve) => (release = resolve));
    try {
      return await work();
    } finally {
      this.#applying = null;
      release();
      if (this.#full()) this.#startApply();
      else if (this.#pending.length > 0 && !this.#timer)
        this.#timer = setTimeout(() => this.#onTimer(), this.#limits.maxDelayMs);
    }
  }

  #full(): boolean {
    return this.#pending.length >= this.#limits.maxItems || this.#pendingBytes >= this.#limits.maxBytes;
  }

  #onTimer(): void {
    this.#timer = null;
    if (this.#applying || this.#pending.length === 0 || this.#failure) {
      // the running apply re-arms the timer for what is left when it ends
      return;
    }
    this.#startApply();
  }

  #startApply(): void {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    const batch = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    const started = this.#now();
    this.#applying = this.#warehouse.apply(batch).then(
      (checkpoint) => {
        this.#applying = null;
        if (checkpoint) this.#acknowledge(checkpoint);
        this.#events.onApplied?.(checkpoint, batch, this.#now() - started);
        if (this.#pending.length > 0 && !this.#timer) {
          this.#timer = setTimeout(() => this.#onTimer(), this.#limits.maxDelayMs);
        }
      },
      (error: unknown) => {
        this.#applying = null;
        if (this.#failure === null) {
          this.#failure = error;
          this.#events.onError(error);
        }
      },
    );
  }

  #throwIfFailed(): void {
    if (this.#failure !== null) throw this.#failure;
  }
}

/** A cheap size estimate: enough to bound memory, not to account it exactly. */
function estimateBytes(item: StreamItem): number {
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
