import { describe, expect, it } from 'vitest';
import type { Operation, StreamItem } from '../core/change-event.js';
import { PgTimestampTz } from '../core/values.js';
import { type ChangeSummary, Telemetry } from './telemetry.js';

function change(table: string, op: Operation, id: number, secret = 'hidden'): StreamItem {
  return {
    kind: 'change',
    event: {
      op,
      table: { schema: 'public', name: table },
      pk: op === 'truncate' ? null : { id },
      row: op === 'delete' || op === 'truncate' ? null : { id, secret },
      before: null,
      unchanged: [],
      position: { commitLsn: 0x100n + BigInt(id), ordinal: 0 },
      xid: 7,
      commitTime: new PgTimestampTz(1_700_000_000_000_000n),
      schemaVersion: 'v',
    },
  };
}

describe('Telemetry', () => {
  it('counts applied changes by table and operation, and hands each batch to listeners', () => {
    const telemetry = new Telemetry({ now: () => 1_700_000_001_000 });
    const batches: { items: number; applyMillis: number; orders: number }[] = [];
    telemetry.onBatch((b) =>
      batches.push({
        items: b.items,
        applyMillis: b.applyMillis,
        orders: b.changes.get('public.orders')?.get('insert') ?? 0,
      }),
    );
    telemetry.applied(
      [change('orders', 'insert', 1), change('orders', 'insert', 2), change('users', 'delete', 3)],
      12,
    );
    telemetry.applied([change('orders', 'update', 1), { kind: 'message', message: {} as never }], 5);
    expect(telemetry.changeCounts()).toEqual([
      { table: 'public.orders', op: 'insert', changes: 2 },
      { table: 'public.orders', op: 'update', changes: 1 },
      { table: 'public.users', op: 'delete', changes: 1 },
    ]);
    expect(batches).toEqual([
      { items: 3, applyMillis: 12, orders: 2 },
      { items: 2, applyMillis: 5, orders: 0 },
    ]);
    expect(telemetry.batches).toBe(2);
  });

  it('keeps the last changes as summaries with keys and column names but no other values', () => {
    const telemetry = new Telemetry({ recentSize: 3, now: () => 1_700_000_001_000 });
    const pushed: ChangeSummary[][] = [];
    const stop = telemetry.onChanges((c) => pushed.push([...c]));
    telemetry.applied(
      [1, 2, 3, 4].map((id) => change('orders', 'insert', id)),
      1,
    );
    stop();
    telemetry.applied([change('orders', 'delete', 2), change('orders', 'truncate', 0)], 1);
    const recent = telemetry.recent();
    expect(recent.map((c) => c.seq)).toEqual([4, 5, 6]);
    expect(recent[1]).toEqual({
      seq: 5,
      table: 'public.orders',
      op: 'delete',
      key: { id: 2 },
      columns: ['id'],
      position: expect.any(String),
      commitTime: '2023-11-14T22:13:20.000Z',
      appliedAt: '2023-11-14T22:13:21.000Z',
    });
    expect(recent[2]?.key).toBeNull();
    expect(JSON.stringify(telemetry.recent())).not.toContain('hidden');
    expect(telemetry.recent(10, 5).map((c) => c.seq)).toEqual([6]);
    expect(telemetry.recent(1).map((c) => c.seq)).toEqual([6]);
    expect(pushed.map((batch) => batch.length)).toEqual([4]); // unsubscribed before the second
  });

  it('samples lag as 0 when caught up, keeps a bounded history', () => {
    let now = 0;
    const telemetry = new Telemetry({ historySize: 2, now: () => now });
    const reading = { slotLagBytes: 10, slotRetainedBytes: 20, changesPerSecond: 3 };
    now = 1000;
    expect(telemetry.sample({ ...reading, newestCommitAgeSeconds: 40, caughtUp: false }).lagSeconds).toBe(40);
    now = 2000;
    expect(telemetry.sample({ ...reading, newestCommitAgeSeconds: 45, caughtUp: true }).lagSeconds).toBe(0);
    now = 3000;
    telemetry.sample({ ...reading, newestCommitAgeSeconds: null, caughtUp: false });
    expect(telemetry.history().map((s) => s.at)).toEqual([
      '1970-01-01T00:00:02.000Z',
      '1970-01-01T00:00:03.000Z',
    ]);
    expect(telemetry.history(2500).map((s) => s.lagSeconds)).toEqual([null]);
  });
});
