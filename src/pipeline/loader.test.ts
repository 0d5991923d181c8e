import { describe, expect, it } from 'vitest';
import type { StreamItem } from '../core/change-event.js';
import type { Position } from '../core/position.js';
import { PgTimestampTz } from '../core/values.js';
import type { QueryResult, Warehouse } from '../warehouse/warehouse.js';
import { Loader } from './loader.js';

function change(commitLsn: bigint, ordinal: number): StreamItem {
  return {
    kind: 'change',
    event: {
      op: 'insert',
      table: { schema: 'public', name: 't' },
      pk: { id: ordinal },
      row: { id: ordinal },
      before: null,
      unchanged: [],
      position: { commitLsn, ordinal },
      xid: 1,
      commitTime: new PgTimestampTz(0n),
      schemaVersion: 'v',
    },
  };
}

/** A stand-in for the seam: records batches; each apply waits until released. */
class GatedWarehouse implements Warehouse {
  readonly batches: StreamItem[][] = [];
  readonly #gates: (() => void)[] = [];
  failNext = false;
  async checkpoint(): Promise<Position | null> {
    return null;
  }
  async apply(items: readonly StreamItem[]): Promise<Position | null> {
    this.batches.push([...items]);
    await new Promise<void>((resolve) => this.#gates.push(resolve));
    if (this.failNext) throw new Error('disk full');
    const last = items.at(-1);
    return last?.kind === 'change' ? last.event.position : null;
  }
  release(): void {
    this.#gates.shift()?.();
  }
  get waiting(): number {
    return this.#gates.length;
  }
  async query(): Promise<QueryResult> {
    return { columns: [], rows: [] };
  }
  async close(): Promise<void> {}
}

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('Loader', () => {
  it('applies a full batch at once and acknowledges only after the apply is durable', async () => {
    const warehouse = new GatedWarehouse();
    const acks: Position[] = [];
    const loader = new Loader(
      warehouse,
      (p) => acks.push(p),
      { onError: () => {} },
      { maxItems: 3, maxDelayMs: 60_000 },
    );
    await loader.write([change(10n, 0), change(10n, 1), change(10n, 2)]);
    expect(warehouse.batches).toHaveLength(1);
    expect(acks).toEqual([]);
    warehouse.release();
    await tick();
    expect(acks).toEqual([{ commitLsn: 10n, ordinal: 2 }]);
  });

  it('applies a partial batch after the delay', async () => {
    const warehouse = new GatedWarehouse();
    const loader = new Loader(warehouse, () => {}, { onError: () => {} }, { maxItems: 100, maxDelayMs: 20 });
    await loader.write([change(10n, 0)]);
    expect(warehouse.batches).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 60));
    expect(warehouse.batches).toHaveLength(1);
    warehouse.release();
  });

  it('holds the writer back while a batch is applied and the next one is full', async () => {
    const warehouse = new GatedWarehouse();
    const loader = new Loader(
      warehouse,
      () => {},
      { onError: () => {} },
      { maxItems: 2, maxDelayMs: 60_000 },
    );
    await loader.write([change(1n, 0), change(1n, 1)]); // starts batch 1
    let second = false;
    const writing = loader.write([change(2n, 0), change(2n, 1)]).then(() => {
      second = true;
    });
    await tick();
    expect(second).toBe(false); // waiting: batch 1 still applying
    warehouse.release();
    await writing;
    expect(warehouse.batches.map((b) => b.length)).toEqual([2, 2]);
    warehouse.release();
    await loader.flush();
  });

  it('flush applies what is pending and waits for it', async () => {
    const warehouse = new GatedWarehouse();
    const acks: Position[] = [];
    const loader = new Loader(
      warehouse,
      (p) => acks.push(p),
      { onError: () => {} },
      { maxItems: 100, maxDelayMs: 60_000 },
    );
    await loader.write([change(5n, 0)]);
    const flushing = loader.flush();
    await tick();
    warehouse.release();
    await flushing;
    expect(acks).toEqual([{ commitLsn: 5n, ordinal: 0 }]);
  });

  it('reports a failed apply once, never acknowledges it, and refuses further writes', async () => {
    const warehouse = new GatedWarehouse();
    const errors: unknown[] = [];
    const acks: Position[] = [];
    const loader = new Loader(
      warehouse,
      (p) => acks.push(p),
      { onError: (e) => errors.push(e) },
      { maxItems: 1 },
    );
    warehouse.failNext = true;
    await loader.write([change(1n, 0)]);
    warehouse.release();
    await tick();
    expect(errors).toHaveLength(1);
    expect(acks).toEqual([]);
    await expect(loader.write([change(2n, 0)])).rejects.toThrow('disk full');
    await expect(loader.flush()).rejects.toThrow('disk full');
  });
});
