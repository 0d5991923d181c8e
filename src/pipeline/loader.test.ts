import { describe, expect, it } from 'vitest';
import type { StreamItem } from '../core/change-event.js';
import type { Position } from '../core/position.js';
import { PgTimestampTz } from '../core/values.js';
import { MemoryFeed } from '../feed/memory-feed.js';
import type { QueryResult, Warehouse } from '../warehouse/warehouse.js';
import { Loader, PointPassed } from './loader.js';

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

/** The in-process feed with a loader running over it, as the pipeline wires them. */
function wire(warehouse: GatedWarehouse, limits: { maxItems?: number; maxDelayMs?: number }) {
  const acks: Position[] = [];
  const feed = new MemoryFeed((p) => acks.push(p), limits);
  const loader = new Loader(warehouse);
  const stop = new AbortController();
  const consumer = feed.consumer();
  const running = loader.run(consumer, stop.signal).then(
    () => null,
    (error: unknown) => {
      feed.fail(error);
      return error;
    },
  );
  return { acks, publisher: feed.publisher, loader, running, stop };
}

describe('Loader over the in-process feed', () => {
  it('applies a full batch at once and acknowledges only after the apply is durable', async () => {
    const warehouse = new GatedWarehouse();
    const { acks, publisher, stop } = wire(warehouse, { maxItems: 3, maxDelayMs: 60_000 });
    await publisher.write([change(10n, 0), change(10n, 1), change(10n, 2)]);
    await tick();
    expect(warehouse.batches).toHaveLength(1);
    expect(acks).toEqual([]);
    warehouse.release();
    await tick();
    expect(acks).toEqual([{ commitLsn: 10n, ordinal: 2 }]);
    stop.abort();
  });

  it('applies a partial batch after the delay', async () => {
    const warehouse = new GatedWarehouse();
    const { publisher, stop } = wire(warehouse, { maxItems: 100, maxDelayMs: 20 });
    await publisher.write([change(10n, 0)]);
    await tick();
    expect(warehouse.batches).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 60));
    expect(warehouse.batches).toHaveLength(1);
    warehouse.release();
    stop.abort();
  });

  it('holds the writer back while a batch is applied and the next one is full', async () => {
    const warehouse = new GatedWarehouse();
    const { publisher, stop } = wire(warehouse, { maxItems: 2, maxDelayMs: 60_000 });
    await publisher.write([change(1n, 0), change(1n, 1)]); // batch 1, taken by the loader
    await tick();
    let second = false;
    const writing = publisher.write([change(2n, 0), change(2n, 1)]).then(() => {
      second = true;
    });
    await tick();
    expect(second).toBe(false); // waiting: batch 1 still applying
    warehouse.release();
    await writing;
    await tick();
    expect(warehouse.batches.map((b) => b.length)).toEqual([2, 2]);
    warehouse.release();
    await publisher.flush();
    stop.abort();
  });

  it('flush applies what is pending and waits for it', async () => {
    const warehouse = new GatedWarehouse();
    const { acks, publisher, stop } = wire(warehouse, { maxItems: 100, maxDelayMs: 60_000 });
    await publisher.write([change(5n, 0)]);
    const flushing = publisher.flush();
    await tick();
    warehouse.release();
    await flushing;
    expect(acks).toEqual([{ commitLsn: 5n, ordinal: 0 }]);
    stop.abort();
  });

  it('runs exclusive work between batches, not during one', async () => {
    const warehouse = new GatedWarehouse();
    const { publisher, loader, stop } = wire(warehouse, { maxItems: 1, maxDelayMs: 60_000 });
    await publisher.write([change(1n, 0)]);
    await tick();
    expect(warehouse.waiting).toBe(1); // batch 1 applying
    let ran = false;
    const work = loader.exclusive(async () => {
      ran = true;
      expect(warehouse.waiting).toBe(0);
    });
    await tick();
    expect(ran).toBe(false);
    warehouse.release();
    await work;
    expect(ran).toBe(true);
    stop.abort();
  });

  it('ends with a failed apply, never acknowledges it, and the feed refuses further writes', async () => {
    const warehouse = new GatedWarehouse();
    const { acks, publisher, running, loader } = wire(warehouse, { maxItems: 1 });
    warehouse.failNext = true;
    await publisher.write([change(1n, 0)]);
    await tick();
    warehouse.release();
    expect(String(await running)).toContain('disk full');
    expect(acks).toEqual([]);
    await expect(publisher.write([change(2n, 0)])).rejects.toThrow('disk full');
    await expect(publisher.flush()).rejects.toThrow('disk full');
    await expect(loader.exclusive(async () => 1)).rejects.toThrow('disk full');
  });
});

