/**
 * The feed contract (src/feed/feed.ts) as a test suite that every feed runs: src/feed/memory-feed.test.ts for the
 * in-process feed, test/feed/jetstream-feed.test.ts for JetStream against a real nats-server.
 */
import { expect, it } from 'vitest';
import type { StreamItem, TableSchema } from '../../src/core/change-event.js';
import { comparePositions, type Position } from '../../src/core/position.js';
import { Decimal, PgJson, PgTimestampTz } from '../../src/core/values.js';
import type { FeedConsumer, FeedPublisher, OnDurable } from '../../src/feed/feed.js';

/** A feed under test: a publisher (one per test) and consumers that stand for loaders. */
export interface FeedUnderTest {
  publisher(onDurable: OnDurable): Promise<FeedPublisher>;
  /** A loader's consumer, starting after `checkpoint` (what its warehouse holds). */
  consumer(checkpoint: Position | null): Promise<FeedConsumer>;
  close(): Promise<void>;
}

const table = (name: string) => ({ schema: 'public', name });

function schemaItem(name: string): StreamItem {
  const schema: TableSchema = {
    table: table(name),
    relationOid: 16_384,
    version: `v-${name}`,
    columns: [
      { name: 'id', typeOid: 20, typeModifier: -1, isKey: true },
      { name: 'total', typeOid: 1700, typeModifier: -1, isKey: false },
      { name: 'doc', typeOid: 3802, typeModifier: -1, isKey: false },
    ],
    key: ['id'],
    replicaIdentity: 'default',
  };
  return { kind: 'schema', schema };
}

function row(values: Record<string, unknown>): Record<string, never> {
  return Object.assign(Object.create(null), values);
}

/** Transactions of `perTx` changes each, over `tables`, with a commit after each. */
export function transactions(
  count: number,
  perTx: number,
  tables: readonly string[],
  startLsn = 1_000n,
): StreamItem[] {
  const items: StreamItem[] = tables.map(schemaItem);
  for (let t = 0; t < count; t++) {
    const commitLsn = startLsn + BigInt(t) * 100n;
    for (let i = 0; i < perTx; i++) {
      const id = BigInt(t * perTx + i);
      items.push({
        kind: 'change',
        event: {
          op: i % 7 === 6 ? 'delete' : 'insert',
          table: table(tables[(t + i) % tables.length]!),
          pk: row({ id }),
          row:
            i % 7 === 6 ? null : row({ id, total: new Decimal(`${id}.25`), doc: new PgJson(`{"n":${id}}`) }),
          before: null,
          unchanged: [],
          position: { commitLsn, ordinal: i },
          xid: 500 + t,
          commitTime: new PgTimestampTz(1_700_000_000_000_000n + BigInt(t)),
          schemaVersion: `v-${tables[(t + i) % tables.length]}`,
        },
      });
    }
    items.push({
      kind: 'commit',
      commitLsn,
      endLsn: commitLsn + 8n,
      xid: 500 + t,
      commitTime: new PgTimestampTz(1_700_000_000_000_000n + BigInt(t)),
      changes: perTx,
    });
  }
  return items;
}

const positionOf = (item: StreamItem): Position | null =>
  item.kind === 'change'
    ? item.event.position
    : item.kind === 'commit'
      ? { commitLsn: item.commitLsn, ordinal: Number.MAX_SAFE_INTEGER }
      : item.kind === 'message'
        ? item.message.position
        : null;

/**
 * Consumes (acknowledging each batch, as a loader does after its commit) until the item at
 * `until` has arrived; returns what arrived, duplicates dropped by position as a warehouse does.
 */
async function drain(
  consumer: FeedConsumer,
  until: Position,
  seen: StreamItem[] = [],
): Promise<StreamItem[]> {
  let checkpoint: Position | null = null;
  for (const item of seen) checkpoint = positionOf(item) ?? checkpoint;
  const stop = AbortSignal.timeout(60_000);
  while (checkpoint === null || comparePositions(checkpoint, until) < 0) {
    const batch = await consumer.next(stop);
    if (batch === null) throw new Error('the consumer ended before everything arrived');
    for (const item of batch.items) {
      const p = positionOf(item);
      if (p !== null && checkpoint !== null && comparePositions(p, checkpoint) <= 0) continue;
      seen.push(item);
      if (p !== null) checkpoint = p;
    }
    await batch.ack();
  }
  return seen;
}

function lastPosition(items: readonly StreamItem[]): Position {
  for (let i = items.length - 1; i >= 0; i--) {
    const p = positionOf(items[i]!);
    if (p) return p;
  }
  throw new Error('no positioned item');
}

