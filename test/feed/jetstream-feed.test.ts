import { describe, expect, it } from 'vitest';
import type { StreamItem } from '../../src/core/change-event.js';
import { itemPosition } from '../../src/core/change-event.js';
import { createLogger } from '../../src/core/logger.js';
import type { Position } from '../../src/core/position.js';
import type { FeedConsumer } from '../../src/feed/feed.js';
import { JetStreamFeed } from '../../src/feed/jetstream/jetstream-feed.js';
import { useNatsServer } from '../harness/use-nats-server.js';
import { feedContract, transactions } from './feed-contract.js';

let feeds = 0;

function lastPositionOf(items: readonly StreamItem[]): Position {
  const ps = items.map(itemPosition).filter((p): p is Position => p !== null);
  const last = ps.at(-1);
  if (!last) throw new Error('no positioned item');
  return last;
}

describe('the JetStream feed keeps the feed contract', () => {
  const server = useNatsServer();
  feedContract(async () => {
    const logger = createLogger({ level: 'silent' });
    // a feed of its own per test: its own stream and subjects on the one server
    const feed = await JetStreamFeed.connect({ url: server().url, name: `contract_${++feeds}`, logger });
    const consumers: FeedConsumer[] = [];
    return {
      publisher: (onDurable) => feed.publisher(onDurable, { maxItems: 100, window: 4 }),
      consumer: async (checkpoint) => {
        const consumer = await feed.consumer({
          after: checkpoint,
          limits: { maxItems: 500, maxDelayMs: 20 },
        });
        consumers.push(consumer);
        return consumer;
      },
      close: async () => {
        for (const c of consumers) await c.close();
        await feed.close();
      },
    };
  });
});

