import { describe, expect, it } from 'vitest';
import { position } from '../../../core/position.js';
import { FlushTracker } from './flush-tracker.js';

describe('FlushTracker', () => {
  it('acknowledges a transaction only once its last change is durable', () => {
    const t = new FlushTracker(10n);
    t.beginTransaction(100n);
    t.commitTransaction(108n, position(100n, 2));
    expect(t.flushLsn).toBe(10n);
    t.acknowledge(position(100n, 1));
    expect(t.flushLsn).toBe(10n);
    t.acknowledge(position(100n, 2));
    expect(t.flushLsn).toBe(108n);
    expect(t.inFlight).toBe(false);
  });

  it('never passes an open transaction, whatever keepalives say', () => {
    const t = new FlushTracker();
    t.beginTransaction(200n);
    t.keepalive(500n);
    t.acknowledge(position(200n, 5)); // the open transaction's changes so far are durable
    expect(t.flushLsn).toBe(0n);
    t.commitTransaction(208n, position(200n, 6));
    t.acknowledge(position(200n, 6));
    expect(t.flushLsn).toBe(208n);
  });

  it('moves with keepalives when nothing is in flight (idle database)', () => {
    const t = new FlushTracker(50n);
    t.keepalive(60n);
    expect(t.flushLsn).toBe(60n);
    t.keepalive(70n);
    expect(t.flushLsn).toBe(70n);
  });

  it('counts a keepalive only after everything emitted before it is durable', () => {
    const t = new FlushTracker();
    t.beginTransaction(100n);
    t.commitTransaction(110n, position(100n, 0));
    t.keepalive(300n);
    expect(t.flushLsn).toBe(0n);
    t.beginTransaction(400n);
    t.commitTransaction(410n, position(400n, 0));
    t.acknowledge(position(100n, 0));
    expect(t.flushLsn).toBe(300n);
    t.acknowledge(position(400n, 0));
    expect(t.flushLsn).toBe(410n);
  });

  it('passes empty transactions once what precedes them is durable', () => {
    const t = new FlushTracker();
    t.beginTransaction(100n);
    t.commitTransaction(110n, position(100n, 3));
    t.beginTransaction(120n);
    t.commitTransaction(130n, null);
    t.acknowledge(position(100n, 3));
    expect(t.flushLsn).toBe(130n);
  });

  it('treats a standalone message like a transaction of one item', () => {
    const t = new FlushTracker();
    t.standalone(position(90n, -1), 90n);
    t.keepalive(95n);
    expect(t.flushLsn).toBe(0n);
    t.acknowledge(position(90n, -1));
    expect(t.flushLsn).toBe(95n);
  });

  it('accepts the same open transaction again after a reconnect, and refuses an inconsistent one', () => {
    const t = new FlushTracker();
    t.beginTransaction(100n);
    t.beginTransaction(100n);
    expect(() => t.beginTransaction(200n)).toThrow(/still open/);
  });

  it('ignores acknowledgements that go backwards', () => {
    const t = new FlushTracker();
    t.beginTransaction(100n);
    t.commitTransaction(110n, position(100n, 0));
    t.acknowledge(position(100n, 0));
    t.acknowledge(position(50n, 0));
    expect(t.flushLsn).toBe(110n);
  });

  it('stays bounded over a long idle stream and a long run of transactions', () => {
    const t = new FlushTracker();
    for (let i = 1n; i < 100_000n; i++) {
      t.beginTransaction(i * 10n);
      t.commitTransaction(i * 10n + 5n, position(i * 10n, 0));
      t.keepalive(i * 10n + 6n);
      t.acknowledge(position(i * 10n, 0));
    }
    expect(t.flushLsn).toBe(999_996n);
    expect(t.inFlight).toBe(false);
  });
});
