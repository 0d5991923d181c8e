import { describe } from 'vitest';
import { createLogger } from '../../src/core/logger.js';
import type { FeedConsumer } from '../../src/feed/feed.js';
import { feedContract } from '../../src/feed/feed-contract.js';
import { JetStreamFeed } from '../../src/feed/jetstream/jetstream-feed.js';
import { useNatsServer } from '../harness/use-nats-server.js';

let feeds = 0;

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
