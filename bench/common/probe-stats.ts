/**
 * PipelineStats that also tells a benchmark about every applied batch, at the moment the loader
 * reports it durable (the warehouse transaction committed): bench/e2e and bench/feed time their
 * drains with it.
 */
import type { StreamItem } from '../../src/core/change-event.js';
import type { Position } from '../../src/core/position.js';
import { PipelineStats } from '../../src/pipeline/pipeline-stats.js';
import { now } from './report.js';

export class ProbeStats extends PipelineStats {
  appliedChanges = 0;
  /** Sum of the warehouse's apply times (the loader's `millis`). */
  applyMillis = 0;
  lastCheckpoint: Position | null = null;
  onBatch: ((items: readonly StreamItem[], at: number) => void) | null = null;
  #waiters: { count: number; resolve: () => void }[] = [];

  override applied(checkpoint: Position | null, items: readonly StreamItem[], millis: number): void {
    const at = now();
    super.applied(checkpoint, items, millis);
    this.applyMillis += millis;
    for (const item of items) if (item.kind === 'change') this.appliedChanges++;
    if (checkpoint) this.lastCheckpoint = checkpoint;
    this.onBatch?.(items, at);
    this.#waiters = this.#waiters.filter((w) => {
      if (this.appliedChanges < w.count) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves once `count` changes are in the warehouse. */
  reach(count: number): Promise<void> {
    if (this.appliedChanges >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ count, resolve }));
  }
}
