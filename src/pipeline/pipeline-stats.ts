/**
 * What the pipeline has done, for status lines and `tributary status`: changes applied,
 * rate over a sliding window, and end-to-end lag (source commit time to warehouse commit).
 * Time is passed in, so it is testable.
 */
import type { StreamItem } from '../core/change-event.js';
import type { Position } from '../core/position.js';

interface Sample {
  readonly at: number;
  readonly changes: number;
}

export class PipelineStats {
  readonly #now: () => number;
  readonly #window: Sample[] = [];
  #changes = 0;
  #batches = 0;
  #lastLagMs: number | null = null;
  #checkpoint: Position | null = null;
  #lastApplyMs = 0;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  applied(checkpoint: Position | null, items: readonly StreamItem[], millis: number): void {
    const now = this.#now();
    let changes = 0;
    let newestCommitMs: number | null = null;
    for (const item of items) {
      if (item.kind !== 'change') continue;
      changes++;
      newestCommitMs = Number(item.event.commitTime.micros / 1000n);
    }
    this.#changes += changes;
    this.#batches++;
    this.#lastApplyMs = millis;
    if (checkpoint) this.#checkpoint = checkpoint;
    if (newestCommitMs !== null) this.#lastLagMs = Math.max(0, now - newestCommitMs);
    this.#window.push({ at: now, changes });
    while (this.#window.length > 0 && now - this.#window[0]!.at > 10_000) this.#window.shift();
  }

  snapshot(): {
    changes: number;
    batches: number;
    changesPerSecond: number;
    lagMs: number | null;
    checkpoint: Position | null;
    lastApplyMs: number;
  } {
    const now = this.#now();
    const recent = this.#window.filter((s) => now - s.at <= 10_000);
    const span = recent.length > 0 ? Math.max(1000, now - recent[0]!.at) : 1000;
    const changes = recent.reduce((sum, s) => sum + s.changes, 0);
    return {
      changes: this.#changes,
      batches: this.#batches,
      changesPerSecond: Math.round((changes * 1000) / span),
      lagMs: this.#lastLagMs,
      checkpoint: this.#checkpoint,
      lastApplyMs: this.#lastApplyMs,
    };
  }
}