/** Registers the contract's tests for the feed `make` creates afresh for each test. */
export function feedContract(make: () => Promise<FeedUnderTest>): void {
  it('delivers every item once acknowledged, in order, equal to what was published', async () => {
    const feed = await make();
    try {
      const items = transactions(300, 9, ['orders', 'order_items', 'Odd "Name".x']);
      const durable: Position[] = [];
      const publisher = await feed.publisher((p) => durable.push(p));
      const consumer = await feed.consumer(null);
      const received = drain(consumer, lastPosition(items));
      for (let i = 0; i < items.length; i += 250) await publisher.write(items.slice(i, i + 250));
      await publisher.flush();
      const got = await received;
      expect(got.filter((i) => i.kind !== 'schema')).toEqual(items.filter((i) => i.kind !== 'schema'));
      // a table's schema comes before its first change
      for (const name of ['orders', 'order_items', 'Odd "Name".x']) {
        const s = got.findIndex((i) => i.kind === 'schema' && i.schema.table.name === name);
        const c = got.findIndex((i) => i.kind === 'change' && i.event.table.name === name);
        expect(s).toBeGreaterThanOrEqual(0);
        expect(s).toBeLessThan(c);
      }
      // durable positions only grow, and end at the last one written
      for (let i = 1; i < durable.length; i++)
        expect(comparePositions(durable[i - 1]!, durable[i]!)).toBeLessThan(0);
      expect(durable.at(-1)).toEqual(lastPosition(items));
      await consumer.close();
    } finally {
      await feed.close();
    }
  });

  it('delivers a batch that was not acknowledged again, to the next consumer, before anything later', async () => {
    const feed = await make();
    try {
      const a = transactions(30, 4, ['orders']);
      const b = transactions(30, 4, ['orders'], 100_000n).filter((i) => i.kind !== 'schema');
      const publisher = await feed.publisher(() => {});
      let consumer = await feed.consumer(null);
      // the first part acknowledged; of the second, one batch taken and never acknowledged
      await publisher.write(a);
      const seen = await drain(consumer, lastPosition(a));
      const checkpoint = lastPosition(a);
      await publisher.write(b);
      const stop = AbortSignal.timeout(60_000);
      const taken = await consumer.next(stop);
      expect(taken).not.toBeNull();
      const lost = taken!.items.filter((i) => positionOf(i) !== null);
      expect(lost.length).toBeGreaterThan(0);
      await consumer.close();
      consumer = await feed.consumer(checkpoint);
      const again = await consumer.next(stop);
      const redelivered = again!.items.filter((i) => {
        const p = positionOf(i);
        return p !== null && comparePositions(p, checkpoint) > 0;
      });
      // what the dead consumer held comes first
      expect(redelivered.slice(0, lost.length)).toEqual(lost);
      await again!.ack();
      const rest = await drain(consumer, lastPosition(b), [...seen, ...again!.items]);
      expect(rest.filter((i) => i.kind !== 'schema')).toEqual(
        [...a, ...b].filter((i) => i.kind !== 'schema'),
      );
      await publisher.flush();
      await consumer.close();
    } finally {
      await feed.close();
    }
  });

  it('does not deliver again what a consumer acknowledged, when the next one starts at its checkpoint', async () => {
    const feed = await make();
    try {
      const a = transactions(20, 5, ['orders']);
      const b = transactions(20, 5, ['orders'], 100_000n).filter((i) => i.kind !== 'schema');
      const publisher = await feed.publisher(() => {});
      let consumer = await feed.consumer(null);
      await publisher.write(a);
      const seen = await drain(consumer, lastPosition(a));
      const checkpoint = lastPosition(a);
      await consumer.close();
      consumer = await feed.consumer(checkpoint);
      await publisher.write(b);
      const next = await consumer.next(AbortSignal.timeout(60_000));
      const firstPositioned = next!.items.map(positionOf).find((p) => p !== null);
      expect(firstPositioned).toEqual(positionOf(b[0]!));
      await next!.ack();
      await drain(consumer, lastPosition(b), [...seen, ...next!.items]);
      await publisher.flush();
      await consumer.close();
    } finally {
      await feed.close();
    }
  });

  it('carries big values and many changes of one transaction', async () => {
    const feed = await make();
    try {
      const big = 'x'.repeat(300_000);
      const items = transactions(2, 3_000, ['orders']).map((item) =>
        item.kind === 'change' && item.event.row && item.event.position.ordinal === 5
          ? {
              ...item,
              event: { ...item.event, row: row({ ...item.event.row, doc: new PgJson(`"${big}"`) }) },
            }
          : item,
      );
      const publisher = await feed.publisher(() => {});
      const consumer = await feed.consumer(null);
      const received = drain(consumer, lastPosition(items));
      await publisher.write(items);
      await publisher.flush();
      const got = await received;
      expect(got.filter((i) => i.kind !== 'schema')).toEqual(items.filter((i) => i.kind !== 'schema'));
      await consumer.close();
    } finally {
      await feed.close();
    }
  });

  it('fails waiting and later calls of a failed publisher with its error', async () => {
    const feed = await make();
    try {
      const publisher = await feed.publisher(() => {});
      await publisher.write(transactions(1, 1, ['orders']));
      const flushing = publisher.flush();
      publisher.fail(new Error('the loader stopped'));
      // the flush may have finished before the failure, or not: either is right
      await flushing.catch(() => {});
      await expect(publisher.flush()).rejects.toThrow('the loader stopped');
      await expect(publisher.write(transactions(1, 1, ['orders'], 9_000n))).rejects.toThrow(
        'the loader stopped',
      );
    } finally {
      await feed.close();
    }
  });
}
