/** An in-process StreamTarget for tests: keeps every item and acknowledges at once. */
import { itemPosition, type StreamItem } from '../../src/core/change-event.js';
import type { Position } from '../../src/core/position.js';
import type { PostgresSource, StreamTarget } from '../../src/source/postgres/postgres-source.js';

export class MemoryTarget implements StreamTarget {
  readonly items: StreamItem[] = [];
  source: PostgresSource | null = null;
  #last: Position | null = null;

  async write(items: readonly StreamItem[]): Promise<void> {
    this.items.push(...items);
    for (const item of items) this.#last = itemPosition(item) ?? this.#last;
    if (this.#last) this.source?.acknowledge(this.#last);
  }

  async flush(): Promise<void> {}

  changes() {
    return this.items.flatMap((i) => (i.kind === 'change' ? [i.event] : []));
  }
}
