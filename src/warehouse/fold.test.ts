import { describe, expect, it } from 'vitest';
import type { ChangeEvent, Row } from '../core/change-event.js';
import { PgTimestampTz, type Value } from '../core/values.js';
import { foldTable, keyString, type NetChange } from './fold.js';

const table = { schema: 'public', name: 't' };
let ordinal = 0;
function ev(
  op: ChangeEvent['op'],
  row: Record<string, Value> | null,
  extra: Partial<ChangeEvent> = {},
): ChangeEvent {
  const r: Row | null = row ? Object.assign(Object.create(null), row) : null;
  return {
    op,
    table,
    pk: r ? { id: r.id ?? null } : null,
    row: op === 'delete' ? null : r,
    before: null,
    unchanged: [],
    position: { commitLsn: 1n, ordinal: ordinal++ },
    xid: 1,
    commitTime: new PgTimestampTz(0n),
    schemaVersion: 'v',
    ...extra,
  };
}
const K = ['id'];
const net = (changes: ReadonlyMap<string, NetChange>, id: number) => changes.get(keyString({ id }, K));

describe('foldTable', () => {
  it('insert → update → delete in one batch nets a delete', () => {
    const f = foldTable(
      [ev('insert', { id: 1, v: 'a' }), ev('update', { id: 1, v: 'b' }), ev('delete', { id: 1 })],
      K,
    );
    expect(f.changes.size).toBe(1);
    expect(net(f.changes, 1)?.kind).toBe('delete');
  });

  it('delete → insert nets the inserted row', () => {
    const f = foldTable([ev('delete', { id: 1 }), ev('insert', { id: 1, v: 'new' })], K);
    const n = net(f.changes, 1);
    expect(n?.kind === 'upsert' && n.row.v).toBe('new');
  });

  it('two updates keep the last', () => {
    const f = foldTable([ev('update', { id: 1, v: 'a' }), ev('update', { id: 1, v: 'b' })], K);
    const n = net(f.changes, 1);
    expect(n?.kind === 'upsert' && n.row.v).toBe('b');
  });

  it('a key change chain A → B → C deletes A and B and upserts C', () => {
    const f = foldTable(
      [
        ev('update', { id: 2, v: 'x' }, { before: Object.assign(Object.create(null), { id: 1 }) }),
        ev('update', { id: 3, v: 'y' }, { before: Object.assign(Object.create(null), { id: 2 }) }),
      ],
      K,
    );
    expect(net(f.changes, 1)?.kind).toBe('delete');
    expect(net(f.changes, 2)?.kind).toBe('delete');
    const c = net(f.changes, 3);
    expect(c?.kind === 'upsert' && c.row.v).toBe('y');
  });

  it('a key moved away and back ends as an upsert of the original key', () => {
    const f = foldTable(
      [
        ev('update', { id: 2, v: 'x' }, { before: Object.assign(Object.create(null), { id: 1 }) }),
        ev('update', { id: 1, v: 'y' }, { before: Object.assign(Object.create(null), { id: 2 }) }),
      ],
      K,
    );
    expect(net(f.changes, 1)?.kind).toBe('upsert');
    expect(net(f.changes, 2)?.kind).toBe('delete');
  });

  it('a truncate mid-batch drops what came before it', () => {
    const f = foldTable([ev('insert', { id: 1 }), ev('truncate', null), ev('insert', { id: 2 })], K);
    expect(f.truncated).toBe(true);
    expect([...f.changes.keys()]).toEqual([keyString({ id: 2 }, K)]);
  });

  it('an unchanged TOAST column is filled from an earlier full row of the batch', () => {
    const f = foldTable(
      [ev('insert', { id: 1, big: 'B', v: 1 }), ev('update', { id: 1, v: 2 }, { unchanged: ['big'] })],
      K,
    );
    const n = net(f.changes, 1);
    expect(n?.kind === 'upsert' && [n.row.big, n.row.v, n.unchanged]).toEqual(['B', 2, []]);
  });

  it('an unchanged TOAST column with no earlier row stays unchanged (the stored value)', () => {
    const f = foldTable([ev('update', { id: 1, v: 2 }, { unchanged: ['big'] })], K);
    const n = net(f.changes, 1);
    expect(n?.kind === 'upsert' && n.unchanged).toEqual(['big']);
  });

  it('an unchanged TOAST column over a row deleted in the batch is an error', () => {
    expect(() =>
      foldTable([ev('delete', { id: 1 }), ev('update', { id: 1, v: 2 }, { unchanged: ['big'] })], K),
    ).toThrow(/big/);
  });

  it('a moved row with unchanged columns names the old key to copy from', () => {
    const f = foldTable(
      [
        ev(
          'update',
          { id: 2 },
          { unchanged: ['big'], before: Object.assign(Object.create(null), { id: 1 }) },
        ),
      ],
      K,
    );
    const n = net(f.changes, 2);
    expect(n?.kind === 'upsert' && n.copyFrom?.id).toBe(1);
  });

  it('tells keys of different types apart', () => {
    expect(keyString({ id: 1 }, K)).not.toBe(keyString({ id: '1' }, K));
    expect(keyString({ id: 1n }, K)).not.toBe(keyString({ id: 1 }, K));
  });
  it('keeps array keys apart whose elements would join to the same text', () => {
    expect(keyString({ k: ['a', 'b'] }, ['k'])).not.toBe(keyString({ k: ['a,string:b'] }, ['k']));
    expect(keyString({ k: ['a', 'b'] }, ['k'])).toBe(keyString({ k: ['a', 'b'] }, ['k']));
  });
});
