import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import type { StreamItem } from '../../src/core/change-event.js';
import { itemPosition } from '../../src/core/change-event.js';
import { createLogger } from '../../src/core/logger.js';
import type { Position } from '../../src/core/position.js';
import { comparePositions } from '../../src/core/position.js';
import type { FeedConsumer } from '../../src/feed/feed.js';
import { JetStreamFeed } from '../../src/feed/jetstream/jetstream-feed.js';
import { laneOf } from '../../src/feed/jetstream/subjects.js';
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

describe('a JetStream feed split in lanes', () => {
  const server = useNatsServer();
  const logger = createLogger({ level: 'silent' });

  /** Everything a lane's consumer gets until `until`, acknowledged. */
  async function drainLane(feed: JetStreamFeed, lane: number, until: Position): Promise<StreamItem[]> {
    const consumer = await feed.consumer({
      durable: `lane${lane}`,
      lane,
      after: null,
      limits: { maxDelayMs: 20 },
    });
    const got: StreamItem[] = [];
    try {
      const stop = AbortSignal.timeout(30_000);
      for (;;) {
        const batch = await consumer.next(stop);
        if (!batch) throw new Error(`lane ${lane} ended early`);
        got.push(...batch.items);
        await batch.ack();
        const last = batch.items
          .map(itemPosition)
          .filter((p): p is Position => p !== null)
          .at(-1);
        if (last && last.commitLsn >= until.commitLsn) return got;
      }
    } finally {
      await consumer.close();
    }
  }

  it("sends each table's items to its lane and a logical message to every lane; a source resumes before a run sent to some lanes only", async () => {
    const feed = await JetStreamFeed.connect({ url: server().url, name: 'laned', logger, lanes: 3 });
    try {
      expect(feed.lanes).toBe(3);
      // tables that land in different lanes
      const names = ['orders', 'items', 'users', 'events', 'pages', 'clicks'];
      const byLane = new Map<number, string>();
      for (const name of names) byLane.set(laneOf({ schema: 'public', name }, 3), name);
      expect(byLane.size).toBeGreaterThan(1);
      const tables = [...byLane.values()];
      const items = transactions(20, 3, tables);
      const watermark: StreamItem[] = [
        {
          kind: 'message',
          message: {
            transactional: true,
            lsn: 90_000n,
            prefix: 'tributary',
            content: new Uint8Array([1]),
            position: { commitLsn: 90_000n, ordinal: 0 },
          },
        },
        {
          kind: 'commit',
          commitLsn: 90_000n,
          endLsn: 90_001n,
          xid: 7,
          commitTime: items.find((i) => i.kind === 'commit')!.commitTime,
          changes: 0,
        } as StreamItem,
      ];
      const durable: Position[] = [];
      const publisher = await feed.publisher((p) => durable.push(p), { maxItems: 50 });
      await publisher.write([...items, ...watermark]);
      await publisher.flush();
      // durable once every lane's copy is stored, and positions only grow
      expect(durable.at(-1)).toEqual({ commitLsn: 90_000n, ordinal: Number.MAX_SAFE_INTEGER });
      for (let i = 1; i < durable.length; i++)
        expect(comparePositions(durable[i - 1]!, durable[i]!)).toBeLessThan(0);
      for (const [lane, name] of byLane) {
        const got = await drainLane(feed, lane, { commitLsn: 90_000n, ordinal: 0 });
        const changes = got.filter((i) => i.kind === 'change');
        // this lane's tables only, all of their changes, in order
        expect(new Set(changes.map((i) => (i.kind === 'change' ? i.event.table.name : '')))).toEqual(
          new Set([name]),
        );
        const published = items.filter((i) => i.kind === 'change' && laneOf(i.event.table, 3) === lane);
        expect(changes).toEqual(published);
        // every lane sees the watermark
        expect(got.some((i) => i.kind === 'message')).toBe(true);
      }
      // the stream ends with the watermark's three copies; with the last one gone (a source that
      // died between them), a source resumes before the watermark, not after it
      expect(await feed.lastPosition()).toEqual({ commitLsn: 90_000n, ordinal: Number.MAX_SAFE_INTEGER });
      const nc = await connect({ servers: server().url });
      try {
        const jsm = await jetstreamManager(nc);
        const info = await jsm.streams.info(feed.names.stream);
        await jsm.streams.deleteMessage(feed.names.stream, info.state.last_seq, false);
        const resume = await feed.lastPosition();
        expect(resume).not.toBeNull();
        expect(comparePositions(resume!, { commitLsn: 90_000n, ordinal: 0 })).toBeLessThan(0);
      } finally {
        await nc.close();
      }
    } finally {
      await feed.close();
    }
  });

  it('keeps the lanes its stream was made with: another number is refused, saying which', async () => {
    const feed = await JetStreamFeed.connect({ url: server().url, name: 'fixed', logger, lanes: 2 });
    await feed.close();
    await expect(
      JetStreamFeed.connect({ url: server().url, name: 'fixed', logger, lanes: 4 }),
    ).rejects.toThrow(/has 2 lane\(s\), not 4.*--lanes 2/);
    const again = await JetStreamFeed.connect({ url: server().url, name: 'fixed', logger });
    expect(again.lanes).toBe(2);
    await again.close();
  });
});
