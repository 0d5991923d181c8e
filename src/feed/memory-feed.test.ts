import { describe } from 'vitest';
import { feedContract } from '../../test/feed/feed-contract.js';
import type { Position } from '../core/position.js';
import type { FeedConsumer } from './feed.js';
import { MemoryFeed } from './memory-feed.js';

describe('the in-process feed keeps the feed contract', () => {
  feedContract(async () => {
    let feed: MemoryFeed | null = null;
    let consumer: FeedConsumer | null = null;
    return {
      publisher: async (onDurable) => {
        feed = new MemoryFeed(onDurable, { maxItems: 500, maxDelayMs: 5 });
        return feed.publisher;
      },
      // the in-process feed gives a closed consumer's unacknowledged batches to the next one;
      // what was acknowledged is gone, whatever the checkpoint
      consumer: async (_checkpoint: Position | null) => {
        if (!feed) throw new Error('publisher first');
        await consumer?.close();
        consumer = feed.consumer();
        return consumer;
      },
      close: async () => {
        await consumer?.close();
      },
    };
  });
});