/** Applies at once; remembers every position applied and the checkpoint. */
class RecordingWarehouse implements Warehouse {
  readonly applied: string[] = [];
  readonly transactions: number[] = [];
  #checkpoint: Position | null;
  constructor(checkpoint: Position | null = null) {
    this.#checkpoint = checkpoint;
  }
  async checkpoint(): Promise<Position | null> {
    return this.#checkpoint;
  }
  async apply(items: readonly StreamItem[]): Promise<Position | null> {
    this.transactions.push(items.length);
    for (const item of items) {
      if (item.kind === 'change') {
        this.applied.push(`${item.event.position.commitLsn}:${item.event.position.ordinal}`);
        this.#checkpoint = item.event.position;
      } else this.applied.push(item.kind);
    }
    return this.#checkpoint;
  }
  async query(): Promise<QueryResult> {
    return { columns: [], rows: [] };
  }
  async close(): Promise<void> {}
}

function schemaItem(): StreamItem {
  return {
    kind: 'schema',
    schema: {
      table: { schema: 'public', name: 't' },
      columns: [],
      key: [],
      replicaIdentity: 'd',
      version: 'v2',
    },
  } as unknown as StreamItem;
}

function pinned(warehouse: RecordingWarehouse, limits: { maxItems?: number; maxDelayMs?: number }) {
  const acks: Position[] = [];
  const feed = new MemoryFeed((p) => acks.push(p), limits);
  const loader = new Loader(warehouse);
  const stop = new AbortController();
  const running = loader.run(feed.consumer(), stop.signal).catch((error: unknown) => error);
  return { acks, publisher: feed.publisher, loader, running, stop };
}