describe("the JetStream feed's retention", () => {
  const server = useNatsServer();
  const logger = createLogger({ level: 'silent' });

  /** Waits until the stream's max_age has removed every message. */
  async function expireAll(feed: JetStreamFeed): Promise<void> {
    const { jetstreamManager } = await import('@nats-io/jetstream');
    const { connect } = await import('@nats-io/transport-node');
    const nc = await connect({ servers: server().url });
    try {
      const jsm = await jetstreamManager(nc);
      for (let i = 0; i < 100; i++) {
        if ((await jsm.streams.info(feed.names.stream)).state.messages === 0) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('the messages did not expire');
    } finally {
      await nc.close();
    }
  }

  it('a loader whose unapplied changes expired is stopped with an error that says so', async () => {
    const feed = await JetStreamFeed.connect({
      url: server().url,
      name: 'expiring',
      logger,
      maxAgeMs: 1_000,
    });
    try {
      const items = transactions(20, 3, ['orders']);
      const publisher = await feed.publisher(() => {});
      await publisher.write(items.slice(0, 30));
      await publisher.flush();
      const consumer = await feed.consumer({ after: null, limits: { maxDelayMs: 20 } });
      const batch = await consumer.next(AbortSignal.timeout(30_000));
      await batch!.ack();
      const checkpoint = lastPositionOf(batch!.items);
      await consumer.close();
      await publisher.write(items.slice(30));
      await publisher.flush();
      await expireAll(feed);
      await expect(feed.consumer({ after: checkpoint })).rejects.toThrow(/no longer holds the changes/);
    } finally {
      await feed.close();
    }
  });

  it('a loader that had applied everything before it expired starts after it', async () => {
    const feed = await JetStreamFeed.connect({
      url: server().url,
      name: 'expired_applied',
      logger,
      maxAgeMs: 1_000,
    });
    try {
      const items = transactions(10, 3, ['orders']);
      const publisher = await feed.publisher(() => {});
      await publisher.write(items);
      await publisher.flush();
      const consumer = await feed.consumer({ after: null, limits: { maxDelayMs: 20 } });
      let checkpoint = null;
      while (checkpoint === null || checkpoint.commitLsn < lastPositionOf(items).commitLsn) {
        const batch = await consumer.next(AbortSignal.timeout(30_000));
        await batch!.ack();
        checkpoint = lastPositionOf(batch!.items);
      }
      await consumer.close();
      await expireAll(feed);
      const again = await feed.consumer({ after: checkpoint });
      await again.close();
    } finally {
      await feed.close();
    }
  });
});

describe('the JetStream feed and the server max_payload', () => {
  const server = useNatsServer({ maxPayload: 64 * 1024 });

  it('splits messages to fit, and refuses a single change too big for the server, saying what to raise', async () => {
    const feed = await JetStreamFeed.connect({
      url: server().url,
      name: 'small_payload',
      logger: createLogger({ level: 'silent' }),
    });
    try {
      const publisher = await feed.publisher(() => {});
      // a thousand changes: messages are cut below the 64 KiB limit, and all arrive
      const items = transactions(20, 50, ['orders']);
      const consumer = await feed.consumer({ after: null, limits: { maxDelayMs: 20 } });
      await publisher.write(items);
      await publisher.flush();
      let seen = 0;
      while (seen < 1_000) {
        const batch = await consumer.next(AbortSignal.timeout(30_000));
        seen += batch!.items.filter((i) => i.kind === 'change').length;
        await batch!.ack();
      }
      expect(seen).toBe(1_000);
      await consumer.close();
      // one change of 200 kB cannot be carried
      const [schema, first] = transactions(1, 1, ['orders'], 90_000n);
      const huge =
        first!.kind === 'change'
          ? {
              ...first!,
              event: {
                ...first!.event,
                row: Object.assign(Object.create(null), { id: 1n, note: 'x'.repeat(200_000) }),
              },
            }
          : first!;
      await expect(
        (async () => {
          await publisher.write([schema!, huge]);
          await publisher.flush();
        })(),
      ).rejects.toThrow(/max_payload/);
    } finally {
      await feed.close();
    }
  });
});

describe('two loaders with the same consumer name', () => {
  const server = useNatsServer();

  it('the one started later takes the consumer over, and the first stops before applying anything more', async () => {
    const logger = createLogger({ level: 'silent' });
    const feed = await JetStreamFeed.connect({ url: server().url, name: 'two_loaders', logger });
    try {
      const publisher = await feed.publisher(() => {});
      const items = transactions(20, 3, ['orders']);
      await publisher.write(items.slice(0, 20));
      await publisher.flush();
      const first = await feed.consumer({ after: null, limits: { maxDelayMs: 20 } });
      const batch = await first.next(AbortSignal.timeout(30_000));
      await batch!.ack();
      // a second loader with the same name (what a restart after a crash does)
      const second = await feed.consumer({ after: lastPositionOf(batch!.items), limits: { maxDelayMs: 20 } });
      await publisher.write(items.slice(20));
      await publisher.flush();
      await expect(first.next(AbortSignal.timeout(30_000))).rejects.toThrow(/taken over by another loader/);
      const next = await second.next(AbortSignal.timeout(30_000));
      expect(next!.items.length).toBeGreaterThan(0);
      await next!.ack();
      await first.close();
      await second.close();
    } finally {
      await feed.close();
    }
  });
});

describe('replaying the JetStream feed from a time', () => {
  const server = useNatsServer();

  it('starts an empty warehouse at the messages stored from then on, and refuses it with a checkpoint', async () => {
    const logger = createLogger({ level: 'silent' });
    const feed = await JetStreamFeed.connect({ url: server().url, name: 'replay_from', logger });
    try {
      const publisher = await feed.publisher(() => {});
      const before = transactions(5, 2, ['orders']);
      await publisher.write(before);
      await publisher.flush();
      await new Promise((r) => setTimeout(r, 50));
      const from = new Date();
      await new Promise((r) => setTimeout(r, 50));
      const after = transactions(5, 2, ['orders'], 50_000n).filter((i) => i.kind !== 'schema');
      await publisher.write(after);
      await publisher.flush();
      const consumer = await feed.consumer({ after: null, from, limits: { maxDelayMs: 50 } });
      const batch = await consumer.next(AbortSignal.timeout(30_000));
      const positions = batch!.items.map(itemPosition).filter((p): p is Position => p !== null);
      expect(positions[0]).toEqual(itemPosition(after[0]!));
      // the table's shape comes with it, though it was published before `from`
      expect(batch!.items[0]?.kind).toBe('schema');
      await consumer.close();
      await expect(feed.consumer({ after: positions[0]!, from })).rejects.toThrow(
        /replaying from a time is for an empty warehouse/,
      );
    } finally {
      await feed.close();
    }
  });
});
