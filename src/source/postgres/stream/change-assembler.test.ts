import { describe, expect, it } from 'vitest';
import { COMMIT_ORDINAL, type StreamItem } from '../../../core/change-event.js';
import { FlushTracker } from '../replication/flush-tracker.js';
import { ChangeAssembler, type RelationResolver } from './change-assembler.js';

const noRelations: RelationResolver = {
  resolve: () => {
    throw new Error('no relation in this test');
  },
};

describe('ChangeAssembler and the flush tracker', () => {
  it('acknowledges a transaction only once its commit item is durable, not its last change', () => {
    const tracker = new FlushTracker(0x10n);
    const items: StreamItem[] = [];
    const assembler = new ChangeAssembler(noRelations, tracker, (item) => items.push(item), {
      heartbeatPrefix: 'hb',
    });
    assembler.begin(0x100n, 7, 0n);
    void assembler.handle({
      tag: 'message',
      xid: 7,
      transactional: true,
      lsn: 0x90n,
      prefix: 'p',
      content: new Uint8Array(),
    });
    assembler.commit(0x100n, 0x108n);
    const [message, commit] = items;
    expect(message?.kind).toBe('message');
    expect(commit?.kind).toBe('commit');
    // a downstream whose write ended with the transaction's last change (the batch was cut
    // before the commit line): the slot must not pass the transaction yet
    tracker.acknowledge(
      message?.kind === 'message' ? message.message.position : { commitLsn: 0n, ordinal: 0 },
    );
    expect(tracker.flushLsn).toBe(0x10n);
    tracker.acknowledge({ commitLsn: 0x100n, ordinal: COMMIT_ORDINAL });
    expect(tracker.flushLsn).toBe(0x108n);
    // an empty transaction counts as soon as everything before it has
    assembler.begin(0x200n, 8, 0n);
    assembler.commit(0x200n, 0x208n);
    expect(tracker.flushLsn).toBe(0x208n);
  });
});