describe('Loader.pinAt: work at one exact place in the stream', () => {
  it('splits the batch that straddles the point: everything before it applied, nothing after', async () => {
    const warehouse = new RecordingWarehouse({ commitLsn: 5n, ordinal: 0 });
    const { acks, publisher, loader, stop } = pinned(warehouse, { maxItems: 6, maxDelayMs: 60_000 });
    const seen = loader.pinAt(10n, Promise.resolve(20n), async () => [...warehouse.applied]);
    await publisher.write([
      change(8n, 0),
      change(12n, 0),
      schemaItem(),
      change(20n, 0),
      change(20n, 1),
      change(21n, 0),
    ]);
    expect(await seen).toEqual(['8:0', '12:0']);
    await tick();
    expect(warehouse.applied).toEqual(['8:0', '12:0', 'schema', '20:0', '20:1', '21:0']);
    // one acknowledgement, for the whole batch, after its last part
    expect(acks).toEqual([{ commitLsn: 21n, ordinal: 0 }]);
    stop.abort();
  });

  it('holds what is at or above the bound until the point is known', async () => {
    const warehouse = new RecordingWarehouse();
    const { publisher, loader, stop } = pinned(warehouse, { maxItems: 3, maxDelayMs: 60_000 });
    let learn: (lsn: bigint) => void = () => {};
    const point = new Promise<bigint>((resolve) => {
      learn = resolve;
    });
    const seen = loader.pinAt(10n, point, async () => [...warehouse.applied]);
    await publisher.write([change(9n, 0), change(11n, 0), change(13n, 0)]);
    await tick();
    expect(warehouse.applied).toEqual(['9:0']); // 11 and 13 wait: the point may lie between them
    learn(13n);
    expect(await seen).toEqual(['9:0', '11:0']);
    await tick();
    expect(warehouse.applied).toEqual(['9:0', '11:0', '13:0']);
    stop.abort();
  });

  it('waits for a later batch when the point is beyond the one in hand', async () => {
    const warehouse = new RecordingWarehouse();
    const { publisher, loader, stop } = pinned(warehouse, { maxItems: 2, maxDelayMs: 60_000 });
    const seen = loader.pinAt(10n, Promise.resolve(30n), async () => [...warehouse.applied]);
    await publisher.write([change(11n, 0), change(12n, 0)]);
    await tick();
    await publisher.write([change(29n, 0), change(30n, 0)]);
    expect(await seen).toEqual(['11:0', '12:0', '29:0']);
    stop.abort();
  });

  it('refuses a point the warehouse has already passed, and one that failed, going on either way', async () => {
    const warehouse = new RecordingWarehouse({ commitLsn: 15n, ordinal: 0 });
    const { publisher, loader, stop } = pinned(warehouse, { maxItems: 1, maxDelayMs: 60_000 });
    const passed = loader.pinAt(10n, Promise.resolve(20n), async () => 'never');
    await publisher.write([change(16n, 0)]);
    await expect(passed).rejects.toBeInstanceOf(PointPassed);
    const failed = loader.pinAt(17n, Promise.reject(new Error('no slot')), async () => 'never');
    await expect(failed).rejects.toThrow('no slot');
    await publisher.write([change(18n, 0)]);
    await tick();
    expect(warehouse.applied).toEqual(['16:0', '18:0']);
    stop.abort();
  });

  it("stops before the first transaction the snapshot does not see, even below the point's LSN", async () => {
    const warehouse = new RecordingWarehouse();
    const { publisher, loader, stop } = pinned(warehouse, { maxItems: 4, maxDelayMs: 60_000 });
    // change(lsn, ordinal) carries xid 1: the snapshot does not see it
    const seen = loader.pinAt(
      10n,
      Promise.resolve({ lsn: 20n, invisible: (xid: number) => xid === 1 }),
      async () => [...warehouse.applied],
    );
    await publisher.write([change(9n, 0), change(12n, 0), change(15n, 0), change(21n, 0)]);
    expect(await seen).toEqual(['9:0']);
    stop.abort();
  });

  it('refuses a snapshot that sees a transaction after one it does not see (not a prefix of the stream)', async () => {
    const warehouse = new RecordingWarehouse();
    const { publisher, loader, stop } = pinned(warehouse, { maxItems: 3, maxDelayMs: 60_000 });
    let calls = 0;
    // the first transaction at or past the bound is invisible, the next one visible
    const seen = loader.pinAt(
      10n,
      Promise.resolve({ lsn: 20n, invisible: () => calls++ === 0 }),
      async () => 'x',
    );
    await publisher.write([change(11n, 0), change(12n, 0), change(25n, 0)]);
    await expect(seen).rejects.toBeInstanceOf(PointPassed);
    await tick();
    expect(warehouse.applied).toEqual(['11:0', '12:0', '25:0']);
    stop.abort();
  });

  it('refuses a point whose next transaction the snapshot may or may not see, and takes one whose next is clear of it', async () => {
    const warehouse = new RecordingWarehouse();
    const { publisher, loader, stop } = pinned(warehouse, { maxItems: 4, maxDelayMs: 60_000 });
    // a standby's snapshot at 20 may hold the record right after it: a commit at 20..60 is in doubt
    const doubtful = loader.pinAt(10n, Promise.resolve({ lsn: 20n, unsureThrough: 60n }), async () => 'x');
    await publisher.write([change(11n, 0), change(12n, 0), change(60n, 0), change(70n, 0)]);
    await expect(doubtful).rejects.toBeInstanceOf(PointPassed);
    await tick();
    expect(warehouse.applied).toEqual(['11:0', '12:0', '60:0', '70:0']);
    const clear = loader.pinAt(80n, Promise.resolve({ lsn: 90n, unsureThrough: 130n }), async () => [
      ...warehouse.applied,
    ]);
    await publisher.write([change(85n, 0), change(131n, 0), change(140n, 0), change(150n, 0)]);
    expect(await clear).toEqual(['11:0', '12:0', '60:0', '70:0', '85:0']);
    stop.abort();
  });

  it('rejects a waiting pin when the loader stops', async () => {
    const warehouse = new RecordingWarehouse();
    const { loader, stop, running } = pinned(warehouse, { maxItems: 1, maxDelayMs: 60_000 });
    const waiting = loader.pinAt(10n, Promise.resolve(20n), async () => 'never');
    stop.abort();
    await running;
    await expect(waiting).rejects.toThrow(/stopped before/);
  });
});
